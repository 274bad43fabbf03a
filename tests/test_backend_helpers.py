"""The engine author's small helpers: prefix bounds, redaction, the schema policy."""

from __future__ import annotations

import pytest

from kode_core import SchemaVersionError
from kode_core.backend import (
    SchemaComponent,
    prefix_upper_bound,
    redact,
    schema_action,
    url_secrets,
)

STRINGS = ["", "a", "ab", "abc", "ab\U0010ffff", "ac", "b", "a\ud7ff", "a\ue000", "\U0010ffff"]


@pytest.mark.parametrize("prefix", ["a", "ab", "a\ud7ff", "ab\U0010ffff", "\U0010ffff", ""])
def test_the_upper_bound_of_a_prefix_splits_strings_exactly(prefix: str) -> None:
    bound = prefix_upper_bound(prefix)
    for text in STRINGS:
        inside = text >= prefix and (bound is None or text < bound)
        assert inside == text.startswith(prefix), (prefix, text, bound)


def test_the_upper_bound_skips_surrogates_and_may_not_exist() -> None:
    assert prefix_upper_bound("a\ud7ff") == "a\ue000"
    assert prefix_upper_bound("\U0010ffff\U0010ffff") is None
    assert prefix_upper_bound("") is None


def test_redact_hides_url_passwords_and_named_secrets() -> None:
    assert redact("postgresql://kode:hunter2@db/k") == "postgresql://kode:***@db/k"
    assert redact("auth failed for s3cret", ["s3cret", None]) == "auth failed for ***"
    assert url_secrets("redis://:p%40ss@cache:6379/0") == ("p%40ss", "p@ss")
    assert url_secrets("redis://cache:6379/0") == ()


@pytest.mark.parametrize(
    ("found", "auto_migrate", "action"),
    [(2, True, "current"), (2, False, "current"), (0, True, "migrate"), (1, True, "migrate")],
)
def test_the_schema_policy_migrates_older_storage_when_allowed(
    found: int, auto_migrate: bool, action: str
) -> None:
    component = SchemaComponent("sessions", 2)
    assert schema_action("k", found, component, auto_migrate=auto_migrate, where="x") == action


@pytest.mark.parametrize(("found", "auto_migrate"), [(3, True), (1, False), (0, False)])
def test_the_schema_policy_refuses_newer_storage_or_older_without_migrations(
    found: int, auto_migrate: bool
) -> None:
    with pytest.raises(SchemaVersionError) as caught:
        schema_action("k", found, SchemaComponent("s", 2), auto_migrate=auto_migrate, where="x")
    assert (caught.value.found, caught.value.supported) == (found, 2)

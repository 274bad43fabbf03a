"""The ``kode`` command, in this process (plugins are not autoloaded in tests)."""

import json

import pytest

from kode_core._cli import main


def test_backends_lists_each_kind_with_distribution_version_and_services(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["backends", "--json"]) == 0
    [memory] = json.loads(capsys.readouterr().out)
    assert memory["kind"] == "memory"
    assert memory["distribution"] == "kode-core"
    assert memory["services"] == ["sessions"]
    assert main(["backends"]) == 0
    assert capsys.readouterr().out.startswith("memory   kode-core ")


def test_check_and_migrate_use_the_store_the_environment_names(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KODE_STORE_TYPE", "memory")
    assert main(["check", "--namespace", "tenant_a"]) == 0
    assert "memory is reachable and namespace 'tenant_a' is migrated" in capsys.readouterr().out
    assert main(["migrate"]) == 0
    assert "namespace 'default'" in capsys.readouterr().out


def test_a_kode_error_exits_1_with_its_message(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KODE_STORE_TYPE", "cassandra")
    assert main(["check"]) == 1
    assert "KODE_STORE_TYPE='cassandra'" in capsys.readouterr().err
    monkeypatch.setenv("KODE_STORE_TYPE", "memory")
    assert main(["check", "--namespace", "Bad Name"]) == 1
    assert "namespace" in capsys.readouterr().err


def test_a_usage_error_exits_2() -> None:
    with pytest.raises(SystemExit) as caught:
        main(["frobnicate"])
    assert caught.value.code == 2

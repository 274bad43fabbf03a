"""What every conformance suite shares: declared capabilities and the backend fixture."""

from __future__ import annotations

from typing import ClassVar

import pytest

from ._factory import StoreFactory


class ConformanceSuite:
    """Base of the conformance suites. Capabilities are declared, never guessed from the kind."""

    #: Writers in other OS processes see the same data (False for in-process engines).
    shared_across_processes: ClassVar[bool] = True
    #: The backend records a schema version in its engine (False for in-process engines).
    versioned_storage: ClassVar[bool] = True
    #: Test name -> reason, for known deviations of a backend (strict xfail).
    expected_failures: ClassVar[dict[str, str]] = {}

    @pytest.fixture
    def store_factory(self) -> StoreFactory:
        """Override: the backend under test."""
        raise NotImplementedError("subclasses provide the store_factory fixture")

    @pytest.fixture(autouse=True)
    def _expected_failures(self, request: pytest.FixtureRequest) -> None:
        reason = self.expected_failures.get(request.function.__name__)
        if reason:
            request.applymarker(pytest.mark.xfail(reason=reason, strict=True))

    def needs_processes(self) -> None:
        """Skip the calling test unless the backend's data is shared across processes."""
        if not self.shared_across_processes:
            pytest.skip("this backend's data lives in one process (shared_across_processes)")

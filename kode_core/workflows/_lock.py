"""The per-run lock an orchestrator holds for one pass over a run.

It is the agent lock's machinery (wait with back-off, renew the lease while held,
release on exit, lapse when a crashed holder stops renewing) named for a run.
"""

from __future__ import annotations

from .._errors import LockTimeoutError
from ..agents._lock import AgentLock


class RunLock(AgentLock):
    """An async context manager holding one workflow run's lock across processes.

    ``token`` is the fencing token of the grant (larger than every earlier one's
    for the run); ``lost`` turns true if a renewal found the lease taken.
    """

    @property
    def run_id(self) -> str:
        """The run this lock is for."""
        return self.agent_id

    async def __aenter__(self) -> RunLock:
        try:
            await super().__aenter__()
        except LockTimeoutError:
            raise LockTimeoutError(
                f"workflow run {self.run_id!r} is locked by another holder;"
                f" gave up after {self._timeout}s",
                run_id=self.run_id,
            ) from None
        return self

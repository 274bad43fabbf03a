"""Every benchmark family in one run and one table: what ``nox -s bench`` runs.

uv run python benchmarks --kinds memory,sqlite --list-sessions 1000
"""

from __future__ import annotations

from _harness import main
from agent_store import AGENT_STORE
from deployment_store import DEPLOYMENT_STORE
from session_store import SESSION_STORE
from thread_store import THREAD_STORE
from workflow_store import WORKFLOW_STORE

if __name__ == "__main__":
    main([SESSION_STORE, AGENT_STORE, DEPLOYMENT_STORE, WORKFLOW_STORE, THREAD_STORE], "benchmarks")

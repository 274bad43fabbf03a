"""The deployment store in SQLite: one namespace's ``<namespace>__deployment*`` tables."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from typing import Any, TypeVar

from kode_core.backend import BackendOptions
from kode_core.deployments import Deployment, DeploymentOptions, DeploymentStore

from .._backend import SqliteBackend
from .schema import DEPLOYMENTS, deployments_table, functions_table

_T = TypeVar("_T")
_COLUMNS = "d.deployment_id, d.endpoint, d.functions, d.heartbeat_ms"


def _deployment(row: tuple[Any, ...]) -> Deployment:
    return Deployment(row[0], row[1], tuple(json.loads(row[2])), row[3])


class SqliteDeploymentStore(DeploymentStore):
    """Instances in one namespace's tables of a SQLite file; each write one transaction."""

    def __init__(
        self, backend: SqliteBackend, options: BackendOptions, settings: DeploymentOptions
    ) -> None:
        super().__init__(options, settings)
        self._backend = backend
        self._use_schema(backend, DEPLOYMENTS)
        self._deployments = deployments_table(options.namespace)
        self._functions = functions_table(options.namespace)

    def __repr__(self) -> str:
        return f"<SqliteDeploymentStore path={self._backend.path!r} namespace={self.namespace!r}>"

    async def _write(self, work: Callable[[sqlite3.Connection], _T]) -> _T:
        return await self._backend.write(self.namespace, DEPLOYMENTS, work)

    async def _read(self, work: Callable[[sqlite3.Connection], _T]) -> _T:
        return await self._backend.read(self.namespace, DEPLOYMENTS, work)

    def _delete(self, conn: sqlite3.Connection, ids: list[tuple[str]]) -> int:
        conn.executemany(f"DELETE FROM {self._functions} WHERE deployment_id = ?", ids)
        return conn.executemany(
            f"DELETE FROM {self._deployments} WHERE deployment_id = ?", ids
        ).rowcount

    async def _start(self, deployment: Deployment, ttl_ms: int) -> None:
        d = deployment

        def work(conn: sqlite3.Connection) -> None:
            self._delete(conn, [(d.deployment_id,)])
            conn.execute(
                f"INSERT INTO {self._deployments} VALUES (?, ?, ?, ?)",
                (d.deployment_id, d.endpoint, json.dumps(list(d.functions)), d.heartbeat_ms),
            )
            conn.executemany(
                f"INSERT INTO {self._functions} (function, deployment_id) VALUES (?, ?)",
                [(function, d.deployment_id) for function in d.functions],
            )

        await self._write(work)

    async def _heartbeat(self, deployment_id: str, now: int, since: int, ttl_ms: int) -> bool:
        sql = f"""UPDATE {self._deployments} SET heartbeat_ms = ?
            WHERE deployment_id = ? AND heartbeat_ms >= ?"""
        return await self._write(
            lambda conn: conn.execute(sql, (now, deployment_id, since)).rowcount > 0
        )

    async def _stop(self, deployment_id: str) -> None:
        await self._write(lambda conn: self._delete(conn, [(deployment_id,)]))

    async def _find(self, function: str, since: int) -> Deployment | None:
        sql = f"""SELECT {_COLUMNS} FROM {self._functions} f
            JOIN {self._deployments} d ON d.deployment_id = f.deployment_id
            WHERE f.function = ? AND d.heartbeat_ms >= ?
            ORDER BY d.heartbeat_ms DESC, d.deployment_id DESC LIMIT 1"""

        def work(conn: sqlite3.Connection) -> Deployment | None:
            row = conn.execute(sql, (function, since)).fetchone()
            return None if row is None else _deployment(row)

        return await self._read(work)

    async def _list(self, since: int | None) -> list[Deployment]:
        sql = f"SELECT {_COLUMNS} FROM {self._deployments} d"
        params: tuple[int, ...] = ()
        if since is not None:
            sql, params = f"{sql} WHERE d.heartbeat_ms >= ?", (since,)
        sql += " ORDER BY d.deployment_id"
        return await self._read(
            lambda conn: [_deployment(row) for row in conn.execute(sql, params).fetchall()]
        )

    async def _prune(self, since: int) -> int:
        sql = f"SELECT deployment_id FROM {self._deployments} WHERE heartbeat_ms < ?"

        def work(conn: sqlite3.Connection) -> int:
            return self._delete(conn, conn.execute(sql, (since,)).fetchall())

        return await self._write(work)

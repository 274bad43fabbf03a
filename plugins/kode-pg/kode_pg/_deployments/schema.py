"""Storage layout of the ``pg`` deployment store, in the schema ``kode_<namespace>``.

``deployments``
    One row per instance: endpoint, function list (a JSON array, as read back) and
    last heartbeat, indexed by heartbeat for listing and pruning.
``deployment_functions``
    One row per function an instance serves: the primary key ``(function,
    deployment_id)`` finds a function's instances; the foreign key deletes an
    instance's rows with it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from kode_core.backend import SchemaComponent

from .._schema import PgSchema

if TYPE_CHECKING:
    from typing_extensions import LiteralString

_V1: tuple[LiteralString, ...] = (
    """CREATE TABLE IF NOT EXISTS {schema}.deployments (
        deployment_id text COLLATE "C" PRIMARY KEY,
        endpoint text NOT NULL,
        functions text NOT NULL,
        heartbeat_ms bigint NOT NULL
    )""",
    """CREATE INDEX IF NOT EXISTS deployments_by_heartbeat
        ON {schema}.deployments (heartbeat_ms)""",
    """CREATE TABLE IF NOT EXISTS {schema}.deployment_functions (
        function text COLLATE "C" NOT NULL,
        deployment_id text COLLATE "C" NOT NULL
            REFERENCES {schema}.deployments (deployment_id) ON DELETE CASCADE,
        PRIMARY KEY (function, deployment_id)
    )""",
    """CREATE INDEX IF NOT EXISTS deployment_functions_by_id
        ON {schema}.deployment_functions (deployment_id)""",
)

#: The deployment tables.
DEPLOYMENTS: PgSchema = SchemaComponent("deployments", 1, {1: _V1})

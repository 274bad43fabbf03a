"""A real Redis Cluster of several masters on loopback, as production deployments run one.

Kept beside :mod:`kode_core.testing.servers`, whose process handling it shares. The
nodes are Debian's ``redis-server`` with ``cluster-enabled yes``, joined by
``redis-cli --cluster create``; no database driver is needed.
"""

from __future__ import annotations

import contextlib
import shutil
import subprocess
import time
from collections.abc import Iterator

import attrs

from .servers import (
    _HOST,
    ServerMissingError,
    TestServer,
    _free_port,
    _redis_engine,
    _serving,
    _temp_data_dir,
)

_JOIN_TIMEOUT = 60.0
#: The query option of a kode-redis URL that selects Redis Cluster.
_CLUSTER_QUERY = "cluster=true"


@attrs.frozen
class TestCluster:
    """A running Redis Cluster: its master nodes and a kode-redis URL naming them.

    ``url`` is ``redis://127.0.0.1:PORT/0?cluster=true`` with the first node as seed;
    ``nodes`` are the masters, each a :class:`TestServer` (stopping one is a node
    failure: this cluster has no replicas to fail over to).
    """

    __test__ = False  # not a pytest test class, despite its name

    nodes: tuple[TestServer, ...]

    @property
    def url(self) -> str:
        """A kode-redis cluster URL with the first node as seed."""
        return f"redis://{_HOST}:{self.nodes[0].port}/0?{_CLUSTER_QUERY}"

    def url_via(self, index: int) -> str:
        """A kode-redis cluster URL whose seed is ``nodes[index]``."""
        return f"redis://{_HOST}:{self.nodes[index].port}/0?{_CLUSTER_QUERY}"


@contextlib.contextmanager
def redis_cluster_server(masters: int = 3) -> Iterator[TestCluster]:
    """Start a throwaway Redis Cluster of ``masters`` masters (no replicas).

    Each node is a ``redis-server`` on a free port of 127.0.0.1 with its own data
    directory; the hash slots are spread evenly by ``redis-cli --cluster create``, and
    this returns once every node reports ``cluster_state:ok``. Everything is stopped
    and deleted on exit. Raises :exc:`ServerMissingError` if ``redis-server`` or
    ``redis-cli`` is not installed.
    """
    if masters < 3:
        raise ValueError(f"a Redis Cluster needs at least 3 masters, got {masters}")
    server, cli = shutil.which("redis-server"), shutil.which("redis-cli")
    if server is None or cli is None:
        missing = "redis-server" if server is None else "redis-cli"
        raise ServerMissingError(f"{missing} not found on PATH: apt-get install redis-server")
    with contextlib.ExitStack() as stack:
        nodes = tuple(stack.enter_context(_node(server)) for _ in range(masters))
        _join(cli, nodes)
        yield TestCluster(nodes)


@contextlib.contextmanager
def _node(binary: str) -> Iterator[TestServer]:
    with _temp_data_dir("redis-cluster") as data_dir:
        (data_dir / "redis").mkdir()
        argv = [binary, "--bind", _HOST, "--dir", str(data_dir / "redis"), "--save", ""]
        argv += ["--appendonly", "no", "--daemonize", "no", "--cluster-enabled", "yes"]
        argv += ["--cluster-config-file", str(data_dir / "nodes.conf")]
        argv += ["--cluster-node-timeout", "5000"]
        # The bus port defaults to the client port + 10000, which a free port above
        # 55535 cannot have: pick one, kept for restarts.
        argv += ["--cluster-port", str(_free_port())]
        with _serving(_redis_engine(argv), data_dir) as node:
            yield node


def _join(cli: str, nodes: tuple[TestServer, ...]) -> None:
    """Spread the slots over ``nodes`` and wait until every node sees the cluster whole."""
    addresses = [f"{node.host}:{node.port}" for node in nodes]
    create = [cli, "--cluster", "create", *addresses, "--cluster-replicas", "0"]
    done = subprocess.run(
        [*create, "--cluster-yes"], capture_output=True, text=True, timeout=_JOIN_TIMEOUT
    )
    if done.returncode != 0:
        raise RuntimeError(f"redis-cli --cluster create failed:\n{done.stdout}{done.stderr}")
    deadline = time.monotonic() + _JOIN_TIMEOUT
    waiting = list(nodes)
    while waiting:
        node = waiting[0]
        info = subprocess.run(
            [cli, "-h", node.host, "-p", str(node.port), "cluster", "info"],
            capture_output=True,
            text=True,
            timeout=_JOIN_TIMEOUT,
        ).stdout
        if "cluster_state:ok" in info and f"cluster_known_nodes:{len(nodes)}" in info:
            waiting.pop(0)
        elif time.monotonic() > deadline:
            raise RuntimeError(f"Redis Cluster not ok after {_JOIN_TIMEOUT:.0f} s:\n{info}")
        else:
            time.sleep(0.05)

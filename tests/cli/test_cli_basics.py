"""The ``kode`` command in this process, on the memory backend (plugins are not autoloaded)."""

import json

import pytest

from kode_core._cli import _parser, main

COMMANDS = [
    ["backends"],
    ["doctor"],
    ["migrate"],
    ["sessions"],
    ["sessions", "list"],
    ["sessions", "show"],
    ["sessions", "count"],
    ["threads"],
    ["threads", "list"],
    ["threads", "show"],
    ["runs"],
    ["runs", "list"],
    ["runs", "show"],
    ["export"],
    ["import"],
    ["copy"],
    ["demo"],
    ["deployments"],
    ["deployments", "list"],
    ["deployments", "prune"],
    ["secrets"],
    ["secrets", "rotate"],
    ["workflows"],
    ["workflows", "list"],
    ["workflows", "show"],
    ["workflows", "stalled"],
]


def test_backends_lists_each_kind_with_distribution_version_and_services(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["backends", "--json"]) == 0
    rows = {row["kind"]: row for row in json.loads(capsys.readouterr().out)}
    assert sorted(rows) == ["memory", "mongo", "pg", "redis", "sqlite"]
    assert rows["memory"]["distribution"] == "kode-core"
    assert rows["pg"]["distribution"] == "kode-pg"
    for row in rows.values():
        assert row["services"] == [
            "agents",
            "channels",
            "deployments",
            "runs",
            "secrets",
            "sessions",
            "threads",
            "workflows",
        ], row
    assert main(["backends"]) == 0
    assert capsys.readouterr().out.startswith("memory   kode-core ")


def test_doctor_reports_a_healthy_store_with_latency_schema_and_driver(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["doctor", "memory://#tenant_a"]) == 0
    out = capsys.readouterr().out
    assert "memory, namespace 'tenant_a'" in out
    assert "reachable  yes" in out
    assert "ms per round trip" in out
    assert "schema     sessions: version 1, this code applies 1: current" in out
    assert "driver     none (in-process, kode-core" in out
    assert out.rstrip().endswith("healthy")


def test_doctor_and_migrate_use_the_store_the_environment_names(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KODE_STORE_TYPE", "memory")
    assert main(["doctor", "--namespace", "tenant_b"]) == 0
    assert "namespace 'tenant_b'" in capsys.readouterr().out
    assert main(["migrate"]) == 0
    assert (
        "memory, namespace 'default': sessions already at schema version 1"
        in capsys.readouterr().out
    )


@pytest.mark.parametrize(
    ("argv", "problem"),
    [
        (["doctor", "kode.db"], "store URL 'kode.db': neither a store URL"),
        (["migrate", "sqlite://host/x.db"], "a sqlite URL has no host"),
        (["sessions", "list", "p", "--store", "{bad"], "the JSON descriptor: not valid JSON"),
        (["export", "postgresql://u:hunter2@db:5x/k"], "the port is not a number"),
        (["copy", "--from", "memory://", "--to", "ftp://x"], "unknown scheme 'ftp'"),
        (["doctor", '{"kind": "cassandra"}'], "unknown kind 'cassandra'"),
        (["doctor", "memory://", "--namespace", "Bad Name"], "option 'namespace'"),
    ],
)
def test_a_bad_store_exits_1_with_one_line_naming_the_problem(
    argv: list[str], problem: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(argv) == 1
    captured = capsys.readouterr()
    [line] = captured.err.splitlines()
    assert line.startswith(f"kode {argv[0]}")
    assert problem in line
    assert "hunter2" not in captured.err


def test_an_unknown_store_type_in_the_environment_names_the_variable(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KODE_STORE_TYPE", "cassandra")
    assert main(["doctor"]) == 1
    assert "KODE_STORE_TYPE='cassandra'" in capsys.readouterr().err


def test_the_demo_refuses_a_store_a_second_process_cannot_reach(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["demo", "memory://"]) == 1
    assert "a memory store lives in one process" in capsys.readouterr().err


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_every_command_has_help_with_an_example(
    command: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as caught:
        main([*command, "--help"])
    assert caught.value.code == 0
    assert "example" in capsys.readouterr().out


def test_every_command_is_covered_by_the_help_test() -> None:
    parser = _parser()
    [commands] = [a for a in parser._actions if a.dest == "command"]
    names = set(commands.choices)  # type: ignore[arg-type]
    assert names == {command[0] for command in COMMANDS}


def test_the_export_help_documents_the_line_format(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["export", "--help"])
    assert '{"key": {"project_key": P, "session_id": S[, "subpath": SUB]}, "entry"' in (
        capsys.readouterr().out
    )


def test_a_usage_error_exits_2() -> None:
    with pytest.raises(SystemExit) as caught:
        main(["frobnicate"])
    assert caught.value.code == 2

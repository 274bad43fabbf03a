"""``kode secrets rotate``: keys from the environment, v1 -> v3, a summary and its exit status."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import anyio.to_thread
import pytest

from kode_core import secret_stores
from kode_core._cli import main
from kode_core.testing import run_readme_example

from .conftest import registry

K1, K2, K3 = (bytes([v]) * 32 for v in (1, 2, 3))


def _env(key: bytes) -> str:
    return "base64:" + base64.b64encode(key).decode()


@pytest.fixture
def store_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'kode.db'}#vault"


async def _fill(path: str) -> None:
    defaults = {"path": path, "namespace": "vault"}
    async with secret_stores({"sqlite": {**defaults, "key": K1}}, registry=registry()) as v1:
        await v1.build({"kind": "sqlite"}).set_secret("a", "from v1")
    options = {**defaults, "key": K2, "key_version": 2, "previous_keys": {1: K1}}
    async with secret_stores({"sqlite": options}, registry=registry()) as v2:
        await v2.build({"kind": "sqlite"}).set_secret("b", {"from": "v2"})


@pytest.mark.anyio
async def test_rotate_moves_every_secret_from_v1_and_v2_to_v3(
    store_url: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    path = str(tmp_path / "kode.db")
    await _fill(path)
    monkeypatch.setenv("KODE_SECRETS_KEY", _env(K3))
    monkeypatch.setenv("KODE_SECRETS_KEY_VERSION", "3")
    monkeypatch.setenv("KODE_SECRETS_KEY_V1", _env(K1))
    monkeypatch.setenv("KODE_SECRETS_KEY_V2", _env(K2))
    assert await _run(["secrets", "rotate", store_url]) == 0
    assert "re-wrapped 2 of 2 secret(s) of older versions under key version 3" in (
        capsys.readouterr().out
    )
    only_v3 = {"path": path, "namespace": "vault", "key": K3, "key_version": 3, "audit": True}
    async with secret_stores({"sqlite": only_v3}, registry=registry()) as v3:
        store = v3.build({"kind": "sqlite"})
        assert (await store.get_secret("a")).reveal() == "from v1"
        assert (await store.get_secret("b")).reveal() == {"from": "v2"}
        actors = {e.actor for e in await store.audit_log()}
        assert actors == {"kode secrets rotate"}
    assert await _run(["secrets", "rotate", "--store", store_url, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["rotated"] == 0


@pytest.mark.anyio
async def test_rows_without_a_key_are_listed_and_the_exit_status_is_1(
    store_url: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    await _fill(str(tmp_path / "kode.db"))
    monkeypatch.setenv("KODE_SECRETS_KEY", "a passphrase for version three")
    monkeypatch.setenv("KODE_SECRETS_KEY_VERSION", "3")
    monkeypatch.setenv("KODE_SECRETS_KEY_V2", _env(K2))
    assert await _run(["secrets", "rotate", store_url]) == 1
    out = capsys.readouterr().out
    assert "re-wrapped 1 of 2" in out
    assert "left as is (no key configured): 'a' at key version 1" in out


@pytest.mark.anyio
async def test_without_a_key_in_the_environment_rotate_says_which_variable(
    store_url: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("KODE_SECRETS_KEY", raising=False)
    assert await _run(["secrets", "rotate", store_url]) == 1
    assert "set KODE_SECRETS_KEY" in capsys.readouterr().err


def test_a_key_on_the_command_line_is_refused(
    store_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as caught:
        main(["secrets", "rotate", store_url, "--key", "hunter2"])
    assert caught.value.code == 2


@pytest.mark.anyio
async def test_a_wrong_key_never_prints_a_value(
    store_url: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    await _fill(str(tmp_path / "kode.db"))
    monkeypatch.setenv("KODE_SECRETS_KEY", _env(K3))
    monkeypatch.setenv("KODE_SECRETS_KEY_VERSION", "3")
    monkeypatch.setenv("KODE_SECRETS_KEY_V1", _env(K2))  # the wrong key for version 1
    monkeypatch.setenv("KODE_SECRETS_KEY_V2", _env(K2))
    assert await _run(["secrets", "rotate", store_url]) == 1
    captured = capsys.readouterr()
    assert "left as is (does not decrypt): 'a' at key version 1" in captured.out
    assert "from v1" not in captured.out + captured.err


async def _run(argv: list[str]) -> int:
    """``main(argv)`` off the event loop: the command runs its own."""
    return await anyio.to_thread.run_sync(main, argv)


def test_the_readme_key_handling_example_runs(tmp_path: Path) -> None:
    readme = Path(__file__).parents[2] / "README.md"
    out = run_readme_example(readme, cwd=tmp_path, heading="## Secrets").splitlines()
    assert out[0] == "<SecretValue ***> sk-example"
    assert out[-2:] == ["re-wrapped 1", "sk-example"]
    assert b"sk-example" not in (tmp_path / "secrets.db").read_bytes()

"""Run a README's example as a user would: the code block under a heading, in a new interpreter."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

_BLOCK = re.compile(r"^```python\n(.*?)^```", re.MULTILINE | re.DOTALL)


def readme_example(readme: Path, heading: str = "## Example") -> str:
    """The first ```` ```python ```` block after the line ``heading`` of ``readme``."""
    text = readme.read_text(encoding="utf-8")
    start = text.find(f"\n{heading}\n")
    if start < 0:
        raise LookupError(f"{readme}: no heading {heading!r}")
    found = _BLOCK.search(text, start)
    if found is None:
        raise LookupError(f"{readme}: no python block after {heading!r}")
    return found.group(1)


def user_environment(**extra: str) -> dict[str, str]:
    """This process's environment as a user's shell would have it, plus ``extra``.

    The test-only ``KODE_*`` settings (autoload off, narrowed plugins...) are dropped,
    so a child process discovers plugins through their entry points.
    """
    clean = {k: v for k, v in os.environ.items() if not k.startswith("KODE_")}
    return {**clean, **extra}


def run_readme_example(
    readme: Path,
    *,
    cwd: Path,
    env: Mapping[str, str] | None = None,
    heading: str = "## Example",
    timeout: float = 120,
) -> str:
    """Run the example of ``readme`` in ``cwd`` with ``env`` added; return what it printed.

    The interpreter is this one, with this environment minus the test-only
    ``KODE_*`` settings (so plugins are discovered through their entry points, as
    for a user). Raises :exc:`AssertionError` with the output if the example fails.
    """
    code = readme_example(readme, heading)
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=cwd,
        env=user_environment(**(env or {})),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert done.returncode == 0, f"{readme} example failed:\n{done.stdout}{done.stderr}"
    return done.stdout

"""Every README's Python blocks are whole programs: they compile and name nothing undefined.

Each block also runs as printed in a test: the project README's in kode-sqlite's
tests/test_readme.py (the embedded default), each plugin README's in that plugin's
against its real server, and "Writing a service family" in tests/test_new_family.py.
A ```` ```python template ```` block (a shape naming the reader's own classes) is
checked for syntax only.
"""

from __future__ import annotations

import builtins
import symtable
from pathlib import Path

import pytest

from kode_core.testing import ReadmeBlock, python_blocks

ROOT = Path(__file__).parents[1]
READMES = [ROOT / "README.md", *sorted(ROOT.glob("plugins/*/README.md"))]
BLOCKS = [block for readme in READMES for block in python_blocks(readme)]


def _undefined_names(code: str) -> set[str]:
    """Global names ``code`` reads that it never binds and that are not builtins."""
    top = symtable.symtable(code, "<readme>", "exec")
    bound = {s.get_name() for s in top.get_symbols() if s.is_assigned() or s.is_imported()}
    bound |= {s.get_name() for s in top.get_symbols() if s.is_namespace()}  # def, class
    used: set[str] = set()
    tables = [top]
    while tables:
        table = tables.pop()
        tables.extend(table.get_children())
        used |= {
            s.get_name()
            for s in table.get_symbols()
            if s.is_referenced() and (s.is_global() or table is top)
        }
    return used - bound - set(dir(builtins))


@pytest.mark.parametrize(
    "block", BLOCKS, ids=lambda block: f"{block.readme.parent.name}/{block.name}"
)
def test_a_readme_block_is_a_whole_program(block: ReadmeBlock) -> None:
    # compile() without top-level await: `async with` outside a function is refused.
    compile(block.code, block.name, "exec")
    if not block.template:
        assert not _undefined_names(block.code), f"{block.name} uses undefined names"


def test_every_readme_has_blocks_to_check() -> None:
    assert {block.readme for block in BLOCKS} == set(READMES)


def test_each_block_of_the_project_readme_is_run_by_a_test() -> None:
    # A test names the block by its heading, and a block after a heading's first by
    # its (heading, index) or by picking it from python_blocks().
    tests = {
        path: path.read_text(encoding="utf-8")
        for path in [*ROOT.glob("tests/**/*.py"), *ROOT.glob("plugins/*/tests/*.py")]
    }
    for block in python_blocks(READMES[0]):
        if block.template:
            continue
        naming = [text for text in tests.values() if f'"{block.heading}"' in text]
        assert naming, f"{block.name} is run by no test"
        if block.index:
            assert any(
                f'("{block.heading}", {block.index})' in text or "python_blocks(" in text
                for text in naming
            ), f"{block.name}: no test picks this block, only the heading's first"


@pytest.mark.parametrize("readme", READMES[1:], ids=lambda readme: readme.parent.name)
def test_each_block_of_a_plugin_readme_is_run_by_its_tests(readme: Path) -> None:
    tests = (readme.parent / "tests" / "test_readme.py").read_text(encoding="utf-8")
    for block in python_blocks(readme):
        if block.template:
            continue
        assert block.index == 0, f"{block.name}: run_readme_example runs a heading's first block"
        assert block.heading == "## Example" or f'heading="{block.heading}"' in tests, (
            f"{block.name} is run by no test in {readme.parent.name}/tests/test_readme.py"
        )


def test_the_check_catches_what_a_reader_would_trip_on() -> None:
    with pytest.raises(SyntaxError):
        compile("async with f() as store:\n    pass\n", "<readme>", "exec")
    assert _undefined_names("import kode_core\nprint(store, kode_core)\n") == {"store"}
    assert _undefined_names("def f():\n    return x\n") == {"x"}
    assert not _undefined_names("import os\ndef f(y):\n    return os.sep + y\nf('a')\n")

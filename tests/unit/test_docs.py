"""The documents stay true and findable: the README is a front door (at most 12 KB), and every
relative link in it and in docs/ names a file that exists."""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
LINK = re.compile(r"\]\(([^)#\s]+)(?:#[^)]*)?\)")


def test_the_readme_is_at_most_12_kb():
    assert (ROOT / "README.md").stat().st_size <= 12 * 1024


@pytest.mark.parametrize("doc", DOCS, ids=[str(d.relative_to(ROOT)) for d in DOCS])
def test_every_relative_link_names_a_file_that_exists(doc):
    broken = [target for target in LINK.findall(doc.read_text())
              if "://" not in target and not (doc.parent / target).exists()]
    assert not broken, f"{doc.relative_to(ROOT)} links to missing files: {broken}"


# ---- the workshop guide: every command in it is run by a test ----

WORKSHOP = ROOT / "docs" / "workshop.md"
NUMBER = re.compile(r"^-?\d+(\.\d+)?$")


def _words(command: str) -> list[str]:
    """A command's shape: its words, any number written `#` (a test may run it quicker)."""
    return ["#" if NUMBER.match(w) else w for w in command.split()]


def _commands_in_tests() -> list[list[str]]:
    """Every `tipline ...` string the tests hold; an f-string's replacement fields are `*`."""
    import ast

    found = []
    for path in (ROOT / "tests").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.JoinedStr):
                text = "".join(v.value if isinstance(v, ast.Constant) else " * "
                               for v in node.values)
            elif isinstance(node, ast.Constant) and isinstance(node.value, str):
                text = node.value
            else:
                continue
            if text.startswith("tipline "):
                found.append(_words(text))
    return found


def _run_by(doc: list[str], test: list[str]) -> bool:
    return len(test) >= len(doc) and all(t in (d, "*") for d, t in zip(doc, test, strict=False))


def test_every_tipline_command_of_the_workshop_guide_is_run_by_a_test():
    """Shell blocks of docs/workshop.md: each `tipline` command (its words; numbers may differ,
    and a test may add options after them) is a command some test runs. The other commands
    there are the set-up (`make setup`: .ci/run) and Docker Compose's (tests/e2e/test_compose_stack.py)."""
    blocks = re.findall(r"```sh\n(.*?)```", WORKSHOP.read_text(), re.S)
    documented = [line.split("#")[0].strip() for block in blocks for line in block.splitlines()]
    documented = [c for c in documented if c.startswith("tipline ")]
    assert len(documented) >= 20
    ran = _commands_in_tests()
    missing = [c for c in documented if not any(_run_by(_words(c), t) for t in ran)]
    assert not missing, f"docs/workshop.md commands no test runs: {missing}"

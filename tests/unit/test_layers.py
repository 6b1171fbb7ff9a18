"""Imports run one way: tipline/ and bench/ -> services/ -> shared/. Read from the source (every
import statement, lazy ones inside functions included), not from what happens to be loaded."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# What each layer may not import.
FORBIDDEN = {"shared": ("services", "tipline", "bench", "tests"),
             "services": ("tipline", "bench", "tests")}


def imported(path: Path) -> set[str]:
    """The top-level package of every module a file imports."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
    return found


@pytest.mark.parametrize("layer", sorted(FORBIDDEN))
def test_a_layer_imports_nothing_above_it(layer):
    wrong = {str(path.relative_to(ROOT)): sorted(imported(path) & set(FORBIDDEN[layer]))
             for path in sorted((ROOT / layer).rglob("*.py"))}
    wrong = {path: packages for path, packages in wrong.items() if packages}
    assert not wrong, f"{layer}/ imports from above it: {wrong}"


def test_the_check_sees_a_lazy_import(tmp_path):
    source = tmp_path / "module.py"
    source.write_text("def f():\n    from services.intake import app\n    import tipline.cli\n")
    assert imported(source) == {"services", "tipline"}

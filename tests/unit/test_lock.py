"""The lock files pin every dependency pyproject.toml names, with hashes (make lock rewrites them)."""

import re
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


def pinned(path: Path) -> dict[str, str]:
    text = path.read_text()
    pins = dict(re.findall(r"^([A-Za-z0-9_.\-]+)==([^\s\\]+)", text, flags=re.MULTILINE))
    return {re.sub(r"[-_.]+", "-", name).lower(): version for name, version in pins.items()}


def names(requirements: list[str]) -> set[str]:
    return {re.sub(r"[-_.]+", "-", re.split(r"[\[<>=!~ ;]", r, maxsplit=1)[0]).lower()
            for r in requirements}


@pytest.mark.parametrize(("lock", "extras"), [("app.txt", []), ("dev.txt", ["dev"])])
def test_every_dependency_is_pinned_with_hashes(lock, extras):
    path = ROOT / "requirements" / lock
    wanted = names(PROJECT["dependencies"]) | {
        n for extra in extras for n in names(PROJECT["optional-dependencies"][extra])}
    missing = wanted - set(pinned(path))
    assert not missing, f"not in {lock}: {sorted(missing)}; run make lock"
    blocks = re.split(r"\n(?=[A-Za-z0-9])", path.read_text().split("\n", 2)[-1])
    assert all("--hash=sha256:" in b for b in blocks if "==" in b)

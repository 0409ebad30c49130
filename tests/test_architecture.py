"""The house's shape: the import contract holds (and catches a wrong import), no import
cycle, a small top level, files under 400 lines, one registry line per method."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]
PACKAGE = ROOT / "src" / "rdistill"
LINT = Path(sys.executable).parent / "lint-imports"

needs_linter = pytest.mark.skipif(not LINT.is_file(), reason="import-linter is not installed (test extra)")


def _lint(source_root: Path) -> subprocess.CompletedProcess:
    """``lint-imports`` with the pyproject contract over the package found under ``source_root``."""
    env = {"PYTHONPATH": str(source_root), "PATH": "/usr/bin:/bin"}
    return subprocess.run([str(LINT), "--config", str(ROOT / "pyproject.toml"), "--no-cache"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)


@needs_linter
def test_import_contract_is_kept():
    result = _lint(ROOT / "src")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "rdistill layers KEPT" in result.stdout


@needs_linter
def test_a_wrong_import_breaks_the_contract(tmp_path):
    """A copy of the package where a ground-floor module imports the face: the linter must fail."""
    shutil.copytree(PACKAGE, tmp_path / "rdistill", ignore=shutil.ignore_patterns("__pycache__"))
    losses = tmp_path / "rdistill" / "losses.py"
    losses.write_text(losses.read_text() + "\n\ndef _wrong():\n    from rdistill.cli import main  # noqa\n")
    result = _lint(tmp_path)
    assert result.returncode != 0
    assert "BROKEN" in result.stdout and "rdistill.losses -> rdistill.cli" in result.stdout


def _import_graph() -> dict[str, set[str]]:
    import grimp

    graph = grimp.build_graph("rdistill", cache_dir=None)
    return {m: set(graph.find_modules_directly_imported_by(m)) for m in graph.modules}


@needs_linter  # grimp comes with import-linter
def test_no_import_cycle():
    graph = _import_graph()
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    cycles: list[list[str]] = []

    def visit(node: str) -> None:  # Tarjan's strongly connected components
        index[node] = low[node] = len(index)
        stack.append(node)
        for nxt in graph[node]:
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for module in sorted(graph):
        if module not in index:
            visit(module)
    assert not cycles, f"import cycles: {cycles}"


def test_top_level_is_small_and_files_are_short():
    top = sorted(p.name for p in PACKAGE.glob("*.py"))
    assert len(top) <= 8, top
    long = {str(p.relative_to(ROOT)): n for p in PACKAGE.rglob("*.py")
            if (n := len(p.read_text().splitlines())) > 400}
    assert not long, long


def test_every_method_is_one_registry_entry_with_its_own_folder():
    from rdistill.methods.base import Method
    from rdistill.methods.registry import METHODS

    assert {"rationale", "latent"} <= set(METHODS)
    for name, method in METHODS.items():
        assert isinstance(method, Method) and method.name == name
        assert (PACKAGE / "methods" / name / "method.py").is_file()

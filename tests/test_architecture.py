"""The floors of the house hold (docs/architecture.md): the import contracts of pyproject.toml, no
import cycle but a model's with its queryset, no module too long to read."""

import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import grimp

ROOT = Path(__file__).resolve().parents[1]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")
PACKAGES = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]["root_packages"]
MAX_LINES = 400


def lint_imports(folder: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache", "pyproject.toml"], cwd=folder, capture_output=True, text=True
    )


def test_every_import_contract_is_kept():
    result = lint_imports(ROOT)

    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def test_an_import_that_runs_up_a_floor_breaks_the_contracts(tmp_path):
    """The contracts catch what they are for: the kernel importing an app, the catalogue importing
    orders (checked on a copy of the config over packages made for the test)."""
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    for package in PACKAGES:
        (tmp_path / package).mkdir()
        (tmp_path / package / "__init__.py").write_text("")
    (tmp_path / "core" / "tenancy.py").write_text("import orders.models\n")
    (tmp_path / "orders" / "models.py").write_text("")
    (tmp_path / "inventory" / "services.py").write_text("from orders import models\n")

    result = lint_imports(tmp_path)

    assert result.returncode != 0
    assert "The kernel imports no app BROKEN" in result.stdout
    assert "core.tenancy -> orders.models" in result.stdout
    assert "inventory.services -> orders.models" in result.stdout


def test_no_import_cycle_but_a_model_module_with_its_querysets():
    graph = grimp.build_graph(*PACKAGES, cache_dir=None)
    cycles = []
    for module in sorted(graph.modules):
        for imported in graph.find_modules_directly_imported_by(module):
            if module < imported and graph.chain_exists(importer=imported, imported=module):
                cycles.append((module, imported))
    allowed = {(f"{app}.models", f"{app}.querysets") for app in PACKAGES}
    assert [pair for pair in cycles if tuple(sorted(pair)) not in allowed] == []


def test_no_module_is_over_400_lines():
    tracked = subprocess.run(
        ["git", "ls-files", "*.py"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    long = {
        name: lines
        for name in tracked
        if not name.startswith("bench/")
        and "/migrations/" not in name
        and (ROOT / name).exists()
        and (lines := len((ROOT / name).read_text().splitlines())) > MAX_LINES
    }
    assert long == {}

"""The package layout shows the architecture: imports between djship's subpackages point one
way (the CLI on top, errors and console at the bottom), so a deciding module never reaches up
into the commands, and the project model never depends on what ships it."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "src" / "djship"
BASE = {"errors", "console", "templating", "__init__"}
ALLOWED = {
    "project": BASE,
    "dependencies": BASE | {"project"},
    "engine": BASE | {"project"},
    "scaffold": BASE | {"project", "dependencies"},
    "shipping": BASE | {"project", "dependencies", "engine"},
    "doctor": BASE | {"project", "engine"},
    "export": BASE | {"project", "dependencies", "engine", "shipping"},
    "adopt": BASE | {"project", "dependencies", "scaffold", "engine"},
    "security": BASE | {"project", "dependencies", "engine", "shipping", "doctor"},
}


def djship_imports(path: Path) -> set[str]:
    """The first component under djship of every module `path` imports."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("djship"):
            parts = node.module.split(".")
            names.add(parts[1] if len(parts) > 1 else "__init__")
        elif isinstance(node, ast.Import):
            names.update(a.name.split(".")[1] for a in node.names if a.name.startswith("djship."))
    return names


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_imports_point_one_way(package):
    for module in sorted((PACKAGE / package).rglob("*.py")):
        if "templates" in module.parts:
            continue
        reached = djship_imports(module) - {package}
        assert reached <= ALLOWED[package], f"{module.relative_to(PACKAGE)} imports {reached}"


def test_errors_and_console_import_nothing_of_djship():
    for name in ("errors.py", "console.py"):
        assert djship_imports(PACKAGE / name) == set()

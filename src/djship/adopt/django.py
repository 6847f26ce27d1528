"""Where the Django project is: manage.py, its settings modules (one for development, one for
production) and its WSGI application, read from the source with `ast`."""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from pathlib import PurePosixPath

from djship.adopt.pyast import dotted, parse, string
from djship.adopt.settings import module_path
from djship.adopt.tree import Tree, join, parent

SETTINGS_VARIABLE = "DJANGO_SETTINGS_MODULE"
# Names of settings modules, by the environment they are meant for.
PRODUCTION_NAMES = ("production", "prod", "live", "deploy", "deployment", "server")
DEVELOPMENT_NAMES = ("local", "dev", "development", "develop")
WSGI_CALLABLES = ("application", "app")


@dataclass(frozen=True)
class ManagePy:
    path: str  # relative to the tree's root
    default_settings: str | None  # the module manage.py sets by default
    reason: str  # how it sets it
    forced: bool = False  # os.environ[...] = ...: an environment value cannot change it

    @property
    def app_dir(self) -> str:
        return parent(self.path)


@dataclass(frozen=True)
class Wsgi:
    module: str  # dotted, importable from the app dir
    callable: str
    path: str
    forces_settings: str | None = None  # wsgi.py overwrites DJANGO_SETTINGS_MODULE
    reason: str = ""

    @property
    def uwsgi(self) -> str:
        return f"{self.module}:{self.callable}"


def find_manage_py(tree: Tree) -> list[str]:
    """Every manage.py, shallowest first."""
    return tree.named("manage.py")


def read_manage_py(tree: Tree, path: str) -> ManagePy:
    syntax = parse(tree.text(path))
    if syntax is None:
        return ManagePy(path, None, "manage.py cannot be parsed")
    for node in ast.walk(syntax):
        found = settings_assignment(node)
        if found:
            module, how, forced = found
            return ManagePy(path, module, how, forced)
    return ManagePy(path, None, f"{path} sets no {SETTINGS_VARIABLE}")


def settings_assignment(node: ast.AST) -> tuple[str | None, str, bool] | None:
    """`os.environ.setdefault("DJANGO_SETTINGS_MODULE", X)` or `os.environ[...] = X`:
    X's module (a literal, or the default of the variable it reads), how, and whether forced."""
    if (
        isinstance(node, ast.Call)
        and dotted(node.func).endswith("environ.setdefault")
        and len(node.args) > 1
        and string(node.args[0]) == SETTINGS_VARIABLE
    ):
        value = node.args[1]
        module = string(value) or _default_of(value)
        how = (
            f"os.environ.setdefault({SETTINGS_VARIABLE!r}, {ast.unparse(value)}) "
            f"(line {node.lineno})"
        )
        return module, how, False
    if isinstance(node, ast.Assign) and len(node.targets) == 1:
        target = node.targets[0]
        if (
            isinstance(target, ast.Subscript)
            and dotted(target.value).endswith("environ")
            and string(target.slice) == SETTINGS_VARIABLE
        ):
            module = string(node.value) or _default_of(node.value)
            return module, f"os.environ[{SETTINGS_VARIABLE!r}] = ... (line {node.lineno})", True
    return None


def _default_of(node: ast.AST) -> str | None:
    """The literal default of os.getenv("X", "default") / os.environ.get(...)."""
    if isinstance(node, ast.Call) and len(node.args) > 1:
        return string(node.args[1])
    return None


def settings_candidates(tree: Tree, app_dir: str) -> list[str]:
    """Modules that look like settings below `app_dir`: settings.py files and settings/
    packages (their modules), as dotted names."""
    found: list[str] = []
    prefix = f"{app_dir}/" if app_dir else ""
    for path in sorted(tree.files):
        if not path.startswith(prefix) or not path.endswith(".py"):
            continue
        relative = PurePosixPath(path[len(prefix) :])
        parts = relative.with_suffix("").parts
        if "tests" in parts or "test" in parts or "migrations" in parts:
            continue
        if relative.name == "settings.py" or (
            len(parts) >= 2 and parts[-2] == "settings" and relative.name != "__init__.py"
        ):
            found.append(".".join(parts))
    return found


def production_sibling(tree: Tree, app_dir: str, module: str) -> tuple[list[str], str]:
    """Production modules beside `module` (config.settings.local -> config.settings.production),
    or inside it when it is a package (config.settings -> config.settings.production)."""
    found = module_path(tree, app_dir, module)
    packages = []
    if found and found[1]:
        packages.append(module)
    if "." in module:
        packages.append(module.rsplit(".", 1)[0])
    matches: list[str] = []
    for package in packages:
        for name in PRODUCTION_NAMES:
            for candidate in (f"{package}.{name}", f"{package}.settings_{name}"):
                if candidate != module and module_path(tree, app_dir, candidate):
                    matches.append(candidate)
        if matches:
            return matches, f"beside {module} in {package.replace('.', '/')}/"
    return [], ""


def development_sibling(tree: Tree, app_dir: str, module: str) -> str | None:
    """A development module beside a production default (manage.py -> ...production)."""
    if "." not in module:
        return None
    package = module.rsplit(".", 1)[0]
    for name in DEVELOPMENT_NAMES:
        if module_path(tree, app_dir, f"{package}.{name}"):
            return f"{package}.{name}"
    return None


def is_production_name(module: str) -> bool:
    last = module.rsplit(".", 1)[-1].removeprefix("settings_")
    return last in PRODUCTION_NAMES


def settings_package(module: str, is_package: bool) -> str:
    """The package a settings module belongs to, where djship puts its own modules
    (mysite.settings -> mysite; config.settings.production -> config; settings -> "")."""
    parts = module.split(".")
    if is_package:
        parts = parts + ["__init__"]
    if len(parts) >= 2 and parts[-2] == "settings" and len(parts) >= 3:
        return ".".join(parts[:-2])
    return ".".join(parts[:-1])


def find_wsgi(
    tree: Tree, app_dir: str, wsgi_setting: str | None, settings_module: str
) -> tuple[list[Wsgi], str]:
    """The WSGI application: WSGI_APPLICATION's module when it names one, else wsgi.py files
    near the settings, else any wsgi.py below the app dir. Candidates, and how they were found."""
    if wsgi_setting and "." in wsgi_setting:
        module, attribute = wsgi_setting.rsplit(".", 1)
        found = module_path(tree, app_dir, module)
        if found:
            return [read_wsgi(tree, found[0], module, attribute)], "WSGI_APPLICATION"
    package = settings_package(settings_module, False)
    near = join(app_dir, package.replace(".", "/"))
    candidates = [p for p in tree.glob(join(near, "wsgi.py"))]
    how = f"wsgi.py beside the settings ({near or '.'})"
    if not candidates:
        prefix = f"{app_dir}/" if app_dir else ""
        candidates = [
            p for p in tree.named("wsgi.py") if p.startswith(prefix) and "/tests/" not in p
        ]
        how = "the wsgi.py files of the project"
    wsgis = []
    for path in candidates:
        relative = path[len(f"{app_dir}/") :] if app_dir else path
        module = relative.removesuffix(".py").replace("/", ".")
        wsgis.append(read_wsgi(tree, path, module, None))
    return wsgis, how


def read_wsgi(tree: Tree, path: str, module: str, attribute: str | None) -> Wsgi:
    syntax = parse(tree.text(path))
    names: list[str] = []
    forced = None
    if syntax is not None:
        for node in syntax.body:
            if isinstance(node, ast.Assign):
                names += [t.id for t in node.targets if isinstance(t, ast.Name)]
        for node in ast.walk(syntax):
            found = settings_assignment(node)
            if found and found[2]:
                forced = found[0] or "?"
    if attribute:
        return Wsgi(module, attribute, path, forced, f"{path} (WSGI_APPLICATION)")
    callable_name = next((n for n in WSGI_CALLABLES if n in names), "application")
    return Wsgi(module, callable_name, path, forced, f"{path} defines {callable_name}")


VALID_MODULE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*")

"""Reading Python source without running it: environment lookups and literal values.

Settings read the environment in a handful of ways, all recognised here from the syntax
tree: `os.environ[...]`, `os.environ.get`, `os.getenv`, django-environ (`env("X")`,
`env.bool("X")`, `env.db()`...), python-decouple (`config("X")`) and dj-database-url
(`dj_database_url.config()` reads DATABASE_URL).
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field

# django-environ methods that read one variable, and the variable some read by default.
ENVIRON_METHODS = {
    "str", "bool", "int", "float", "json", "list", "tuple", "dict", "url", "path", "bytes",
    "parse_value", "get_value", "db", "db_url", "cache", "cache_url", "email", "email_url",
    "search_url", "channels", "channels_url",
}  # fmt: skip
ENVIRON_DEFAULT_VARIABLES = {
    "db": "DATABASE_URL",
    "db_url": "DATABASE_URL",
    "cache": "CACHE_URL",
    "cache_url": "CACHE_URL",
    "email": "EMAIL_URL",
    "email_url": "EMAIL_URL",
    "search_url": "SEARCH_URL",
    "channels": "CHANNELS_URL",
    "channels_url": "CHANNELS_URL",
}
URL_METHODS = {"db", "db_url"}  # django-environ's database URL readers


@dataclass(frozen=True)
class EnvRead:
    """One lookup of an environment variable in the source."""

    name: str
    required: bool  # no default: importing fails (or misbehaves) when it is not set
    line: int
    database_url: bool = False  # parsed as a database URL (env.db, dj_database_url)
    default: object = None  # the literal default, when there is one


@dataclass
class Names:
    """What the module calls its environment readers: `env = environ.Env(...)` and the like."""

    environ_instances: dict[str, set[str]] = field(default_factory=dict)  # name -> defaulted
    decouple: set[str] = field(default_factory=set)  # python-decouple's config
    os_environ: set[str] = field(default_factory=lambda: {"os.environ"})
    getenv: set[str] = field(default_factory=lambda: {"os.getenv"})
    database_url: set[str] = field(default_factory=lambda: {"dj_database_url"})


def names_of(tree: ast.Module) -> Names:
    """The reader names a module defines or imports."""
    names = Names()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            for alias in node.names:
                local = alias.asname or alias.name
                if node.module == "os" and alias.name == "environ":
                    names.os_environ.add(local)
                elif node.module == "os" and alias.name == "getenv":
                    names.getenv.add(local)
                elif node.module.startswith("decouple") and alias.name == "config":
                    names.decouple.add(local)
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name == "dj_database_url" and alias.asname:
                    names.database_url.add(alias.asname)
        elif isinstance(node, ast.Assign) and isinstance(node.value, ast.Call):
            func = dotted(node.value.func)
            if func in {"environ.Env", "Env", "environ.FileAwareEnv", "FileAwareEnv"}:
                defaulted = {
                    k.arg
                    for k in node.value.keywords
                    if k.arg and isinstance(k.value, ast.Tuple) and len(k.value.elts) >= 2
                }
                for target in node.targets:
                    if isinstance(target, ast.Name):
                        names.environ_instances[target.id] = defaulted
            elif func in {"AutoConfig", "decouple.AutoConfig", "Config", "decouple.Config"}:
                for target in node.targets:
                    if isinstance(target, ast.Name):
                        names.decouple.add(target.id)
    if not names.environ_instances:
        names.environ_instances["env"] = set()  # the name every django-environ example uses
    return names


def dotted(node: ast.AST) -> str:
    """`a.b.c` for a chain of attributes on a name, else ""."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        base = dotted(node.value)
        return f"{base}.{node.attr}" if base else ""
    return ""


def string(node: ast.AST | None) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    return None


def literal(node: ast.AST | None) -> object:
    """The node's value when it is a literal, else None."""
    if node is None:
        return None
    try:
        return ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return None


def _keyword(call: ast.Call, name: str) -> ast.AST | None:
    return next((k.value for k in call.keywords if k.arg == name), None)


def env_reads(node: ast.AST, names: Names) -> list[EnvRead]:
    """Every environment lookup inside `node`, in source order."""
    found: list[EnvRead] = []
    for child in ast.walk(node):
        read = _read(child, names)
        if read is not None:
            found.append(read)
    return sorted(found, key=lambda r: r.line)


def _read(node: ast.AST, names: Names) -> EnvRead | None:
    line = getattr(node, "lineno", 0)
    if isinstance(node, ast.Subscript) and dotted(node.value) in names.os_environ:
        name = string(node.slice)
        if name and isinstance(node.ctx, ast.Load):
            return EnvRead(name, True, line)
        return None
    if not isinstance(node, ast.Call):
        return None
    func = dotted(node.func)
    first = string(node.args[0]) if node.args else string(_keyword(node, "var"))
    if (
        func
        in {f"{e}.get" for e in names.os_environ}
        | {f"{e}.setdefault" for e in names.os_environ}
        | names.getenv
    ):
        default = node.args[1] if len(node.args) > 1 else _keyword(node, "default")
        return EnvRead(first, False, line, default=literal(default)) if first else None
    if func in names.decouple:
        default = _keyword(node, "default")
        if first:
            return EnvRead(first, default is None, line, default=literal(default))
        return None
    if func in {f"{d}.config" for d in names.database_url}:
        variable = string(_keyword(node, "env")) or "DATABASE_URL"
        default = _keyword(node, "default")
        return EnvRead(variable, False, line, database_url=True, default=literal(default))
    receiver, _, method = func.rpartition(".")
    if func in names.environ_instances:  # env("X", cast, default)
        default = node.args[2] if len(node.args) > 2 else _keyword(node, "default")
        defaulted = first in names.environ_instances[func]
        if first:
            return EnvRead(first, default is None and not defaulted, line, default=literal(default))
        return None
    if receiver in names.environ_instances and method in ENVIRON_METHODS:
        variable = first or ENVIRON_DEFAULT_VARIABLES.get(method)
        if not variable:
            return None
        default = node.args[1] if len(node.args) > 1 else _keyword(node, "default")
        defaulted = variable in names.environ_instances[receiver]
        return EnvRead(
            variable,
            default is None and not defaulted,
            line,
            database_url=method in URL_METHODS,
            default=literal(default),
        )
    return None


def star_imports(tree: ast.Module, module: str, is_package: bool) -> list[tuple[str, bool]]:
    """Absolute names of the modules `module` star-imports, with whether the import is
    guarded (inside try/if: the module may be absent)."""
    found: list[tuple[str, bool]] = []

    def visit(statements: list[ast.stmt], guarded: bool) -> None:
        for statement in statements:
            if isinstance(statement, ast.ImportFrom) and any(
                alias.name == "*" for alias in statement.names
            ):
                target = resolve_import(module, is_package, statement.level, statement.module)
                if target:
                    found.append((target, guarded))
            elif isinstance(statement, ast.Try):
                visit(statement.body, True)
                for handler in statement.handlers:
                    visit(handler.body, True)
                visit(statement.orelse, True)
                visit(statement.finalbody, guarded)
            elif isinstance(statement, ast.If):
                visit(statement.body, True)
                visit(statement.orelse, True)

    visit(tree.body, False)
    return found


def resolve_import(module: str, is_package: bool, level: int, name: str | None) -> str | None:
    """The absolute module a (possibly relative) import names."""
    if level == 0:
        return name
    parts = module.split(".")
    package = parts if is_package else parts[:-1]
    if level - 1 > len(package):
        return None
    base = package[: len(package) - (level - 1)]
    return ".".join([*base, *([name] if name else [])]) or None


def parse(text: str | None) -> ast.Module | None:
    if text is None:
        return None
    try:
        return ast.parse(text)
    except (SyntaxError, ValueError):
        return None

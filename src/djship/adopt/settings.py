"""What a Django settings module says, read from its source (and the modules it star-imports,
`from .base import *`): the values djship cares about, and the environment it reads.

Only syntax is read: a value computed at run time is described, not evaluated.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field

from djship.adopt.pyast import (
    EnvRead,
    Names,
    dotted,
    env_reads,
    literal,
    names_of,
    parse,
    star_imports,
)
from djship.adopt.tree import Tree, join

MAX_CHAIN = 8  # star imports followed, at most
DATABASE_ROLES = {
    "ENGINE": "db_engine",
    "NAME": "db_name",
    "USER": "db_user",
    "PASSWORD": "db_password",
    "HOST": "db_host",
    "PORT": "db_port",
}
SECURITY_MIDDLEWARE = "django.middleware.security.SecurityMiddleware"
CSRF_MIDDLEWARE = "django.middleware.csrf.CsrfViewMiddleware"
XFRAME_MIDDLEWARE = "django.middleware.clickjacking.XFrameOptionsMiddleware"


@dataclass(frozen=True)
class Assignment:
    name: str
    node: ast.expr
    file: str
    line: int
    reads: tuple[EnvRead, ...]

    @property
    def value(self) -> object:
        return literal(self.node)

    def describe(self) -> str:
        return ast.unparse(self.node)


@dataclass(frozen=True)
class Located:
    """An environment read and the file it is in."""

    read: EnvRead
    file: str

    @property
    def where(self) -> str:
        return f"{self.file}:{self.read.line}"


@dataclass(frozen=True)
class Database:
    """How the settings choose their default database."""

    kind: str  # "url", "fields", "literal" or "unknown"
    variables: dict[str, str] = field(default_factory=dict)  # role -> variable name
    engine: str = ""
    where: str = ""
    description: str = ""

    @property
    def style(self) -> str:
        """A short name: DATABASE_URL, POSTGRES_*, DB_*, a literal SQLite database..."""
        if self.kind == "url":
            return self.variables.get("database_url", "DATABASE_URL")
        if self.kind == "fields":
            names = sorted(self.variables.values())
            prefix = _common_prefix(names)
            return f"{prefix}*" if len(prefix) >= 3 else ", ".join(names)
        if self.kind == "literal":
            kind = self.engine.rsplit(".", 1)[-1] or "database"
            return f"a literal {kind} database"
        return "computed (not recognised)"


@dataclass
class Settings:
    """One settings module and the modules it star-imports, merged: later wins."""

    module: str
    files: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)  # star-imported modules not found
    assignments: dict[str, list[Assignment]] = field(default_factory=dict)
    reads: list[Located] = field(default_factory=list)
    middleware: set[str] = field(default_factory=set)
    database_assignments: list[Assignment] = field(default_factory=list)

    def last(self, name: str) -> Assignment | None:
        values = self.assignments.get(name)
        return values[-1] if values else None

    def value(self, name: str) -> object:
        assignment = self.last(name)
        return assignment.value if assignment else None

    def defines(self, name: str) -> bool:
        return name in self.assignments

    def string_or_default(self, name: str) -> str | None:
        """A string setting's literal value, or the default of the variable it reads."""
        assignment = self.last(name)
        if assignment is None:
            return None
        if isinstance(assignment.value, str):
            return assignment.value
        for read in assignment.reads:
            if isinstance(read.default, str):
                return read.default
        return None

    def reads_of(self, name: str) -> list[EnvRead]:
        """The environment variables read to compute setting `name` (its last assignment)."""
        assignment = self.last(name)
        return list(assignment.reads) if assignment else []

    @property
    def database(self) -> Database:
        return database_of(self.database_assignments)


def module_path(tree: Tree, app_dir: str, module: str) -> tuple[str, bool] | None:
    """The file of `module` below `app_dir`, and whether it is a package."""
    base = join(app_dir, module.replace(".", "/"))
    if tree.exists(f"{base}.py") and not tree.is_dir(f"{base}.py"):
        return f"{base}.py", False
    if tree.exists(f"{base}/__init__.py"):
        return f"{base}/__init__.py", True
    return None


def read_settings(tree: Tree, app_dir: str, module: str) -> Settings:
    """`module` with everything it star-imports from the project, in import order."""
    settings = Settings(module)
    seen: set[str] = set()

    def visit(name: str, guarded: bool, depth: int) -> None:
        if name in seen or depth > MAX_CHAIN:
            return
        seen.add(name)
        found = module_path(tree, app_dir, name)
        if found is None:
            if not guarded and depth > 0 and not _is_third_party(name, module):
                settings.missing.append(name)
            return
        path, is_package = found
        syntax = parse(tree.text(path))
        if syntax is None:
            settings.missing.append(name)
            return
        names = names_of(syntax)
        for imported, inner_guard in star_imports(syntax, name, is_package):
            visit(imported, guarded or inner_guard, depth + 1)
        settings.files.append(path)
        _collect(settings, syntax, names, path)

    visit(module, False, 0)
    return settings


def _is_third_party(name: str, module: str) -> bool:
    """`from decouple import *` and the like: not the project's module."""
    return name.split(".")[0] != module.split(".")[0]


def _collect(settings: Settings, syntax: ast.Module, names: Names, path: str) -> None:
    for statement in _import_time_statements(syntax.body):
        for read in _statement_reads(statement, names):
            settings.reads.append(Located(read, path))
        if isinstance(statement, ast.Assign | ast.AnnAssign | ast.AugAssign):
            value = statement.value
            if value is None:
                continue
            targets = statement.targets if isinstance(statement, ast.Assign) else [statement.target]
            for target in targets:
                _record(settings, target, value, names, path, statement)
        elif isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Call):
            _record_call(settings, statement.value)


def _import_time_statements(statements: list[ast.stmt]) -> list[ast.stmt]:
    """Top-level statements, including those inside if/try/with blocks (not functions)."""
    found: list[ast.stmt] = []
    for statement in statements:
        if isinstance(statement, ast.If):
            found += _import_time_statements(statement.body + statement.orelse)
        elif isinstance(statement, ast.Try):
            blocks = statement.body + statement.orelse + statement.finalbody
            for handler in statement.handlers:
                blocks += handler.body
            found += _import_time_statements(blocks)
        elif isinstance(statement, ast.With):
            found += _import_time_statements(statement.body)
        elif not isinstance(statement, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            found.append(statement)
    return found


def _statement_reads(statement: ast.stmt, names: Names) -> list[EnvRead]:
    return env_reads(statement, names)


def _record(
    settings: Settings,
    target: ast.expr,
    value: ast.expr,
    names: Names,
    path: str,
    statement: ast.stmt,
) -> None:
    reads = tuple(env_reads(value, names))
    if isinstance(target, ast.Name) and target.id.isupper():
        assignment = Assignment(target.id, value, path, statement.lineno, reads)
        if isinstance(statement, ast.AugAssign):
            settings.assignments.setdefault(target.id, [])
        else:
            settings.assignments.setdefault(target.id, []).append(assignment)
        if target.id in {"MIDDLEWARE", "MIDDLEWARE_CLASSES"}:
            settings.middleware |= _strings(value)
        if target.id == "DATABASES" and not isinstance(statement, ast.AugAssign):
            settings.database_assignments.append(assignment)
    elif isinstance(target, ast.Subscript):
        # DATABASES["default"] = ... (or DATABASES["default"]["HOST"] = ...)
        root = target
        keys = []
        while isinstance(root, ast.Subscript):
            keys.insert(0, literal(root.slice))
            root = root.value
        if isinstance(root, ast.Name) and root.id == "DATABASES" and keys[:1] == ["default"]:
            node = value if len(keys) == 1 else ast.Dict([ast.Constant(keys[1])], [value])
            wrapped = ast.Dict([ast.Constant("default")], [node])
            assignment = Assignment("DATABASES", wrapped, path, statement.lineno, reads)
            if len(keys) == 1:
                settings.database_assignments.append(assignment)
            else:
                settings.database_assignments.append(_merge_field(settings, assignment))


def _merge_field(settings: Settings, field_assignment: Assignment) -> Assignment:
    """DATABASES["default"]["HOST"] = ... on top of the DATABASES known so far."""
    if not settings.database_assignments:
        return field_assignment
    previous = settings.database_assignments[-1]
    default = _default_entry(previous.node)
    extra = _default_entry(field_assignment.node)
    if isinstance(default, ast.Dict) and isinstance(extra, ast.Dict):
        merged = ast.Dict(default.keys + extra.keys, default.values + extra.values)
        node = ast.Dict([ast.Constant("default")], [merged])
        reads = previous.reads + field_assignment.reads
        return Assignment("DATABASES", node, field_assignment.file, field_assignment.line, reads)
    return previous


def _record_call(settings: Settings, call: ast.Call) -> None:
    """MIDDLEWARE.insert(0, "...") / MIDDLEWARE.append("...")."""
    func = call.func
    if isinstance(func, ast.Attribute) and dotted(func.value) in {
        "MIDDLEWARE",
        "MIDDLEWARE_CLASSES",
    }:
        for argument in call.args:
            settings.middleware |= _strings(argument)


def _strings(node: ast.AST) -> set[str]:
    return {
        n.value for n in ast.walk(node) if isinstance(n, ast.Constant) and isinstance(n.value, str)
    }


def _default_entry(node: ast.expr) -> ast.expr | None:
    if isinstance(node, ast.Dict):
        for key, value in zip(node.keys, node.values, strict=True):
            if key is not None and literal(key) == "default":
                return value
    return None


def database_of(assignments: list[Assignment]) -> Database:
    """The default database, from the assignments of DATABASES in order. An assignment that
    reads the environment wins over a literal one next to it (`if env: ... else: sqlite`)."""
    if not assignments:
        return Database("unknown", description="DATABASES is not set")
    steered = [a for a in assignments if a.reads]
    chosen = (
        steered[-1] if steered and steered[-1].file == assignments[-1].file else assignments[-1]
    )
    where = f"{chosen.file}:{chosen.line}"
    entry = _default_entry(chosen.node)
    if entry is None:
        return Database("unknown", where=where, description=chosen.describe())
    url_reads = [r for r in env_reads_in(chosen, entry) if r.database_url or "URL" in r.name]
    if not isinstance(entry, ast.Dict):
        if url_reads:
            return Database(
                "url", {"database_url": url_reads[0].name}, where=where,
                description=ast.unparse(entry),
            )  # fmt: skip
        return Database("unknown", where=where, description=ast.unparse(entry))
    variables: dict[str, str] = {}
    engine = ""
    for key, value in zip(entry.keys, entry.values, strict=True):
        key_name = literal(key) if key is not None else None
        if key_name not in DATABASE_ROLES:
            continue
        reads = env_reads_in(chosen, value)
        if reads:
            variables[DATABASE_ROLES[key_name]] = reads[0].name
            if key_name == "ENGINE" and isinstance(reads[0].default, str):
                engine = reads[0].default
        elif key_name == "ENGINE" and isinstance(literal(value), str):
            engine = literal(value)
    if variables.keys() - {"db_engine"}:
        return Database("fields", variables, engine, where, ast.unparse(entry))
    return Database("literal", {}, engine, where, ast.unparse(entry))


def env_reads_in(assignment: Assignment, node: ast.AST) -> list[EnvRead]:
    """The assignment's reads that sit inside `node` (matched by line and name)."""
    lines = {getattr(n, "lineno", None) for n in ast.walk(node)}
    names = {n.value for n in ast.walk(node) if isinstance(n, ast.Constant)}
    inside = [r for r in assignment.reads if r.line in lines and r.name in names]
    calls = [r for r in assignment.reads if r.line in lines and r.database_url]
    return inside or calls


def _common_prefix(names: list[str]) -> str:
    if not names:
        return ""
    prefix = names[0]
    for name in names[1:]:
        while not name.startswith(prefix):
            prefix = prefix[:-1]
    return prefix

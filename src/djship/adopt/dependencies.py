"""Which dependency files an existing project has and what they say: the format (uv, Poetry,
Pipenv, PEP 621, requirements files, setup.py/setup.cfg), whether a lock exists, the
distributions named, and whether uWSGI and a PostgreSQL driver are among them."""

from __future__ import annotations

import ast
import configparser
import json
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import PurePosixPath

from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from djship.adopt.pyast import dotted, literal, parse
from djship.adopt.tree import Tree, join, parent

UWSGI = {"pyuwsgi", "uwsgi"}
POSTGRES_DRIVERS = {"psycopg", "psycopg2", "psycopg2-binary", "psycopg-binary", "psycopg2cffi"}
OTHER_SERVERS = {"gunicorn", "uvicorn", "daphne", "waitress", "mod-wsgi", "hypercorn"}
PRODUCTION_WORDS = {"prod", "production", "deploy", "deployment", "live", "server", "heroku"}
NOT_PRODUCTION_WORDS = {
    "dev", "develop", "development", "local", "test", "tests", "testing", "ci", "docs", "doc",
    "lint", "linting", "qa", "tox", "debug", "optional", "extra", "extras", "docker-dev",
}  # fmt: skip
SERVING_EXTRAS = {"postgres", "postgresql", "pg", "psycopg", "psycopg2", "prod", "production"}
SERVING_EXTRAS |= {"deploy", "server", "uwsgi"}


@dataclass(frozen=True)
class Requirements:
    """A requirements file and what it includes (-r), read as pip would."""

    files: tuple[str, ...]
    names: frozenset[str]
    pinned: bool  # every requirement is name==version: the file is a lock of sorts
    hashes: bool
    editable: tuple[str, ...] = ()  # -e lines and local paths: the project installing itself
    urls: tuple[str, ...] = ()  # VCS or URL requirements
    options: tuple[str, ...] = ()  # --index-url and friends
    django: str | None = None  # the Django requirement as written


@dataclass
class Dependencies:
    """What the project's dependency files say, and the decision on how to install them."""

    format: str  # uv, poetry, pipenv, pep621, requirements, setup
    directory: str  # where the files are: djship's files go there too
    files: list[str]
    reason: str
    lock_file: str | None = None  # the project's lock, when it has one
    names: set[str] = field(default_factory=set)  # distributions, canonical names
    django: str | None = None  # version (from a lock) or specifier
    sources: list[str] = field(default_factory=list)  # what `uv pip compile` reads
    extras: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    alternatives: list[str] = field(default_factory=list)
    package_mode: bool = True  # Poetry: package-mode (false: an application, not a package)

    @property
    def has_uwsgi(self) -> bool:
        return bool(self.names & UWSGI)

    @property
    def has_postgres_driver(self) -> bool:
        return bool(self.names & POSTGRES_DRIVERS)

    @property
    def servers(self) -> set[str]:
        return self.names & OTHER_SERVERS


@dataclass(frozen=True)
class RequirementsChoice:
    """Which requirements file is the production one."""

    chosen: str | None
    reason: str
    candidates: tuple[str, ...] = ()  # when it cannot be decided


def _words(path: str) -> set[str]:
    stem = PurePosixPath(path).with_suffix("").as_posix().lower()
    return set(re.split(r"[/_.\-]+", stem)) - {"requirements", "requirement", "reqs", ""}


def requirement_files(tree: Tree, directory: str) -> list[str]:
    patterns = ["requirements*.txt", "requirements/*.txt", "requirements*/*.txt", "reqs/*.txt"]
    found = {p for pattern in patterns for p in tree.glob(join(directory, pattern))}
    return sorted(found)


def choose_requirements(files: list[str], directory: str, chosen: str | None) -> RequirementsChoice:
    """The file the production image installs: one named for production, else the plain
    requirements.txt, else a base/common one; never one named for dev, tests or docs."""
    if chosen:
        return RequirementsChoice(chosen, "chosen with --requirements")
    production = [f for f in files if _words(f) & PRODUCTION_WORDS]
    usable = [f for f in files if not _words(f) & NOT_PRODUCTION_WORDS]
    if len(production) == 1:
        return RequirementsChoice(production[0], "named for production")
    if len(production) > 1:
        return RequirementsChoice(None, "several files are named for production", tuple(production))
    plain = join(directory, "requirements.txt")
    if plain in files:
        return RequirementsChoice(plain, "the plain requirements.txt")
    base = [f for f in usable if _words(f) & {"base", "common", "main", "core", "default"}]
    if len(base) == 1:
        return RequirementsChoice(base[0], "the base file (no production file)")
    if len(usable) == 1:
        return RequirementsChoice(usable[0], "the only file not named for development or tests")
    return RequirementsChoice(None, "no file is named for production", tuple(usable or files))


def read_requirements(tree: Tree, path: str) -> Requirements:
    """`path` and the files it includes with -r, as pip reads them."""
    files: list[str] = []
    names: set[str] = set()
    pinned = True
    hashes = False
    editable: list[str] = []
    urls: list[str] = []
    options: list[str] = []
    django = None

    def visit(current: str) -> None:
        nonlocal pinned, hashes, django
        if current in files or len(files) > 20:
            return
        text = tree.text(current)
        if text is None:
            return
        files.append(current)
        for number, line in _logical_lines(text):
            where = f"{current}:{number}"
            if line.startswith(("-r", "--requirement")):
                include = line.split(None, 1)[1] if " " in line else line[2:]
                visit(_relative(current, include.strip().removeprefix("=")))
                continue
            if line.startswith(("-c", "--constraint")):
                continue
            if line.startswith(("-e", "--editable")) or line.startswith((".", "/")):
                editable.append(f"{where}: {line}")
                continue
            if line.startswith("-"):
                if "--hash" in line:
                    hashes = True
                else:
                    options.append(f"{where}: {line}")
                continue
            requirement_text = line.split(" --hash", 1)[0].strip()
            hashes = hashes or "--hash" in line
            if "://" in requirement_text and "@" not in requirement_text:
                urls.append(f"{where}: {line}")
                continue
            try:
                requirement = Requirement(requirement_text)
            except InvalidRequirement:
                continue
            if requirement.url:
                urls.append(f"{where}: {line}")
            name = canonicalize_name(requirement.name)
            names.add(name)
            if name == "django":
                django = str(requirement.specifier)
            specs = list(requirement.specifier)
            if len(specs) != 1 or specs[0].operator not in {"==", "==="} or "*" in specs[0].version:
                pinned = False

    visit(path)
    return Requirements(
        tuple(files),
        frozenset(names),
        pinned and bool(names),
        hashes,
        tuple(editable),
        tuple(urls),
        tuple(options),
        django,
    )


def _logical_lines(text: str) -> list[tuple[int, str]]:
    """Lines joined at backslashes, comments removed, with their first line number."""
    lines: list[tuple[int, str]] = []
    current, start = "", 0
    for number, raw in enumerate(text.splitlines(), start=1):
        stripped = re.sub(r"(^|\s)#.*$", "", raw).rstrip()
        if not current:
            start = number
        if stripped.endswith("\\"):
            current += stripped[:-1] + " "
            continue
        current += stripped
        if current.strip():
            lines.append((start, " ".join(current.split())))
        current = ""
    return lines


def _relative(including: str, included: str) -> str:
    return PurePosixPath(parent(including), included).as_posix().removeprefix("./")


def read_toml(tree: Tree, path: str) -> dict:
    text = tree.text(path)
    if text is None:
        return {}
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError:
        return {}


def _names_of_specs(specs: list[str]) -> set[str]:
    names = set()
    for spec in specs:
        try:
            names.add(canonicalize_name(Requirement(spec).name))
        except InvalidRequirement:
            continue
    return names


def _spec_of(specs: list[str], name: str) -> str | None:
    for spec in specs:
        try:
            requirement = Requirement(spec)
        except InvalidRequirement:
            continue
        if canonicalize_name(requirement.name) == name:
            return str(requirement.specifier) or None
    return None


def poetry_lock_packages(text: str) -> list[tuple[str, str, tuple[str, ...]]]:
    """(name, version, files) of the main group's packages in a poetry.lock (formats 1.x
    and 2.x); optional ones (extras) and path/git sources left out."""
    data = tomllib.loads(text)
    legacy_files = data.get("metadata", {}).get("files", {})
    packages = []
    for package in data.get("package", []):
        groups = set(package.get("groups", [package.get("category", "main")]))
        if "main" not in groups or package.get("optional", False):
            continue
        if package.get("source", {}).get("type") in {"directory", "git", "file", "url"}:
            continue
        name = canonicalize_name(package["name"])
        entries = package.get("files") or legacy_files.get(package["name"], [])
        files = tuple(entry["file"] for entry in entries if "file" in entry)
        packages.append((name, package["version"], files))
    return sorted(packages)


def setup_requirements(tree: Tree, directory: str) -> tuple[list[str], dict[str, list[str]], list]:
    """install_requires and extras_require of setup.py or setup.cfg, read without running
    them; the notes say what could not be read."""
    notes: list[str] = []
    cfg_path = join(directory, "setup.cfg")
    cfg_text = tree.text(cfg_path)
    install: list[str] = []
    extras: dict[str, list[str]] = {}
    if cfg_text:
        parser = configparser.ConfigParser(interpolation=None)
        try:
            parser.read_string(cfg_text)
        except configparser.Error:
            notes.append(f"{cfg_path} cannot be read")
        else:
            if parser.has_option("options", "install_requires"):
                install = _cfg_list(parser.get("options", "install_requires"))
            if parser.has_section("options.extras_require"):
                for key, value in parser.items("options.extras_require"):
                    extras[key] = _cfg_list(value)
    setup_py = join(directory, "setup.py")
    syntax = parse(tree.text(setup_py))
    if syntax is not None:
        assigned = {
            t.id: node.value
            for node in syntax.body
            if isinstance(node, ast.Assign)
            for t in node.targets
            if isinstance(t, ast.Name)
        }
        for node in ast.walk(syntax):
            if isinstance(node, ast.Call) and dotted(node.func) in {"setup", "setuptools.setup"}:
                for keyword in node.keywords:
                    value = keyword.value
                    if isinstance(value, ast.Name) and value.id in assigned:
                        value = assigned[value.id]
                    if keyword.arg == "install_requires":
                        found = literal(value)
                        if isinstance(found, list | tuple):
                            install = [str(item) for item in found]
                        else:
                            notes.append(f"{setup_py}: install_requires is computed")
                    elif keyword.arg == "extras_require":
                        found = literal(value)
                        if isinstance(found, dict):
                            extras |= {str(k): [str(i) for i in v] for k, v in found.items()}
                        else:
                            notes.append(f"{setup_py}: extras_require is computed")
    return install, extras, notes


def _cfg_list(value: str) -> list[str]:
    return [line.strip() for line in value.replace(";", "\n;").splitlines() if line.strip()]


def setup_python_requires(tree: Tree, directory: str) -> tuple[str, str] | None:
    """(specifier, where) of python_requires in setup.py or setup.cfg."""
    cfg_text = tree.text(join(directory, "setup.cfg"))
    if cfg_text:
        parser = configparser.ConfigParser(interpolation=None)
        try:
            parser.read_string(cfg_text)
            if parser.has_option("options", "python_requires"):
                return parser.get("options", "python_requires"), join(directory, "setup.cfg")
        except configparser.Error:
            pass
    syntax = parse(tree.text(join(directory, "setup.py")))
    if syntax is not None:
        for node in ast.walk(syntax):
            if isinstance(node, ast.Call) and dotted(node.func) in {"setup", "setuptools.setup"}:
                for keyword in node.keywords:
                    if keyword.arg == "python_requires" and isinstance(literal(keyword.value), str):
                        return literal(keyword.value), join(directory, "setup.py")
    return None


def _present(tree: Tree, directory: str) -> dict[str, bool]:
    pyproject = read_toml(tree, join(directory, "pyproject.toml"))
    poetry = pyproject.get("tool", {}).get("poetry", {})
    return {
        "uv.lock": tree.exists(join(directory, "uv.lock")),
        "poetry.lock": tree.exists(join(directory, "poetry.lock")),
        "poetry": bool(poetry.get("dependencies") or "package-mode" in poetry),
        "Pipfile": tree.exists(join(directory, "Pipfile")),
        "Pipfile.lock": tree.exists(join(directory, "Pipfile.lock")),
        "pep621": "dependencies" in pyproject.get("project", {}),
        "requirements": bool(requirement_files(tree, directory)),
        "setup": any(tree.exists(join(directory, n)) for n in ("setup.py", "setup.cfg")),
    }


def dependency_directory(tree: Tree, app_dir: str) -> str | None:
    """The nearest directory holding dependency files, from manage.py's up to the root."""
    directory = app_dir
    while True:
        if any(_present(tree, directory).values()):
            return directory
        if not directory:
            return None
        directory = parent(directory)


def detect_dependencies(
    tree: Tree,
    directory: str,
    requirements_choice: str | None = None,
    extras_choice: tuple[str, ...] = (),
) -> Dependencies | RequirementsChoice:
    """The dependency format of `directory` and what it says (or the question to ask)."""
    present = _present(tree, directory)
    at = f" in {directory}/" if directory else ""
    requirement_paths = requirement_files(tree, directory)
    requirements = None
    choice = None
    if present["requirements"]:
        choice = choose_requirements(requirement_paths, directory, requirements_choice)
        if choice.chosen:
            requirements = read_requirements(tree, choice.chosen)
    others = [name for name, found in present.items() if found]

    if present["uv.lock"]:
        found = _uv(tree, directory, f"uv.lock{at}: a uv project with its lock")
    elif present["poetry.lock"] or present["poetry"]:
        found = _poetry(tree, directory, present["poetry.lock"], at)
    elif present["Pipfile"]:
        found = _pipenv(tree, directory, present["Pipfile.lock"], at)
    elif requirements and requirements.pinned:
        found = _requirements(directory, requirements, choice, pinned=True)
    elif present["pep621"]:
        found = _pep621(tree, directory, at)
    elif requirements:
        found = _requirements(directory, requirements, choice, pinned=False)
    elif present["requirements"] and choice is not None:
        return choice  # a question: which requirements file
    elif present["setup"]:
        found = _setup(tree, directory, extras_choice, at)
    else:
        raise AssertionError("dependency_directory found none")
    found.alternatives = [
        other
        for other in others
        if other not in _formats_used(found.format)
        and not (other == "requirements" and found.sources)
    ]
    return found


def _formats_used(format_name: str) -> set[str]:
    return {
        "uv": {"uv.lock", "pep621"},
        "poetry": {"poetry", "poetry.lock", "pep621"},
        "pipenv": {"Pipfile", "Pipfile.lock"},
        "pep621": {"pep621"},
        "requirements": {"requirements"},
        "setup": {"setup"},
    }[format_name]


def _uv(tree: Tree, directory: str, reason: str) -> Dependencies:
    from djship.dependencies.lockfiles import parse_uv_lock

    lock = join(directory, "uv.lock")
    pyproject = join(directory, "pyproject.toml")
    found = Dependencies("uv", directory, [pyproject, lock], reason, lock_file=lock)
    try:
        pinned = parse_uv_lock(tree.text(lock) or "")
    except (tomllib.TOMLDecodeError, KeyError):
        found.notes.append(f"{lock} cannot be read")
        pinned = []
    found.names = {p.name for p in pinned}
    found.django = next((p.version for p in pinned if p.name == "django"), None)
    found.package_mode = "build-system" in read_toml(tree, pyproject)
    return found


def _poetry(tree: Tree, directory: str, locked: bool, at: str) -> Dependencies:
    pyproject_path = join(directory, "pyproject.toml")
    pyproject = read_toml(tree, pyproject_path)
    poetry = pyproject.get("tool", {}).get("poetry", {})
    lock = join(directory, "poetry.lock")
    package_mode = poetry.get("package-mode", True)
    mode = " (package-mode = false: an application)" if package_mode is False else ""
    reason = (
        f"pyproject.toml with [tool.poetry] and poetry.lock{at}{mode}"
        if locked
        else f"pyproject.toml with [tool.poetry]{at}, no poetry.lock{mode}"
    )
    files = [pyproject_path, *([lock] if locked else [])]
    found = Dependencies("poetry", directory, files, reason, lock if locked else None)
    found.package_mode = package_mode is not False
    direct = {canonicalize_name(n) for n in poetry.get("dependencies", {}) if n != "python"}
    project_specs = pyproject.get("project", {}).get("dependencies", [])
    direct |= _names_of_specs(project_specs)
    found.names = set(direct)
    declared = poetry.get("dependencies", {}).get("django") or poetry.get("dependencies", {}).get(
        "Django"
    )
    found.django = _poetry_constraint(declared) or _spec_of(project_specs, "django")
    if locked:
        try:
            packages = poetry_lock_packages(tree.text(lock) or "")
        except (tomllib.TOMLDecodeError, KeyError):
            found.notes.append(f"{lock} cannot be read")
            packages = []
        found.names |= {name for name, _, _ in packages}
        found.django = next((v for n, v, _ in packages if n == "django"), found.django)
    return found


def _poetry_constraint(value: object) -> str | None:
    if isinstance(value, dict):
        value = value.get("version")
    if not isinstance(value, str):
        return None
    return poetry_specifier(value)


def poetry_specifier(value: str) -> str | None:
    """A Poetry constraint (^3.11, ~3.11, 3.11.*, >=3.9,<4) as a PEP 440 specifier."""
    parts = []
    for piece in re.split(r"\s*,\s*|\s+(?=[<>=!~^])", value.strip()):
        piece = piece.strip()
        if not piece or piece == "*":
            continue
        if piece.startswith("^"):
            numbers = [int(n) for n in re.findall(r"\d+", piece)]
            if not numbers:
                return None
            upper = _caret_upper(numbers)
            parts += [f">={piece[1:]}", f"<{upper}"]
        elif piece.startswith("~") and not piece.startswith("~="):
            numbers = [int(n) for n in re.findall(r"\d+", piece)]
            if not numbers:
                return None
            upper = f"{numbers[0]}.{numbers[1] + 1}" if len(numbers) > 1 else f"{numbers[0] + 1}"
            parts += [f">={piece[1:]}", f"<{upper}"]
        elif piece[0].isdigit():
            parts.append(f"=={piece}")
        else:
            parts.append(piece)
    try:
        return str(SpecifierSet(",".join(parts))) if parts else ""
    except InvalidSpecifier:
        return None


def _caret_upper(numbers: list[int]) -> str:
    for index, number in enumerate(numbers):
        if number != 0 or index == len(numbers) - 1:
            bumped = numbers[:index] + [number + 1]
            return ".".join(str(n) for n in bumped)
    return str(numbers[0] + 1)


def _pipenv(tree: Tree, directory: str, locked: bool, at: str) -> Dependencies:
    pipfile_path = join(directory, "Pipfile")
    lock = join(directory, "Pipfile.lock")
    reason = f"Pipfile and Pipfile.lock{at}" if locked else f"Pipfile{at}, no Pipfile.lock"
    files = [pipfile_path, *([lock] if locked else [])]
    found = Dependencies("pipenv", directory, files, reason, lock if locked else None)
    pipfile = read_toml(tree, pipfile_path)
    found.names = {canonicalize_name(n) for n in pipfile.get("packages", {})}
    declared = {canonicalize_name(k): v for k, v in pipfile.get("packages", {}).items()}
    value = declared.get("django")
    if isinstance(value, dict):
        value = value.get("version")
    found.django = value if isinstance(value, str) and value != "*" else None
    if locked:
        try:
            data = json.loads(tree.text(lock) or "{}")
        except json.JSONDecodeError:
            found.notes.append(f"{lock} is not valid JSON")
            data = {}
        default = {canonicalize_name(k): v for k, v in data.get("default", {}).items()}
        found.names |= set(default)
        version = default.get("django", {}).get("version", "")
        found.django = version.removeprefix("==") or found.django
    return found


def _pep621(tree: Tree, directory: str, at: str) -> Dependencies:
    pyproject = join(directory, "pyproject.toml")
    specs = read_toml(tree, pyproject).get("project", {}).get("dependencies", [])
    found = Dependencies(
        "pep621",
        directory,
        [pyproject],
        f"pyproject.toml with [project] dependencies{at} and no lock",
    )
    found.names = _names_of_specs(specs)
    found.django = _spec_of(specs, "django")
    found.package_mode = "build-system" in read_toml(tree, pyproject)
    if tree.exists(join(directory, "pdm.lock")):
        found.notes.append("pdm.lock is not read by djship: uv locks the [project] table anew")
    return found


def _requirements(
    directory: str, requirements: Requirements, choice: RequirementsChoice | None, pinned: bool
) -> Dependencies:
    chosen = requirements.files[0]
    includes = f" (with {', '.join(requirements.files[1:])})" if requirements.files[1:] else ""
    state = "every line pinned" if pinned else "not every line pinned: no lock"
    why = choice.reason if choice else ""
    found = Dependencies(
        "requirements",
        directory,
        list(requirements.files),
        f"{chosen}{includes}: {why}; {state}",
    )
    found.names = set(requirements.names)
    found.django = requirements.django
    found.sources = [chosen]
    for line in requirements.editable:
        found.notes.append(
            f"{line}: installs the project itself; the images copy the code instead "
            "(the line is kept out of djship's lock)"
        )
    for line in requirements.urls:
        found.notes.append(f"{line}: a URL requirement; hashes may not be computable for it")
    for line in requirements.options:
        found.notes.append(f"{line}: an index option; the lock container uses it as pip would")
    return found


def _setup(tree: Tree, directory: str, extras_choice: tuple[str, ...], at: str) -> Dependencies:
    install, extras, notes = setup_requirements(tree, directory)
    source = join(directory, "setup.py") if tree.exists(join(directory, "setup.py")) else ""
    source = source or join(directory, "setup.cfg")
    files = [
        p for p in (join(directory, "setup.py"), join(directory, "setup.cfg")) if tree.exists(p)
    ]
    chosen = list(extras_choice) or sorted(e for e in extras if e.lower() in SERVING_EXTRAS)
    found = Dependencies(
        "setup",
        directory,
        files,
        f"{' and '.join(files)}{at}: install_requires"
        + (f" with the extras {', '.join(chosen)}" if chosen else ""),
    )
    found.extras = chosen
    found.sources = [source]
    specs = install + [spec for extra in chosen for spec in extras.get(extra, [])]
    found.names = _names_of_specs(specs)
    found.django = _spec_of(specs, "django")
    found.notes += notes
    skipped = sorted(set(extras) - set(chosen))
    if skipped:
        found.notes.append(
            f"extras left out: {', '.join(skipped)} (add them with --extra NAME)"
            if not extras_choice
            else f"extras left out: {', '.join(skipped)}"
        )
    unknown = sorted(set(extras_choice) - set(extras))
    if unknown:
        found.notes.append(f"--extra {', '.join(unknown)}: not among {sorted(extras) or 'none'}")
    return found


def django_series(django: str | None) -> tuple[int, int] | None:
    """The newest Django series (major, minor) a version or specifier allows."""
    if not django:
        return None
    try:
        version = Version(django)
        return version.major, version.minor
    except InvalidVersion:
        pass
    try:
        specifier = SpecifierSet(django)
    except InvalidSpecifier:
        return None
    for series in sorted(DJANGO_PYTHON, reverse=True):
        if specifier.contains(f"{series[0]}.{series[1]}.99") or specifier.contains(
            f"{series[0]}.{series[1]}"
        ):
            return series
    return None


# The newest Python each Django series supports (Django's own FAQ).
DJANGO_PYTHON = {
    (2, 2): (3, 9), (3, 0): (3, 9), (3, 1): (3, 9), (3, 2): (3, 10), (4, 0): (3, 10),
    (4, 1): (3, 11), (4, 2): (3, 12), (5, 0): (3, 12), (5, 1): (3, 13), (5, 2): (3, 14),
    (6, 0): (3, 14),
}  # fmt: skip

"""Target platforms of the images and which wheels fit them, read from the wheel tags.

A wheel fits when one of its tags is among the tags the target's pip would accept: CPython
version and ABI, manylinux glibc version (or musllinux), CPU architecture.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

from packaging.tags import Tag, compatible_tags, cpython_tags
from packaging.utils import InvalidWheelFilename, parse_wheel_filename

from djship.errors import DjshipError


@dataclass(frozen=True)
class Target:
    """What an image offers: its base distribution, Python, C library and architecture."""

    base: str  # "debian" or "alpine": which package names apply
    python: tuple[int, int]
    libc: str  # "glibc" or "musl"
    libc_version: tuple[int, int]
    arch: str = "x86_64"

    @property
    def platforms(self) -> list[str]:
        """Platform tags, most specific first, as pip computes them."""
        major, newest = self.libc_version
        if self.libc == "musl":
            return [f"musllinux_{major}_{minor}_{self.arch}" for minor in range(newest, -1, -1)]
        tags = [f"manylinux_{major}_{minor}_{self.arch}" for minor in range(newest, 4, -1)]
        legacy = {17: "manylinux2014", 12: "manylinux2010", 5: "manylinux1"}
        for minor, alias in legacy.items():
            if minor <= newest:
                tags.append(f"{alias}_{self.arch}")
        return tags

    @cached_property
    def tags(self) -> frozenset[Tag]:
        return frozenset(
            [
                *cpython_tags(self.python, platforms=self.platforms),
                *compatible_tags(
                    self.python, f"cp{self.python[0]}{self.python[1]}", self.platforms
                ),
            ]
        )

    def fits(self, filename: str) -> bool:
        """Whether the wheel `filename` installs on this target."""
        try:
            _, _, _, wheel_tags = parse_wheel_filename(filename)
        except InvalidWheelFilename:
            return False
        return not wheel_tags.isdisjoint(self.tags)

    def describe(self) -> str:
        libc = f"{self.libc} {self.libc_version[0]}.{self.libc_version[1]}"
        return f"CPython {self.python[0]}.{self.python[1]}, {libc}, {self.arch} ({self.base})"


# The official python:3.13-slim is Debian 13 (glibc 2.41); python:3.13-alpine is musl 1.2.
TARGETS = {
    "debian": Target(base="debian", python=(3, 13), libc="glibc", libc_version=(2, 41)),
    "alpine": Target(base="alpine", python=(3, 13), libc="musl", libc_version=(1, 2)),
}
ARCHITECTURES = ("x86_64", "aarch64")


def target_for(base: str, arch: str = "x86_64") -> Target:
    if base not in TARGETS:
        raise DjshipError(f"unknown base {base!r}; choose one of: {', '.join(TARGETS)}")
    if arch not in ARCHITECTURES:
        raise DjshipError(
            f"unknown architecture {arch!r}; choose one of: {', '.join(ARCHITECTURES)}"
        )
    base_target = TARGETS[base]
    return Target(
        base_target.base, base_target.python, base_target.libc, base_target.libc_version, arch
    )

"""Plain `docker` commands (images, containers, volumes, Swarm objects), decided as Command
objects for one engine: the local one, or another named like DOCKER_HOST (a Swarm manager)."""

from __future__ import annotations

from dataclasses import dataclass

from djship.engine.runner import Command


@dataclass(frozen=True)
class Docker:
    """Commands for one engine. `host` is a DOCKER_HOST value (unix://, tcp://, ssh://) or
    None for whatever the environment selects (the local engine, a docker context...)."""

    host: str | None = None

    def command(self, *args: str) -> Command:
        return Command(["docker", *args], env={"DOCKER_HOST": self.host} if self.host else {})

    def inspect(self, kind: str, *names: str) -> Command:
        return self.command(kind, "inspect", *names)

    def image_id(self, image: str) -> Command:
        return self.command("image", "inspect", "-f", "{{.Id}}", image)

    def tag(self, source: str, target: str) -> Command:
        return self.command("image", "tag", source, target)

    def push(self, image: str) -> Command:
        return self.command("image", "push", image)

    def pull(self, image: str) -> Command:
        return self.command("image", "pull", image)

    def images(self, *filters: str) -> Command:
        flags = [arg for label in filters for arg in ("--filter", f"label={label}")]
        return self.command("image", "ls", "--no-trunc", "--format", "{{json .}}", *flags)

    def run(self, image: str, *argv: str, network: str = "none", env: dict | None = None):
        """A throwaway container of `image` (its entry point kept), output captured."""
        flags = [arg for key, value in (env or {}).items() for arg in ("-e", f"{key}={value}")]
        return self.command("run", "--rm", "--network", network, *flags, image, *argv)

    def build_labels(self, base: str, target: str, labels: dict[str, str]) -> Command:
        """`target` = `base` plus labels: a build with no context, one metadata step."""
        flags = [arg for key, value in labels.items() for arg in ("--label", f"{key}={value}")]
        return self.command("build", "--quiet", "--tag", target, *flags, "-")

    def objects(self, kind: str, *labels: str) -> Command:
        """Names of volumes, configs, secrets or containers carrying every label given."""
        flags = [arg for label in labels for arg in ("--filter", f"label={label}")]
        all_flag = ["--all"] if kind == "container" else []
        return self.command(kind, "ls", *all_flag, "--quiet", *flags)

    def exec(self, container: str, *argv: str, stdin: bool = False) -> Command:
        return self.command("exec", *(["-i"] if stdin else []), container, *argv)

    def swarm_state(self) -> Command:
        return self.command("info", "--format", "{{json .Swarm}}")

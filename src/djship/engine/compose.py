"""The `docker compose` commands djship runs, decided as plain data (Command objects).

Each one is what a user would type by hand in the project directory, so `djship` never does
anything plain Compose cannot: it only picks the files of the environment and the flags.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass

from djship.engine.runner import Command
from djship.project.layout import DEFAULT_ENVIRONMENT, Project
from djship.project.tls import stapling_environment

WEB_SERVICE = "web"
PROXY_SERVICE = "proxy"
LOCK_SERVICE = "lock"
LOCK_ENVIRONMENT = "dev"
FORWARDED_PREFIX = "DJANGO_SUPERUSER_"  # the lock tool lives in the dev image's `tools` stage


@dataclass(frozen=True)
class Compose:
    """Compose commands for one project in one environment."""

    project: Project
    environment: str
    plain: bool = False

    def command(self, *args: str, override: bool = False) -> Command:
        """`override`: one more file, read from stdin (`-f -`), for a one-off change."""
        files = [arg for f in self.project.compose_files(self.environment) for arg in ("-f", f)]
        files += ["-f", "-"] if override else []
        progress = ["--progress", "plain"] if self.plain else []
        env = stapling_environment(self.project) if self.environment != DEFAULT_ENVIRONMENT else {}
        argv = ["docker", "compose", *progress, *files, *args]
        return Command(argv, cwd=self.project.root, env=env)

    def config_json(self) -> Command:
        return self.command("config", "--format", "json")

    def build(self, *services: str) -> Command:
        return self.command("build", *services)

    def up(self) -> Command:
        # Detached: djship then waits for health itself, showing progress. --no-build: the
        # build step ran before (or was skipped on purpose).
        return self.command("up", "--detach", "--no-build", "--remove-orphans")

    def start(self, *services: str, no_deps: bool = False) -> Command:
        """Start services that are not running yet; running ones are left as they are.

        `no_deps`: leave the services they depend on alone (Compose would otherwise bring
        them back to their configured scale, removing a container started beside).
        """
        flags = ["--no-deps"] if no_deps else []
        return self.command("up", "--detach", "--no-build", "--no-recreate", *flags, *services)

    def scale(self, service: str, count: int, *, start: bool = True) -> Command:
        """`count` containers of `service`, existing ones kept: a new one is created beside
        them, by Compose from the service's own definition (and left stopped: `start`)."""
        return self.command(
            "up", "--detach", "--no-build", "--no-deps", "--no-recreate",
            *([] if start else ["--no-start"]), "--scale", f"{service}={count}", service,
        )  # fmt: skip

    def run(self, service: str, argv: list[str]) -> Command:
        """A one-off container of `service` (its image, environment, secrets, network)."""
        return self.command("run", "--rm", "--no-deps", "-T", service, *argv)

    def run_image(self, service: str, image: str, argv: list[str]) -> tuple[Command, str]:
        """A one-off container of `service` running another image (a release not live yet):
        the command, and the override it reads on stdin. Nothing else of the service changes."""
        override = json.dumps({"services": {service: {"image": image}}})
        command = self.command("run", "--rm", "--no-deps", "-T", service, *argv, override=True)
        return command, override

    def container_ids(self, service: str, status: str = "running") -> Command:
        return self.command("ps", "--all", "--quiet", "--status", status, service)

    def ps(self) -> Command:
        return self.command("ps", "--all")

    def ps_json(self) -> Command:
        return self.command("ps", "--all", "--format", "json")

    def running_services(self) -> Command:
        return self.command("ps", "--status", "running", "--services")

    def logs(
        self,
        services: tuple[str, ...] = (),
        follow: bool = False,
        tail: str = "",
        since: str = "",
        timestamps: bool = True,
    ) -> Command:
        """Timestamped and uncoloured: djship merges the services' lines in time order."""
        flags = ["--no-color"] + (["--timestamps"] if timestamps else [])
        flags += (["--follow"] if follow else []) + ([f"--tail={tail}"] if tail else [])
        flags += [f"--since={since}"] if since else []
        return self.command("logs", *flags, *services)

    def down(self, volumes: bool = False) -> Command:
        return self.command("down", *(["--volumes"] if volumes else []), "--remove-orphans")

    def port(self, service: str = PROXY_SERVICE, container_port: int = 80) -> Command:
        return self.command("port", service, str(container_port))

    def manage(
        self, args: tuple[str, ...], running: bool, tty: bool, forward: tuple[str, ...] = ()
    ) -> Command:
        """`python manage.py ARGS` in the web container: exec when it runs, else a one-off.

        `forward` names host variables passed through by name (value not on the command
        line), such as DJANGO_SUPERUSER_PASSWORD for `createsuperuser --noinput`.
        """
        flags = ([] if tty else ["-T"]) + [arg for name in forward for arg in ("-e", name)]
        manage = ["python", "manage.py", *args]
        if running:
            return self.command("exec", *flags, WEB_SERVICE, *manage)
        return self.command("run", "--rm", *flags, WEB_SERVICE, *manage)

    def shell_in(self, service: str, script: str) -> Command:
        """A shell script run in a service's running container, stdin attached, no TTY."""
        return self.command("exec", "-T", service, "sh", "-c", script)

    def proxy_script(self, script: str) -> Command:
        """A script in the proxy as root: nginx's own files (its master runs as root)."""
        return self.command("exec", "-T", "--user", "0", PROXY_SERVICE, "sh", "-c", script)

    def lock(self) -> Command:
        """Refresh the lock file in the `lock` service (tools stage), writing it to the host."""
        return self.command("run", "--rm", "--build", "-T", LOCK_SERVICE)


def for_lock(project: Project, plain: bool) -> Compose:
    """Locking always runs with the dev files, whichever environment is current."""
    return Compose(project, project.resolve_environment(LOCK_ENVIRONMENT), plain)


def forwarded_variables(environ: dict[str, str]) -> tuple[str, ...]:
    """Host variables `manage` passes into the container: Django's createsuperuser ones."""
    return tuple(sorted(name for name in environ if name.startswith(FORWARDED_PREFIX)))


def stdin_is_tty() -> bool:
    return os.isatty(0)

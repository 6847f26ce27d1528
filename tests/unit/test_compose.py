from pathlib import Path

from djship.engine.compose import Compose, for_lock, forwarded_variables
from djship.project.layout import Project


def project(tmp_path: Path) -> Project:
    for env in ("dev", "prod"):
        (tmp_path / "environments" / env).mkdir(parents=True)
        (tmp_path / "environments" / env / "compose.yaml").write_text("services: {}\n")
    (tmp_path / "compose.yaml").write_text("services: {}\n")
    (tmp_path / ".env").write_text("COMPOSE_FILE=compose.yaml:environments/prod/compose.yaml\n")
    return Project(tmp_path)


FILES_PROD = ["-f", "compose.yaml", "-f", "environments/prod/compose.yaml"]


def test_commands_name_the_environment_files_and_run_in_the_project(tmp_path):
    compose = Compose(project(tmp_path), "prod")
    command = compose.up()
    assert command.argv == [
        "docker",
        "compose",
        *FILES_PROD,
        "up",
        "--detach",
        "--no-build",
        "--remove-orphans",
    ]
    assert command.cwd == tmp_path


def test_plain_mode_asks_compose_for_plain_progress(tmp_path):
    argv = Compose(project(tmp_path), "prod", plain=True).build().argv
    assert argv[:4] == ["docker", "compose", "--progress", "plain"]


def test_down_keeps_volumes_unless_asked(tmp_path):
    compose = Compose(project(tmp_path), "prod")
    assert "--volumes" not in compose.down().argv
    assert "--volumes" in compose.down(volumes=True).argv


def test_manage_execs_in_a_running_container(tmp_path):
    argv = Compose(project(tmp_path), "prod").manage(("migrate",), running=True, tty=True).argv
    assert argv[-5:] == ["exec", "web", "python", "manage.py", "migrate"]


def test_manage_runs_a_one_off_container_otherwise_without_tty_when_piped(tmp_path):
    argv = Compose(project(tmp_path), "prod").manage(("check",), running=False, tty=False).argv
    assert argv[-7:] == ["run", "--rm", "-T", "web", "python", "manage.py", "check"]


def test_manage_forwards_variables_by_name_never_by_value(tmp_path):
    compose = Compose(project(tmp_path), "prod")
    argv = compose.manage(
        ("createsuperuser", "--noinput"), True, False, ("DJANGO_SUPERUSER_PASSWORD",)
    ).argv
    assert argv[argv.index("-e") : argv.index("-e") + 2] == ["-e", "DJANGO_SUPERUSER_PASSWORD"]
    assert not any("=" in arg for arg in argv)


def test_forwarded_variables_are_the_createsuperuser_ones():
    environ = {"DJANGO_SUPERUSER_PASSWORD": "x", "DJANGO_SUPERUSER_USERNAME": "a", "HOME": "/root"}
    assert forwarded_variables(environ) == (
        "DJANGO_SUPERUSER_PASSWORD",
        "DJANGO_SUPERUSER_USERNAME",
    )


def test_lock_always_uses_the_dev_files_and_rebuilds_the_tools_stage(tmp_path):
    compose = for_lock(project(tmp_path), plain=False)
    assert compose.environment == "dev"
    assert compose.lock().argv[-5:] == ["run", "--rm", "--build", "-T", "lock"]


def test_logs_flags(tmp_path):
    compose = Compose(project(tmp_path), "prod")
    argv = compose.logs(("web",), follow=True, tail="20", since="10m").argv
    assert argv[-7:] == [
        "logs", "--no-color", "--timestamps", "--follow", "--tail=20", "--since=10m", "web",
    ]  # fmt: skip
    assert "--timestamps" not in compose.logs(timestamps=False).argv


def test_a_new_container_starts_beside_the_live_one(tmp_path):
    command = Compose(project(tmp_path), "prod").scale("web", 2)
    assert command.argv[len(FILES_PROD) + 2 :] == [
        "up", "--detach", "--no-build", "--no-deps", "--no-recreate", "--scale", "web=2", "web",
    ]  # fmt: skip


def test_starting_the_proxy_leaves_the_web_containers_alone(tmp_path):
    compose = Compose(project(tmp_path), "prod")
    assert "--no-deps" in compose.start("proxy", no_deps=True).argv
    assert "--no-deps" not in compose.start().argv


def test_a_one_off_of_another_release_overrides_only_the_image(tmp_path):
    import json

    command, override = Compose(project(tmp_path), "prod").run_image("web", "p-web:v2", ["true"])
    assert command.argv[2 : 2 + len(FILES_PROD) + 2] == [*FILES_PROD, "-f", "-"]
    assert command.argv[-6:] == ["run", "--rm", "--no-deps", "-T", "web", "true"]
    assert json.loads(override) == {"services": {"web": {"image": "p-web:v2"}}}


def test_the_compose_file_that_is_not_yaml_is_named(tmp_path):
    from djship.engine.running import first_unparsable

    shop = project(tmp_path)
    files = shop.compose_files("prod")
    assert first_unparsable(tmp_path, files) is None
    (tmp_path / "environments" / "prod" / "compose.yaml").write_text("services:\n\tweb: {\n")
    assert first_unparsable(tmp_path, files) == files[1]

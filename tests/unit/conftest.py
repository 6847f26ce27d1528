import pytest

from djship.project.locking import TOOLS
from djship.scaffold.render import ProjectOptions, render_project


def options_for(lock: str = "uv", **overrides) -> ProjectOptions:
    values = dict(
        name="shop",
        lock=TOOLS[lock],
        secret_key="k" * 30 + "abcdefghijklmnopqrstuvwxyz0123456789",
        db_password="dbpass123",
        uid=1234,
        gid=2345,
        http_port=8123,
    )
    values.update(overrides)
    return ProjectOptions(**values)


@pytest.fixture(params=sorted(TOOLS))
def lock_name(request) -> str:
    return request.param


@pytest.fixture
def rendered(lock_name) -> dict[str, str]:
    return render_project(options_for(lock_name))

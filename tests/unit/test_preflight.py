import socket

import pytest

from djship.engine.preflight import (
    check_ports,
    compose_version_ok,
    other_checkouts,
    parse_docker_ports,
    port_is_free,
    published_ports,
)
from djship.errors import DjshipError


@pytest.mark.parametrize(
    ("text", "ok"),
    [
        ("2.40.3", True),
        ("v2.29.1-desktop.1", True),
        ("5.0.0", True),
        ("1.29.2", False),
        ("", False),
    ],
)
def test_compose_version(text, ok):
    assert compose_version_ok(text) is ok


CONFIG = {
    "services": {
        "proxy": {"ports": [{"host_ip": "127.0.0.1", "published": "8123", "target": 80}]},
        "web": {"ports": [{"target": 8000}]},
        "db": {},
    }
}


def test_published_ports_from_compose_config():
    assert published_ports(CONFIG) == [("127.0.0.1", 8123, "proxy")]


def test_docker_ps_ports_column():
    text = "127.0.0.1:8000->80/tcp, 0.0.0.0:8443->443/tcp\n5432/tcp\n:::9000->9000/tcp\n"
    assert parse_docker_ports(text) == [8000, 8443, 9000]


@pytest.fixture
def taken_port():
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        yield holder.getsockname()[1]


def test_a_taken_port_is_detected(taken_port):
    assert not port_is_free("127.0.0.1", taken_port)


def test_a_taken_port_stops_up_with_a_clear_error(taken_port):
    config = {"services": {"proxy": {"ports": [{"host_ip": "127.0.0.1", "published": taken_port}]}}}
    with pytest.raises(DjshipError, match=f"port {taken_port} on 127.0.0.1 is already taken"):
        check_ports(config, ours=[])


def test_a_port_held_by_the_project_itself_is_fine(taken_port):
    config = {"services": {"proxy": {"ports": [{"host_ip": "127.0.0.1", "published": taken_port}]}}}
    check_ports(config, ours=[taken_port])


def test_an_address_not_of_this_machine_is_named_with_the_setting_to_change():
    with pytest.raises(DjshipError) as caught:
        port_is_free("10.255.255.1", 8000)  # TEST-NET-like: no interface of a CI machine has it
    assert "10.255.255.1 is no address of this machine" in caught.value.message
    assert "PUBLISH_ADDRESS" in caught.value.hint


def test_containers_of_another_directory_are_told_apart(tmp_path):
    mine, other = tmp_path / "shop", tmp_path / "copy" / "shop"
    mine.mkdir()
    labels = f"{mine}\n{other}\n{other}\n\n{tmp_path}/./shop\n"
    assert other_checkouts(labels, mine) == [str(other)]
    assert other_checkouts(f"{mine}\n", mine) == []
    assert other_checkouts("", mine) == []  # no container yet: nothing to protect


@pytest.mark.parametrize("value", ["99999", "0", "abc", "-5"])
def test_a_port_setting_that_is_no_port_is_named_with_its_line(tmp_path, value):
    from djship.engine.preflight import check_port_settings
    from tests.unit.test_compose import project

    shop = project(tmp_path)
    (tmp_path / ".env").write_text(f"COMPOSE_PROJECT_NAME=shop\nHTTP_PORT={value}\n")
    with pytest.raises(DjshipError) as caught:
        check_port_settings(shop)
    assert caught.value.message == f".env, line 2: HTTP_PORT={value} is not a port (1 to 65535)"

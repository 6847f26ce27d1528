"""`djship logs`: Compose's lines merged in time order, filtered by text or by request id."""

import json

from djship.engine.logs import matches, merged, parse, render

REQUEST = "0f" * 16
RAW = [
    # Compose prints service after service; each batch is in its own order.
    f'web-1    | 2026-12-02T05:19:55.2Z {{"log":"request","status":404,"request_id":"{REQUEST}"}}'
    "\n",
    'web-1    | 2026-12-02T05:19:55.19Z {"log":"uwsgi","message":"Not Found: /missing"}\n',
    f'proxy-1  | 2026-12-02T05:19:55.210000001Z {{"log":"access","request_id":"{REQUEST}"}}\n',
    "proxy-1  | 2026-12-02T05:19:50.000000000Z /docker-entrypoint.sh: ready for start up\n",
    "db-1     | 2026-12-02T05:19:56.5Z LOG:  checkpoint starting: time\n",
    "\n",
    "web-2 | not a log line\n",
]


def test_lines_are_parsed_with_their_container_and_service():
    line = parse(RAW[0])
    assert line.container == "web-1" and line.service == "web"
    assert line.time == "2026-12-02T05:19:55.200000000Z"
    assert line.fields["status"] == 404
    assert parse("\n") is None and parse("web-2 | not a log line") is None
    assert parse("my-app_web-12 | 2026-12-02T05:19:55Z x").service == "my-app_web"


def test_services_are_merged_in_time_order_whatever_the_fraction_width():
    times = [line.time[11:23] for line in merged(RAW)]
    assert times == sorted(times)
    assert [line.service for line in merged(RAW)] == ["proxy", "web", "web", "proxy", "db"]


def test_one_request_is_followed_through_the_proxy_and_the_app():
    found = [line for line in merged(RAW) if matches(line, request=REQUEST)]
    assert [line.service for line in found] == ["web", "proxy"]
    other = parse(f'web-1 | 2026-12-02T05:19:55Z {{"request_id":"{REQUEST[:-1]}x"}}')
    assert not matches(other, request=REQUEST)
    django = parse(f"web-1 | 2026-12-02T05:19:55Z WARNING [{REQUEST}] Not Found")
    assert matches(django, request=REQUEST)  # plain text that names the id


def test_grep_is_case_insensitive_and_combines_with_the_request():
    lines = merged(RAW)
    assert [line.service for line in lines if matches(line, grep="CHECKPOINT")] == ["db"]
    assert [line for line in lines if matches(line, grep="access", request=REQUEST)]


def test_rendering_for_people_and_for_tools():
    line = parse(RAW[0])
    assert render(line).startswith("2026-12-02T05:19:55.200Z web-1    | {")
    record = json.loads(render(line, as_json=True))
    assert record["service"] == "web" and record["fields"]["request_id"] == REQUEST
    plain = json.loads(render(parse(RAW[4]), as_json=True))
    assert plain["text"].startswith("LOG:") and "fields" not in plain

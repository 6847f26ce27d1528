import pytest

from djship.errors import DjshipError
from djship.project.envfile import EnvFileError, parse_env, read_env, set_value


def values(text: str) -> dict[str, str]:
    return {key: entry.value for key, entry in parse_env(text).items()}


def test_reads_keys_values_comments_and_blank_lines():
    text = "# comment\n\nA=1\nB=two words\nEMPTY=\nURL=postgres://u:p@db/x?a=b\n"
    assert values(text) == {
        "A": "1",
        "B": "two words",
        "EMPTY": "",
        "URL": "postgres://u:p@db/x?a=b",
    }


def test_inline_comment_after_whitespace_is_dropped_like_compose_does():
    assert values("A=value  # why\nB=pass#word\n") == {"A": "value", "B": "pass#word"}


def test_windows_line_endings_are_accepted():
    assert values("A=1\r\nB=2\r\n") == {"A": "1", "B": "2"}


def test_entries_remember_their_line():
    assert parse_env("# x\n\nA=1\n")["A"].line == 3


@pytest.mark.parametrize(
    ("text", "line", "reason"),
    [
        ('A=1\nSECRET="abc"\n', 2, "quoted"),
        ("A='abc'\n", 1, "quoted"),
        ("export A=1\n", 1, "'export' is shell syntax"),
        ("A=1\njust some words\n", 2, "expected KEY=value"),
        ("A = 1\n", 1, "no spaces around '='"),
        ("A= 1\n", 1, "no spaces around '='"),
        ("1A=1\n", 1, "not a valid variable name"),
        ("MY-KEY=1\n", 1, "not a valid variable name"),
        ("A=1\nB=2\nA=3\n", 3, "already set on line 1"),
    ],
)
def test_bad_lines_are_refused_with_their_number_and_reason(text, line, reason):
    with pytest.raises(EnvFileError) as caught:
        parse_env(text, source=".env")
    assert caught.value.line == line
    assert reason in caught.value.message
    assert caught.value.message.startswith(f".env, line {line}: ")


def test_missing_file_is_a_clear_error(tmp_path):
    with pytest.raises(DjshipError, match="missing"):
        read_env(tmp_path / ".env")


def test_set_value_replaces_in_place_and_keeps_comments():
    text = "# head\nA=1\n# keep\nB=2\n"
    assert set_value(text, "A", "9") == "# head\nA=9\n# keep\nB=2\n"


def test_set_value_appends_a_new_key():
    assert set_value("A=1", "B", "2") == "A=1\nB=2\n"


def test_a_byte_order_mark_is_named_as_the_cause():
    with pytest.raises(EnvFileError) as caught:
        parse_env("\ufeffCOMPOSE_PROJECT_NAME=shop\n")
    assert "byte-order mark" in str(caught.value) and "doctor --fix" in str(caught.value)

"""The one layer that runs commands: streaming output without stalling, failures in the
command's own words."""

from __future__ import annotations

import sys

import pytest

from djship.engine.runner import Command, lines
from djship.errors import DjshipError


def python(code: str) -> Command:
    return Command([sys.executable, "-c", code])


def test_lines_stream_even_when_stderr_fills_a_pipe_first():
    # 200 KB on stderr before any stdout: a pipe read only at the end would stall here.
    command = python("import sys; sys.stderr.write('x' * 200_000); print('a'); print('b')")
    assert list(lines(command)) == ["a\n", "b\n"]


def test_a_failing_stream_raises_with_the_commands_last_words():
    command = python("import sys; print('out'); sys.stderr.write('boom\\n'); sys.exit(3)")
    with pytest.raises(DjshipError, match="failed: boom"):
        list(lines(command))

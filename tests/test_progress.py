"""Progress: silent for library callers, plain lines in logs, a spinner at a terminal."""

import inspect
import io
import re

import pytest

from custvalue.progress import SILENT, LineProgress, Progress, TerminalProgress, for_stream
from tests.test_contract import VALID, write_world

FINISHED = re.compile(r"^(?P<title>[^:]+)(: (?P<detail>.+))? \((?P<seconds>\d+\.\d) s\)$")


class Terminal(io.StringIO):
    def isatty(self):
        return True


def run_steps(progress: Progress) -> None:
    progress.say("reads  raw        /somewhere")
    with progress.step("validate orders") as step:
        step.detail = "3 rows, 2 accepted, 1 rejected"
    with progress.step("review"):
        pass


def test_plain_lines_one_per_step_in_order_without_control_characters():
    stream = io.StringIO()
    run_steps(LineProgress(stream))
    lines = stream.getvalue().splitlines()
    assert lines[0] == "reads  raw        /somewhere"
    first, second = (FINISHED.match(line) for line in lines[1:])
    assert (first["title"], first["detail"]) == ("validate orders", "3 rows, 2 accepted, 1 rejected")
    assert (second["title"], second["detail"]) == ("review", None)
    assert "\r" not in stream.getvalue() and "\x1b" not in stream.getvalue()


def test_a_failed_step_is_not_reported_as_finished_and_its_error_goes_on():
    stream = io.StringIO()
    with pytest.raises(ValueError, match="boom"):
        with LineProgress(stream).step("lifetime value"):
            raise ValueError("boom")
    assert stream.getvalue() == ""


def test_a_terminal_gets_the_same_lines_beside_its_spinner():
    stream = Terminal()
    progress = for_stream(stream)
    assert isinstance(progress, TerminalProgress)
    run_steps(progress)
    text = re.sub(r"\x1b\[[0-9;?]*[a-zA-Z]", "", stream.getvalue()).replace("\r", "")
    assert "validate orders: 3 rows, 2 accepted, 1 rejected (" in text and "\nreview (" in text


def test_quiet_and_non_terminal_streams():
    assert for_stream(io.StringIO(), quiet=True) is SILENT
    assert type(for_stream(io.StringIO())) is LineProgress


def test_library_functions_are_silent_by_default(tmp_path, capsys):
    from custvalue import pipeline, report
    from custvalue.loading import load_raw

    for function in (load_raw, pipeline.score_quarter, pipeline.score_unless_current, report.render_report, report.render_unless_current):
        assert inspect.signature(function).parameters["progress"].default is SILENT, function.__name__
    load_raw(write_world(tmp_path / "raw", VALID))
    assert capsys.readouterr() == ("", "")

"""`genlab grade` reports progress on stderr while it grades; stdout holds only the result.

A line when the submission passed its checks and its notebook starts, then one every ``genlab.grading.cli.HEARTBEAT_S`` seconds
(``genlab grade: grading 01_fixture/fixture: 4 s``); ``--quiet`` turns them off. The fast tests
stand a sleeping fake in for the grader; the slow one grades the fixture course
(tests/fixtures/grading/course, as tests/test_grade_cli.py does).
"""
from __future__ import annotations

import json
import re
import time
from pathlib import Path

import pytest

from genlab.grading import GradeResult
from genlab.grading import cli
from genlab.grading.cli import grade_main

FIX = Path(__file__).resolve().parent / "fixtures" / "grading"
COURSE = FIX / "course"
CORRECT = FIX / "submissions" / "correct" / "01_fixture" / "fixture.ipynb"
START = "genlab grade: grading 01_fixture/fixture"
BEAT = re.compile(r"^genlab grade: grading 01_fixture/fixture: \d+ s$")


def run_grade(capsys, *args) -> tuple[int, str, list[str]]:
    rc = grade_main([str(a) for a in args])
    cap = capsys.readouterr()
    return rc, cap.out, cap.err.splitlines()


@pytest.fixture
def slow_fake_grader(monkeypatch):
    """The grader replaced by one that takes 0.55 s; heartbeats every 0.1 s."""
    def fake(path, on_start=None, **kw):
        on_start()  # the submission passed its checks
        time.sleep(0.55)
        return GradeResult("01_fixture", "fixture", 5.0, 5.0, [])

    monkeypatch.setattr("genlab.grading.grade.grade_notebook", fake)
    monkeypatch.setattr(cli, "HEARTBEAT_S", 0.1)


def test_start_line_and_heartbeats_on_stderr_only(capsys, slow_fake_grader):
    rc, out, err = run_grade(capsys, CORRECT, "--json", "--course", COURSE)
    assert rc == 0
    assert json.loads(out)["score"] == 5  # stdout: exactly the JSON object
    assert err[0] == START
    assert len(err) >= 4 and all(BEAT.match(line) for line in err[1:]), err  # ~5 beats in 0.55 s


def test_quiet_prints_nothing_on_stderr(capsys, slow_fake_grader):
    rc, out, err = run_grade(capsys, CORRECT, "--json", "--course", COURSE, "--quiet")
    assert rc == 0 and json.loads(out)["score"] == 5
    assert err == []


def test_no_heartbeat_after_the_result(capsys, slow_fake_grader):
    run_grade(capsys, CORRECT, "--course", COURSE)
    time.sleep(0.3)  # the heartbeat thread has stopped: nothing more arrives
    cap = capsys.readouterr()
    assert cap.out == "" and cap.err == ""


def test_bad_input_gets_its_one_line_reason_and_no_progress(capsys, tmp_path):
    rc, out, err = run_grade(capsys, tmp_path / "01_fixture" / "fixture.ipynb", "--course", COURSE)
    assert rc == 2 and out == ""
    assert len(err) == 1 and err[0].startswith("genlab grade: no such file"), err


@pytest.mark.slow
def test_real_grading_reports_progress(capsys, monkeypatch):
    monkeypatch.setattr(cli, "HEARTBEAT_S", 0.5)
    t0 = time.monotonic()
    rc, out, err = run_grade(capsys, CORRECT, "--json", "--course", COURSE)
    seconds = time.monotonic() - t0
    assert rc == 0, err
    assert json.loads(out)["score"] == 5
    assert err[0] == START
    beats = [line for line in err[1:] if BEAT.match(line)]
    assert len(beats) >= int(seconds // 0.5) - 2 >= 1, (seconds, err)
    assert [int(b.rsplit(" ", 2)[-2]) for b in beats] == sorted(int(b.rsplit(" ", 2)[-2]) for b in beats)

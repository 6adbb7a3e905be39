"""`genlab grade-class`: a class of fixture submissions graded in one batch (genlab.grading.batch).

The class (nbgrader's submitted/<student>/01_fixture/fixture.ipynb): alice (correct, 5/5), bob
(partly wrong, 2/5), carol (kernel dies: recorded, 0), dave (not JSON: recorded, 0), erin
(warnings on stderr, 5/5), frank (a notebook of an unknown chapter: recorded, 0).
"""
from __future__ import annotations

import csv
import shutil
from pathlib import Path

import pytest

from genlab.grading.batch import Item, discover, in_shard, main, parse_shard

FIX = Path(__file__).resolve().parent / "fixtures" / "grading"
COURSE = FIX / "course"
CLASS = {"alice": "correct", "bob": "partial", "carol": "exit", "dave": "not_json", "erin": "stderr"}
EXPECTED = {"alice": ("5.0", "ok"), "bob": ("2.0", "ok"), "carol": ("0", "kernel_died"),
            "dave": ("0", "bad_submission"), "erin": ("5.0", "ok"), "frank": ("0", "bad_submission")}
STABLE = ("student", "assignment", "notebook", "score", "max_score", "status", "reason", "sha256")


def make_class(root: Path) -> Path:
    subs = root / "submitted"
    for student, case in CLASS.items():
        d = subs / student / "01_fixture"
        d.mkdir(parents=True)
        shutil.copy(FIX / "submissions" / case / "01_fixture" / "fixture.ipynb", d / "fixture.ipynb")
    (subs / "frank" / "99_unknown").mkdir(parents=True)
    shutil.copy(FIX / "submissions" / "correct" / "01_fixture" / "fixture.ipynb",
                subs / "frank" / "99_unknown" / "fixture.ipynb")
    return subs


def rows(path: Path) -> dict[str, dict]:
    with open(path, newline="") as f:
        return {r["student"]: r for r in csv.DictReader(f)}


def stable(table: dict) -> dict:
    return {k: tuple(r[c] for c in STABLE) for k, r in table.items()}


def run(*args) -> int:
    return main([str(a) for a in args] + ["--course", str(COURSE), "--timeout", "30", "--quiet"])


# --- no kernel ----------------------------------------------------------------------------------

def test_discover_and_shards(tmp_path):
    subs = make_class(tmp_path)
    items = discover(subs)
    assert [(i.student, i.assignment, i.notebook) for i in items][:2] == [
        ("alice", "01_fixture", "fixture"), ("bob", "01_fixture", "fixture")]
    assert len(items) == 6
    many = [Item(f"s{k}", "02_vae", "vae_pytorch", Path("x")) for k in range(200)]
    for n in (1, 2, 3, 7):
        parts = [[it for it in many if in_shard(it, (i, n))] for i in range(1, n + 1)]
        assert sorted(x.student for p in parts for x in p) == sorted(x.student for x in many)  # a partition
    assert parse_shard("2/3") == (2, 3)
    for bad in ("0/2", "3/2", "x", "1/0"):
        with pytest.raises(Exception):
            parse_shard(bad)


def test_usage_errors(tmp_path, capsys):
    assert main([str(tmp_path / "nope"), "--out", str(tmp_path / "g.csv")]) == 2
    assert main(["--help"]) == 0
    assert "--shard" in capsys.readouterr().out


# --- grading runs -------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    root = tmp_path_factory.mktemp("class")
    subs = make_class(root)
    out = root / "grades.csv"
    rc = run(subs, "--out", out, "--jobs", "2", "--feedback", root / "feedback")
    return root, subs, out, rc


@pytest.mark.slow
def test_one_row_per_notebook_with_status(graded):
    root, subs, out, rc = graded
    assert rc == 0
    table = rows(out)
    assert set(table) == set(EXPECTED)
    for student, (score, status) in EXPECTED.items():
        r = table[student]
        assert (r["score"], r["status"]) == (score, status), r
        assert status == "ok" or r["reason"], r
    assert table["carol"]["reason"].startswith("kernel died")
    assert table["alice"]["max_score"] == "5.0"
    # feedback without hidden tests
    page = root / "feedback" / "alice" / "01_fixture" / "fixture.html"
    text = page.read_text(encoding="utf-8")
    assert "HIDDEN-TEST-SECRET" not in text and "_HIDDEN_CASES_qz7" not in text
    # the gradebook (nbgrader's SQLite next to the CSV)
    from nbgrader.api import Gradebook

    with Gradebook("sqlite:///" + str(root / "gradebook.db")) as gb:
        assert gb.find_submission_notebook("fixture", "01_fixture", "alice").score == 5
        assert gb.find_submission_notebook("fixture", "01_fixture", "bob").score == 2
        assert gb.find_submission_notebook("fixture", "01_fixture", "carol").score == 0


@pytest.mark.slow
def test_resume_skips_graded_work_and_force_never_keeps_a_stale_score(graded, capsys):
    root, subs, out, _ = graded
    before = rows(out)
    capsys.readouterr()
    assert run(subs, "--out", out) == 0
    assert "0 to grade" in capsys.readouterr().err
    assert rows(out) == before  # nothing graded again
    # alice's resubmission kills its kernel: her old 5 points must not survive
    shutil.copy(FIX / "submissions" / "exit" / "01_fixture" / "fixture.ipynb",
                subs / "alice" / "01_fixture" / "fixture.ipynb")
    assert run(subs, "--out", out, "--force", "--shard", "1/1") == 0
    after = rows(out)
    assert (after["alice"]["score"], after["alice"]["status"]) == ("0", "kernel_died")
    assert after["bob"]["graded_at"] != before["bob"]["graded_at"]  # --force graded everyone again
    from nbgrader.api import Gradebook

    with Gradebook("sqlite:///" + str(root / "gradebook.db")) as gb:
        assert gb.find_submission_notebook("fixture", "01_fixture", "alice").score == 0
    shutil.copy(FIX / "submissions" / "correct" / "01_fixture" / "fixture.ipynb",
                subs / "alice" / "01_fixture" / "fixture.ipynb")


@pytest.mark.slow
def test_two_shards_give_the_same_grades_as_one_run(tmp_path):
    subs = make_class(tmp_path)
    one = tmp_path / "one.csv"
    assert run(subs, "--out", one, "--jobs", "2", "--no-db") == 0
    a, b = tmp_path / "a.csv", tmp_path / "b.csv"
    assert run(subs, "--out", a, "--shard", "1/2", "--no-db") == 0
    assert run(subs, "--out", b, "--shard", "2/2", "--db", "sqlite:///" + str(tmp_path / "b.db")) == 0
    ra, rb = rows(a), rows(b)
    assert ra and rb and not set(ra) & set(rb)
    assert stable({**ra, **rb}) == stable(rows(one))


def test_parallel_kernels_share_the_cpus():
    import os

    from genlab.grading.batch import class_limits
    from genlab.grading.sandbox import Limits

    assert class_limits(None, 1).cpus is None
    assert class_limits(None, 2).cpus == max(1.0, (os.cpu_count() or 1) / 2)
    assert class_limits(Limits(memory_mb=100, cpus=0.5), 4).cpus == 0.5

"""Coding drills (genlab.codedrill, `genlab drill --code`): assembled from the released chapters,
graded against the same exercises taken from solutions/ (hidden tests included)."""
import json
from pathlib import Path

import pytest

from genlab import codedrill
from genlab.questions.drill import main as drill_main

ROOT = Path(__file__).resolve().parents[1]


def _grade_ids(nb, role):
    return [c.metadata["nbgrader"]["grade_id"] for c in nb.cells
            if c.metadata.get("nbgrader", {}).get(role)]


@pytest.mark.parametrize("framework", codedrill.FRAMEWORKS)
def test_drill_holds_exercises_with_their_dependencies_and_no_solutions(framework):
    for seed in range(6):
        nb = codedrill.assemble(ROOT, ["02_vae"], n=2, framework=framework, seed=seed)
        sols, tests = _grade_ids(nb, "solution"), _grade_ids(nb, "grade")
        assert len(sols) >= 2 and tests == [f"{g}_test" for g in sols]
        if "vae_negative_elbo" in sols:  # it calls the likelihood and the KL: they come along
            assert {"vae_bernoulli_log_likelihood", "vae_gaussian_kl"} <= set(sols)
        text = json.dumps(nb)
        assert "BEGIN SOLUTION" not in text and "BEGIN HIDDEN TESTS" not in text
        assert f"import {'torch' if framework == 'pytorch' else 'tensorflow'}" in text
        assert len({c.id for c in nb.cells}) == len(nb.cells)
        assert nb.metadata.genlab["framework"] == framework


def test_drill_source_is_the_same_exercises_with_hidden_tests():
    nb = codedrill.assemble(ROOT, ["02_vae"], n=3, seed=4)
    src = codedrill.drill_source(ROOT, nb)
    assert [c.id for c in src.cells] == [c.id for c in nb.cells]
    assert _grade_ids(src, "grade") == _grade_ids(nb, "grade")
    assert sum("BEGIN HIDDEN TESTS" in c.source for c in src.cells) == len(_grade_ids(nb, "grade"))
    assert sum("BEGIN SOLUTION" in c.source for c in src.cells) == len(_grade_ids(nb, "solution"))


def test_seeded_drills_repeat_and_the_whole_chapter_fits():
    a = codedrill.assemble(ROOT, ["02_vae"], n=2, seed=11)
    b = codedrill.assemble(ROOT, ["02_vae"], n=2, seed=11)
    assert _grade_ids(a, "solution") == _grade_ids(b, "solution")
    everything = codedrill.assemble(ROOT, ["02_vae"], n=50, seed=0)
    assert len(_grade_ids(everything, "grade")) == 7


def test_bad_requests_are_refused(tmp_path):
    with pytest.raises(codedrill.DrillError):
        codedrill.assemble(ROOT, ["02_vae"], framework="jax")
    with pytest.raises(codedrill.DrillError):
        codedrill.assemble(ROOT, ["02_vae"], n=0)
    with pytest.raises(codedrill.DrillError):
        codedrill.drill_source(ROOT, {"metadata": {}, "cells": []})
    tampered = codedrill.assemble(ROOT, ["02_vae"], n=1, seed=0)
    tampered.metadata.genlab["drill"]["items"][0]["chapter"] = "../../etc"
    with pytest.raises(codedrill.DrillError):
        codedrill.drill_source(ROOT, tampered)
    with pytest.raises(codedrill.DrillError):
        codedrill.write(tampered, tmp_path / "drill.txt")


def test_cli_writes_a_drill(tmp_path, capsys):
    out = tmp_path / "drill.ipynb"
    assert drill_main(["--code", "--chapter", "vae", "--n", "1", "--seed", "2", "--out", str(out)]) == 0
    nb = json.loads(out.read_text())
    assert nb["metadata"]["genlab"]["drill"]["items"][0]["chapter"] == "02_vae"
    assert drill_main(["--code", "--chapter", "vae"]) == 2  # no --out
    assert "--out" in capsys.readouterr().err


@pytest.mark.slow
def test_a_drill_is_graded_by_the_hidden_tests(tmp_path):
    """Reference answers score; a wrong likelihood (mean over pixels) loses its own test only: the
    ELBO is judged against the student's own likelihood, so one mistake costs its points once."""
    import re

    from nbcells import load

    from genlab.grading.grade import grade_notebook

    nb = codedrill.assemble(ROOT, ["02_vae"], n=2, seed=3)
    assert _grade_ids(nb, "solution") == ["vae_gaussian_kl", "vae_bernoulli_log_likelihood", "vae_negative_elbo"]
    answers = {ex.grade_id: ex.solution for ex in load(ROOT / "solutions/02_vae/vae_pytorch.ipynb")[1]}
    answers["vae_bernoulli_log_likelihood"] = answers["vae_bernoulli_log_likelihood"].replace("torch.sum(", "torch.mean(")
    for cell in nb.cells:
        gid = cell.metadata.get("nbgrader", {}).get("grade_id")
        if cell.metadata.get("nbgrader", {}).get("solution"):
            cell.source = re.sub(r"(?m)^[ \t]*### (BEGIN|END) SOLUTION[ \t]*\n", "", answers[gid])
    path = codedrill.write(nb, tmp_path / "my_drill.ipynb")
    result = grade_notebook(path)
    assert (result.assignment, result.notebook, result.max_score) == ("drill", "my_drill", 6.0)
    scores = {t.grade_id: t.score for t in result.tests}
    assert scores == {"vae_gaussian_kl_test": 2.0, "vae_bernoulli_log_likelihood_test": 0.0, "vae_negative_elbo_test": 2.0}

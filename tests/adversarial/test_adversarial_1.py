"""Adversarial corpus, part 1 of 3 (the cases adv_corpus.CASES[0::3]); see adv_corpus.py.

All of this part's submissions are graded once, two at a time, by a module fixture; each case
then checks its own outcome (exact score, status, reason, time) and that the host is unaffected.
"""
import pytest
from adv_corpus import CASES
from adv_harness import check, run_all

PART = CASES[0::3]
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory):
    return run_all(PART, tmp_path_factory.mktemp("adversarial"))


@pytest.mark.parametrize("case", PART, ids=[c.name for c in PART])
def test_case(case, outcomes):
    check(case, outcomes.get(case.name))

"""Grading round trips of the TensorFlow GAN notebook (see gan_grading.py)."""
import pytest

from gan_grading import (test_solution_gets_full_marks, test_untouched_release_gets_zero,  # noqa: F401
                         test_wrong_answers_lose_exactly_their_points)


@pytest.fixture
def framework():
    return "tensorflow"

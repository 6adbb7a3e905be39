"""Chapter 09: a Fréchet distance whose eigenvalues are not clipped gets a message that names the
cause, not a bare LinAlgError (PyTorch) or InvalidArgumentError (TensorFlow)."""
import pytest

from chapters import BY_NAME, FRAMEWORKS
from nbcells import mutate, run

pytest.importorskip("torch")
pytest.importorskip("tensorflow")


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_unclipped_eigenvalues_get_a_message_that_names_the_cause(framework):
    chapter = BY_NAME["09_evaluation"]
    exercises = chapter.exercises(framework)
    mutant = next(m for m in chapter.mutants if m.name.startswith("eigenvalues not clipped"))
    source = next(ex.solution for ex in exercises if ex.grade_id == "eval_frechet_distance")
    error = run(framework, exercises, {"eval_frechet_distance": mutate(source, mutant.edits, framework, mutant.name)},
                only={"eval_frechet_distance_test"})["eval_frechet_distance_test"]
    assert error.startswith("AssertionError:") and "negative eigenvalues" in error and "clip" in error, error

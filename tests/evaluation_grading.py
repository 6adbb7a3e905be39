"""Grading round trips for the evaluation chapter (tests/grading_roundtrip.py), shared by
test_grading_evaluation_pytorch.py and test_grading_evaluation_tensorflow.py."""
from grading_roundtrip import Chapter, roundtrip_tests
from test_evaluation_exercises import MUTANTS

EVALUATION = Chapter(
    folder="09_evaluation", topic="evaluation", max_score=14, n_tests=6, mutants=MUTANTS,
    wrong={
        "pytorch": ([("eval_frechet_distance", "missing factor 2"),
                     ("eval_inception_score", "mean of exp instead of exp of mean"),
                     ("eval_psnr", "natural log")],
                    {"eval_frechet_distance_test", "eval_inception_score_test", "eval_psnr_test"}),
        "tensorflow": ([("eval_kid_unbiased", "quadratic kernel"),
                        ("eval_knn_precision_recall", "strict < instead of <="),
                        ("eval_ssim", "uniform window")],
                       {"eval_kid_unbiased_test", "eval_knn_precision_recall_test", "eval_ssim_test"}),
    },
    hidden_markers=("default_rng(2909)", "_oracle"), shown="frechet_distance")

test_solution_gets_full_marks, test_untouched_release_gets_zero, test_wrong_answers_lose_exactly_their_points = \
    roundtrip_tests(EVALUATION)

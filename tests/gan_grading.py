"""Grading round trips for the GAN chapter (tests/grading_roundtrip.py), shared by
test_grading_gan_pytorch.py and test_grading_gan_tensorflow.py."""
from grading_roundtrip import Chapter, roundtrip_tests
from test_gan_exercises import MUTANTS

GAN = Chapter(
    folder="03_gan", topic="gan", max_score=15, n_tests=7, mutants=MUTANTS,
    wrong={
        "pytorch": ([("gan_generator_loss", "saturating minimax loss"),
                     ("gan_mode_coverage", "2 std instead of 3"),
                     ("gan_pixel_shuffle", "i and j swapped")],
                    # the training step calls the student's (wrong) generator loss, so it fails too
                    {"gan_generator_loss_test", "gan_training_step_test", "gan_mode_coverage_test", "gan_pixel_shuffle_test"}),
        "tensorflow": ([("gan_gradient_penalty", "squared norm"),
                        ("gan_label_maps", "label maps first"),
                        ("gan_training_step", "G step moves D")],
                       {"gan_gradient_penalty_test", "gan_label_maps_test", "gan_training_step_test"}),
    },
    hidden_markers=("_step_oracle", "default_rng(43)", "_ps_oracle"), shown="mode_coverage")

test_solution_gets_full_marks, test_untouched_release_gets_zero, test_wrong_answers_lose_exactly_their_points = \
    roundtrip_tests(GAN)

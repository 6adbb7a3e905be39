"""Grading round trips for the VAE chapter (tests/grading_roundtrip.py), shared by
test_grading_vae_pytorch.py and test_grading_vae_tensorflow.py."""
from grading_roundtrip import Chapter, roundtrip_tests
from test_exercises_catch_mistakes import MUTANTS

VAE = Chapter(
    folder="02_vae", topic="vae", max_score=12, n_tests=7, mutants=MUTANTS,
    # three wrong answers per notebook and the test cells that must fail because of them
    wrong={
        "pytorch": ([("vae_reparameterize", "variance instead of standard deviation"),
                     ("vae_iwae_bound", "missing -log K"),
                     ("vae_conditional_input", "one-hot first")],
                    {"vae_reparameterize_test", "vae_iwae_bound_test", "vae_conditional_input_test"}),
        "tensorflow": ([("vae_bernoulli_log_likelihood", "mean over pixels"),
                        ("vae_log_normal", "missing log(2 pi)"),
                        ("vae_reparameterize", "graph cut")],
                       # the negative ELBO calls the student's (wrong) log-likelihood, so it fails too
                       {"vae_bernoulli_log_likelihood_test", "vae_negative_elbo_test", "vae_log_normal_test",
                        "vae_reparameterize_test"}),
    },
    hidden_markers=("default_rng(2021)", "_iwae_oracle"), shown="reparameterize")

test_solution_gets_full_marks, test_untouched_release_gets_zero, test_wrong_answers_lose_exactly_their_points = \
    roundtrip_tests(VAE)

"""Each evaluation-chapter exercise's hidden test catches the plausible wrong answers its docstring names.

Same scheme as test_exercises_catch_mistakes.py (VAE): every wrong answer is the reference solution
with one edit (for both frameworks); the test cells run in-process against it. The reference passes
every test; each wrong answer fails the test of its exercise and no other.
"""
import pytest

from nbcells import ROOT, mutation_tests

pytest.importorskip("torch")
pytest.importorskip("tensorflow")

NOTEBOOKS = {"pytorch": ROOT / "solutions/09_evaluation/evaluation_pytorch.ipynb",
             "tensorflow": ROOT / "solutions/09_evaluation/evaluation_tensorflow.ipynb"}

T, F = "pytorch", "tensorflow"
_SAMPLE_COV = "    n = (2 * r + 1) ** 2\n    vx, vy, vxy = vx * n / (n - 1), vy * n / (n - 1), vxy * n / (n - 1)\n    c1, c2 ="
MUTANTS = [
    # Frechet distance
    ("eval_frechet_distance", "biased covariance (ddof=0)", {T: [("/ (x.shape[0] - 1)", "/ x.shape[0]")], F: [("/ (x.shape[0] - 1)", "/ x.shape[0]")]}),
    ("eval_frechet_distance", "missing factor 2", [("- 2.0 * tr_sqrt", "- tr_sqrt")]),
    ("eval_frechet_distance", "sqrt of the trace", {T: [("tr_sqrt = torch.sum(torch.sqrt(torch.clamp(torch.linalg.eigvalsh(m), min=0.0)))", "tr_sqrt = torch.sqrt(torch.trace(m))")],
                                                    F: [("tr_sqrt = tf.reduce_sum(tf.sqrt(tf.maximum(tf.linalg.eigvalsh(m), 0.0)))", "tr_sqrt = tf.sqrt(tf.linalg.trace(m))")]}),
    ("eval_frechet_distance", "elementwise sqrt of S_a S_b", {T: [("tr_sqrt = torch.sum(torch.sqrt(torch.clamp(torch.linalg.eigvalsh(m), min=0.0)))", "tr_sqrt = torch.trace(torch.sqrt(torch.clamp(s1 @ s2, min=0.0)))")],
                                                              F: [("tr_sqrt = tf.reduce_sum(tf.sqrt(tf.maximum(tf.linalg.eigvalsh(m), 0.0)))", "tr_sqrt = tf.linalg.trace(tf.sqrt(tf.maximum(s1 @ s2, 0.0)))")]}),
    ("eval_frechet_distance", "eigenvalues not clipped (NaN when singular)", {T: [("torch.sqrt(torch.clamp(torch.linalg.eigvalsh(m), min=0.0))", "torch.sqrt(torch.linalg.eigvalsh(m))"), ("torch.sqrt(torch.clamp(w, min=0.0))", "torch.sqrt(w)")],
                                                                              F: [("tf.sqrt(tf.maximum(tf.linalg.eigvalsh(m), 0.0))", "tf.sqrt(tf.linalg.eigvalsh(m))"), ("tf.sqrt(tf.maximum(w, 0.0))", "tf.sqrt(w)")]}),
    ("eval_frechet_distance", "mean term forgotten", {T: [("torch.sum((mu1 - mu2) ** 2) + ", "")], F: [("tf.reduce_sum((mu1 - mu2) ** 2) + ", "")]}),
    # KID
    ("eval_kid_unbiased", "biased estimator (diagonal kept)", {T: [("torch.sum(kxx) - torch.trace(kxx)", "torch.sum(kxx)"), ("torch.sum(kyy) - torch.trace(kyy)", "torch.sum(kyy)"), ("/ (m * (m - 1))", "/ (m * m)")],
                                                               F: [("tf.reduce_sum(kxx) - tf.linalg.trace(kxx)", "tf.reduce_sum(kxx)"), ("tf.reduce_sum(kyy) - tf.linalg.trace(kyy)", "tf.reduce_sum(kyy)"), ("/ (m * (m - 1))", "/ (m * m)")]}),
    ("eval_kid_unbiased", "diagonal kept with the unbiased normaliser", {T: [("torch.sum(kxx) - torch.trace(kxx)", "torch.sum(kxx)"), ("torch.sum(kyy) - torch.trace(kyy)", "torch.sum(kyy)")],
                                                                         F: [("tf.reduce_sum(kxx) - tf.linalg.trace(kxx)", "tf.reduce_sum(kxx)"), ("tf.reduce_sum(kyy) - tf.linalg.trace(kyy)", "tf.reduce_sum(kyy)")]}),
    ("eval_kid_unbiased", "kernel without /d", [(" / d + 1.0", " + 1.0")]),
    ("eval_kid_unbiased", "quadratic kernel", [("** 3", "** 2")]),
    ("eval_kid_unbiased", "missing factor 2", [("- 2.0 * ", "- ")]),
    ("eval_kid_unbiased", "clipped at 0", {T: [("return (sum_xx + sum_yy) / (m * (m - 1)) - 2.0 * ", "return torch.relu((sum_xx + sum_yy) / (m * (m - 1)) - 2.0 * "), ("/ (m * m)", "/ (m * m))")],
                                           F: [("return (sum_xx + sum_yy) / (m * (m - 1)) - 2.0 * ", "return tf.nn.relu((sum_xx + sum_yy) / (m * (m - 1)) - 2.0 * "), ("/ (m * m)", "/ (m * m))")]}),
    # Inception Score
    ("eval_inception_score", "log of zero (no 0 log 0 = 0)", {T: [("torch.xlogy(probs, probs) - torch.xlogy(probs, p_y)", "probs * (torch.log(probs) - torch.log(p_y))")],
                                                               F: [("tf.math.xlogy(probs, probs) - tf.math.xlogy(probs, p_y)", "probs * (tf.math.log(probs) - tf.math.log(p_y))")]}),
    ("eval_inception_score", "mean of exp instead of exp of mean", {T: [("torch.exp(torch.mean(kl))", "torch.mean(torch.exp(kl))")], F: [("tf.exp(tf.reduce_mean(kl))", "tf.reduce_mean(tf.exp(kl))")]}),
    ("eval_inception_score", "marginal over the class axis", {T: [("dim=0, keepdim=True", "dim=1, keepdim=True")], F: [("axis=0, keepdims=True", "axis=1, keepdims=True")]}),
    ("eval_inception_score", "KL reversed", {T: [("torch.xlogy(probs, probs) - torch.xlogy(probs, p_y)", "torch.xlogy(p_y, p_y) - torch.xlogy(p_y, probs)")],
                                             F: [("tf.math.xlogy(probs, probs) - tf.math.xlogy(probs, p_y)", "tf.math.xlogy(p_y, p_y) - tf.math.xlogy(p_y, probs)")]}),
    ("eval_inception_score", "exp forgotten", {T: [("return torch.exp(torch.mean(kl))", "return torch.mean(kl)")], F: [("return tf.exp(tf.reduce_mean(kl))", "return tf.reduce_mean(kl)")]}),
    # k-NN precision / recall
    ("eval_knn_precision_recall", "point is its own nearest neighbour", [("[:, k]", "[:, k - 1]")]),
    ("eval_knn_precision_recall", "(k+1)-th neighbour", [("[:, k]", "[:, k + 1]")]),
    ("eval_knn_precision_recall", "strict < instead of <=", [(" <= ", " < ")]),
    ("eval_knn_precision_recall", "precision and recall swapped", [("return precision, recall", "return recall, precision")]),
    ("eval_knn_precision_recall", "fake radii used for precision", [("sq_dists(fake, real) <= r_real[None, :]", "sq_dists(fake, real) <= r_fake[:, None]")]),
    # PSNR
    ("eval_psnr", "data range hard-coded to 255", [("data_range ** 2 / mse", "255.0 ** 2 / mse")]),
    ("eval_psnr", "data range hard-coded to 1", [("data_range ** 2 / mse", "1.0 / mse")]),
    ("eval_psnr", "natural log", {T: [("torch.log10(", "torch.log(")], F: [(" / tf.math.log(tf.constant(10.0, mse.dtype))", "")]}),
    ("eval_psnr", "data range not squared", [("data_range ** 2 / mse", "data_range / mse")]),
    ("eval_psnr", "mean of per-image PSNRs", {T: [("mse = torch.mean((a - b) ** 2)", "mse = torch.mean((a - b) ** 2, dim=(-2, -1))"), ("return 10.0 * torch.log10(data_range ** 2 / mse)", "return torch.mean(10.0 * torch.log10(data_range ** 2 / mse))")],
                                              F: [("mse = tf.reduce_mean((a - b) ** 2)", "mse = tf.reduce_mean((a - b) ** 2, axis=(-2, -1))"), ("return 10.0 *", "return tf.reduce_mean(10.0 *"), ("mse.dtype))", "mse.dtype)))")]}),
    # SSIM
    ("eval_ssim", "uniform window", {T: [("g = torch.exp(-t ** 2 / (2.0 * sigma ** 2))", "g = torch.ones_like(t)")], F: [("g = tf.exp(-t ** 2 / (2.0 * sigma ** 2))", "g = tf.ones_like(t)")]}),
    ("eval_ssim", "sigma ignored (always 1.5)", [("    r = int(3.5 * sigma + 0.5)", "    sigma = 1.5\n    r = int(3.5 * sigma + 0.5)")]),
    ("eval_ssim", "window radius 4 sigma", [("int(3.5 * sigma + 0.5)", "int(4.0 * sigma + 0.5)")]),
    ("eval_ssim", "constants without the data range", [("c1, c2 = (0.01 * data_range) ** 2, (0.03 * data_range) ** 2", "c1, c2 = 0.01 ** 2, 0.03 ** 2")]),
    ("eval_ssim", "k1 and k2 swapped", [("c1, c2 = (0.01 * data_range) ** 2, (0.03 * data_range) ** 2", "c1, c2 = (0.03 * data_range) ** 2, (0.01 * data_range) ** 2")]),
    ("eval_ssim", "sample covariance", [("    c1, c2 =", _SAMPLE_COV)]),
    ("eval_ssim", "zero padding instead of the valid region", {T: [("z.shape[-1]), win)", "z.shape[-1]), win, padding=r)")], F: [('padding="VALID"', 'padding="SAME"')]}),
]


chapter, test_reference_solutions_pass_every_test, test_enough_wrong_answers_per_exercise, test_wrong_answer_is_caught = \
    mutation_tests(NOTEBOOKS, MUTANTS, grade_ids=["eval_frechet_distance", "eval_kid_unbiased", "eval_inception_score",
                                                  "eval_knn_precision_recall", "eval_psnr", "eval_ssim"])

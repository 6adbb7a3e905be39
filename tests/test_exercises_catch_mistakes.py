"""Each VAE exercise's hidden test catches the plausible wrong answers its docstring names.

Every wrong answer is the reference solution with one edit (for both frameworks); the test cells
run in-process against it. The reference passes every test; each wrong answer fails the test of its
exercise and leaves the tests of unrelated exercises passing.
"""
import pytest

from nbcells import ROOT, mutation_tests

pytest.importorskip("torch")
pytest.importorskip("tensorflow")

NOTEBOOKS = {"pytorch": ROOT / "solutions/02_vae/vae_pytorch.ipynb",
             "tensorflow": ROOT / "solutions/02_vae/vae_tensorflow.ipynb"}
# Exercises whose test cells call other exercises' functions.
DEPENDS = {"vae_negative_elbo_test": {"vae_bernoulli_log_likelihood", "vae_gaussian_kl"}}

# (exercise, name, edits): edits are (old, new) text replacements; a dict keyed by framework when they differ.
T, F = "pytorch", "tensorflow"
MUTANTS = [
    ("vae_reparameterize", "logvar used as the standard deviation", {T: [("torch.exp(0.5 * logvar) * eps", "logvar * eps")], F: [("tf.exp(0.5 * logvar) * eps", "logvar * eps")]}),
    ("vae_reparameterize", "variance instead of standard deviation", [("exp(0.5 * logvar)", "exp(logvar)")]),
    ("vae_reparameterize", "given eps ignored", [("if eps is None:", "if True:")]),
    ("vae_reparameterize", "uniform noise", {T: [("torch.randn_like(mu)", "torch.rand_like(mu)")], F: [("tf.random.normal(", "tf.random.uniform(")]}),
    ("vae_reparameterize", "no noise when eps is None", {T: [("torch.randn_like(mu)", "torch.zeros_like(mu)")], F: [("tf.random.normal(tf.shape(mu), dtype=mu.dtype)", "tf.zeros_like(mu)")]}),
    ("vae_reparameterize", "graph cut", {T: [("return mu + torch.exp(0.5 * logvar) * eps", "return (mu + torch.exp(0.5 * logvar) * eps).detach()")], F: [("return mu + tf.exp(0.5 * logvar) * eps", "return tf.stop_gradient(mu + tf.exp(0.5 * logvar) * eps)")]}),
    ("vae_reparameterize", "logvar halved twice", [("exp(0.5 * logvar)", "exp(0.25 * logvar)")]),
    ("vae_gaussian_kl", "missing 1/2", [("return 0.5 * ", "return ")]),
    ("vae_gaussian_kl", "sign flipped", [("return 0.5 * ", "return -0.5 * ")]),
    ("vae_gaussian_kl", "mean over latent dims", {T: [("torch.sum(", "torch.mean(")], F: [("tf.reduce_sum(", "tf.reduce_mean(")]}),
    ("vae_gaussian_kl", "standard deviation used as variance", [("exp(logvar) - 1.0", "exp(0.5 * logvar) - 1.0")]),
    ("vae_gaussian_kl", "summed over the batch too", {T: [(", dim=-1)", ")")], F: [(", axis=-1)", ")")]}),
    ("vae_gaussian_kl", "log term missing", [(" - 1.0 - logvar", " - 1.0")]),
    ("vae_bernoulli_log_likelihood", "sigmoid applied twice", {T: [("x * logits - torch.nn.functional.softplus(logits)", "x * torch.sigmoid(logits) - torch.nn.functional.softplus(torch.sigmoid(logits))")], F: [("x * logits - tf.math.softplus(logits)", "x * tf.sigmoid(logits) - tf.math.softplus(tf.sigmoid(logits))")]}),
    ("vae_bernoulli_log_likelihood", "log of sigmoid (unstable)", {T: [("x * logits - torch.nn.functional.softplus(logits)", "x * torch.log(torch.sigmoid(logits)) + (1 - x) * torch.log(1 - torch.sigmoid(logits))")], F: [("x * logits - tf.math.softplus(logits)", "x * tf.math.log(tf.sigmoid(logits)) + (1 - x) * tf.math.log(1 - tf.sigmoid(logits))")]}),
    ("vae_bernoulli_log_likelihood", "epsilon-clamped log", {T: [("x * logits - torch.nn.functional.softplus(logits)", "x * torch.log(torch.sigmoid(logits) + 1e-7) + (1 - x) * torch.log(1 - torch.sigmoid(logits) + 1e-7)")], F: [("x * logits - tf.math.softplus(logits)", "x * tf.math.log(tf.sigmoid(logits) + 1e-7) + (1 - x) * tf.math.log(1 - tf.sigmoid(logits) + 1e-7)")]}),
    ("vae_bernoulli_log_likelihood", "mean over pixels", {T: [("torch.sum(", "torch.mean(")], F: [("tf.reduce_sum(", "tf.reduce_mean(")]}),
    ("vae_bernoulli_log_likelihood", "a loss instead of a log-likelihood", [("return ", "return -")]),
    ("vae_bernoulli_log_likelihood", "sum over axis 1", {T: [("dim=-1", "dim=1")], F: [("axis=-1", "axis=1")]}),
    ("vae_bernoulli_log_likelihood", "x and logits swapped", {T: [("x * logits - torch.nn.functional.softplus(logits)", "logits * x - torch.nn.functional.softplus(x)")], F: [("x * logits - tf.math.softplus(logits)", "logits * x - tf.math.softplus(x)")]}),
    ("vae_log_normal", "missing log(2 pi)", [("math.log(2 * math.pi) + ", "")]),
    ("vae_log_normal", "missing 1/2", [("return -0.5 * ", "return -")]),
    ("vae_log_normal", "standard deviation used as variance", [("exp(-logvar)", "exp(-0.5 * logvar)")]),
    ("vae_log_normal", "mean over dimensions", {T: [("torch.sum(", "torch.mean(")], F: [("tf.reduce_sum(", "tf.reduce_mean(")]}),
    ("vae_log_normal", "density instead of log-density", {T: [("return -0.5 * torch.sum(", "return torch.exp(-0.5 * torch.sum("), ("dim=-1)", "dim=-1))")], F: [("return -0.5 * tf.reduce_sum(", "return tf.exp(-0.5 * tf.reduce_sum("), ("axis=-1)", "axis=-1))")]}),
    ("vae_negative_elbo", "mean over pixels (seed S002-P2)", [("-bernoulli_log_likelihood(x, logits)", "-bernoulli_log_likelihood(x, logits) / x.shape[-1]")]),
    ("vae_negative_elbo", "sum over the batch", {T: [("torch.mean(", "torch.sum(")], F: [("tf.reduce_mean(", "tf.reduce_sum(")]}),
    ("vae_negative_elbo", "beta on the reconstruction term", [("-bernoulli_log_likelihood(x, logits) + beta * gaussian_kl(mu, logvar)", "-beta * bernoulli_log_likelihood(x, logits) + gaussian_kl(mu, logvar)")]),
    ("vae_negative_elbo", "beta ignored", [("beta * gaussian_kl", "gaussian_kl")]),
    ("vae_negative_elbo", "the ELBO instead of its negative", [("-bernoulli_log_likelihood(x, logits) + beta * gaussian_kl(mu, logvar)", "bernoulli_log_likelihood(x, logits) - beta * gaussian_kl(mu, logvar)")]),
    ("vae_negative_elbo", "a vector instead of a scalar", {T: [("return torch.mean(", "return (")], F: [("return tf.reduce_mean(", "return (")]}),
    ("vae_negative_elbo", "KL subtracted", [("+ beta * gaussian_kl", "- beta * gaussian_kl")]),
    ("vae_iwae_bound", "log-mean-exp without logsumexp", {T: [("torch.logsumexp(log_w, dim=0) - math.log(log_w.shape[0])", "torch.log(torch.mean(torch.exp(log_w), dim=0))")], F: [("tf.reduce_logsumexp(log_w, axis=0) - tf.math.log(tf.cast(tf.shape(log_w)[0], log_w.dtype))", "tf.math.log(tf.reduce_mean(tf.exp(log_w), axis=0))")]}),
    ("vae_iwae_bound", "missing -log K", {T: [(" - math.log(log_w.shape[0])", "")], F: [(" - tf.math.log(tf.cast(tf.shape(log_w)[0], log_w.dtype))", "")]}),
    ("vae_iwae_bound", "mean of log-weights (the ELBO)", {T: [("torch.logsumexp(log_w, dim=0) - math.log(log_w.shape[0])", "torch.mean(log_w, dim=0)")], F: [("tf.reduce_logsumexp(log_w, axis=0) - tf.math.log(tf.cast(tf.shape(log_w)[0], log_w.dtype))", "tf.reduce_mean(log_w, axis=0)")]}),
    ("vae_iwae_bound", "wrong axis", {T: [("dim=0", "dim=1"), ("shape[0]", "shape[1]")], F: [("axis=0", "axis=1"), ("[0]", "[1]")]}),
    ("vae_iwae_bound", "log q added", [("- log_qz", "+ log_qz")]),
    ("vae_iwae_bound", "max instead of logsumexp", {T: [("torch.logsumexp(log_w, dim=0)", "torch.max(log_w, dim=0).values")], F: [("tf.reduce_logsumexp(log_w, axis=0)", "tf.reduce_max(log_w, axis=0)")]}),
    ("vae_conditional_input", "concatenated along the batch axis", {T: [("dim=-1)", "dim=0)")], F: [("axis=-1)", "axis=0)")]}),
    ("vae_conditional_input", "label appended as a number", {T: [("torch.cat([h, onehot], dim=-1)", "torch.cat([h, y[:, None].to(h.dtype)], dim=-1)")], F: [("tf.concat([h, onehot], axis=-1)", "tf.concat([h, tf.cast(y, h.dtype)[:, None]], axis=-1)")]}),
    ("vae_conditional_input", "num_classes ignored", {T: [("one_hot(y.long(), num_classes)", "one_hot(y.long(), 10)")], F: [("tf.one_hot(tf.cast(y, tf.int32), num_classes,", "tf.one_hot(tf.cast(y, tf.int32), 10,")]}),
    ("vae_conditional_input", "one-hot first", [("[h, onehot]", "[onehot, h]")]),
    ("vae_conditional_input", "off-by-one one-hot", {T: [("one_hot(y.long(), num_classes)", "one_hot((y.long() + 1) % num_classes, num_classes)")], F: [("tf.cast(y, tf.int32), num_classes", "(tf.cast(y, tf.int32) + 1) % num_classes, num_classes")]}),
]


chapter, test_reference_solutions_pass_every_test, test_enough_wrong_answers_per_exercise, test_wrong_answer_is_caught = \
    mutation_tests(NOTEBOOKS, MUTANTS, DEPENDS)

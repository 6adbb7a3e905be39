"""Each GAN-chapter exercise's hidden test catches the plausible wrong answers its docstring names.

Same scheme as test_exercises_catch_mistakes.py (VAE): every wrong answer is the reference solution
with one edit (for both frameworks); the test cells run in-process against it. The reference passes
every test; each wrong answer fails the test of its exercise and only the tests that call it.
"""
import pytest

from nbcells import ROOT, mutation_tests

pytest.importorskip("torch")
pytest.importorskip("tensorflow")

NOTEBOOKS = {"pytorch": ROOT / "solutions/03_gan/gan_pytorch.ipynb",
             "tensorflow": ROOT / "solutions/03_gan/gan_tensorflow.ipynb"}
# Exercises whose test cells call other exercises' functions.
DEPENDS = {"gan_training_step_test": {"gan_discriminator_loss", "gan_generator_loss"}}

T, F = "pytorch", "tensorflow"
_TF_REAL = "tf.nn.sigmoid_cross_entropy_with_logits(labels=tf.fill(tf.shape(real_logits), 1.0 - smooth), logits=real_logits)"
_TF_FAKE = "tf.nn.sigmoid_cross_entropy_with_logits(labels=tf.zeros_like(fake_logits), logits=fake_logits)"
_T_REAL = "F.binary_cross_entropy_with_logits(real_logits, torch.full_like(real_logits, 1.0 - smooth))"
_T_FAKE = "F.binary_cross_entropy_with_logits(fake_logits, torch.zeros_like(fake_logits))"
MUTANTS = [
    # discriminator loss
    ("gan_discriminator_loss", "labels swapped (S000-Q8)", {T: [("torch.full_like(real_logits, 1.0 - smooth)", "torch.zeros_like(real_logits)"), ("torch.zeros_like(fake_logits))", "torch.full_like(fake_logits, 1.0 - smooth))")],
                                                            F: [("labels=tf.fill(tf.shape(real_logits), 1.0 - smooth)", "labels=tf.zeros_like(real_logits)"), ("labels=tf.zeros_like(fake_logits)", "labels=tf.fill(tf.shape(fake_logits), 1.0 - smooth)")]}),
    ("gan_discriminator_loss", "sigmoid before BCE-with-logits", {T: [("(real_logits, torch.full", "(torch.sigmoid(real_logits), torch.full"), ("(fake_logits, torch.zeros", "(torch.sigmoid(fake_logits), torch.zeros")],
                                                                   F: [("logits=real_logits)", "logits=tf.sigmoid(real_logits))"), ("logits=fake_logits)", "logits=tf.sigmoid(fake_logits))")]}),
    ("gan_discriminator_loss", "log of sigmoid", {T: [(_T_REAL, "-torch.mean((1.0 - smooth) * torch.log(torch.sigmoid(real_logits)) + smooth * torch.log(1 - torch.sigmoid(real_logits)))"), (_T_FAKE, "-torch.mean(torch.log(1 - torch.sigmoid(fake_logits)))")],
                                                  F: [(_TF_REAL, "-((1.0 - smooth) * tf.math.log(tf.sigmoid(real_logits)) + smooth * tf.math.log(1 - tf.sigmoid(real_logits)))"), (_TF_FAKE, "-tf.math.log(1 - tf.sigmoid(fake_logits))")]}),
    ("gan_discriminator_loss", "two-sided smoothing", {T: [("torch.zeros_like(fake_logits))", "torch.full_like(fake_logits, smooth))")], F: [("labels=tf.zeros_like(fake_logits)", "labels=tf.fill(tf.shape(fake_logits), smooth)")]}),
    ("gan_discriminator_loss", "smoothing ignored", {T: [("1.0 - smooth", "1.0")], F: [("1.0 - smooth", "1.0")]}),
    ("gan_discriminator_loss", "mean over the concatenated batch", {T: [("return real_loss + fake_loss", "return torch.cat([F.binary_cross_entropy_with_logits(real_logits.flatten(), torch.full_like(real_logits.flatten(), 1.0 - smooth), reduction='none'), F.binary_cross_entropy_with_logits(fake_logits.flatten(), torch.zeros_like(fake_logits.flatten()), reduction='none')]).mean()")],
                                                                    F: [("return tf.reduce_mean(real_loss) + tf.reduce_mean(fake_loss)", "return tf.reduce_mean(tf.concat([tf.reshape(real_loss, [-1]), tf.reshape(fake_loss, [-1])], 0))")]}),
    ("gan_discriminator_loss", "halved (0.5 * (real + fake))", {T: [("return real_loss + fake_loss", "return 0.5 * (real_loss + fake_loss)")], F: [("return tf.reduce_mean(real_loss) + tf.reduce_mean(fake_loss)", "return 0.5 * (tf.reduce_mean(real_loss) + tf.reduce_mean(fake_loss))")]}),
    ("gan_discriminator_loss", "sums instead of means", {T: [("torch.full_like(real_logits, 1.0 - smooth))", "torch.full_like(real_logits, 1.0 - smooth), reduction='sum')"), ("torch.zeros_like(fake_logits))", "torch.zeros_like(fake_logits), reduction='sum')")],
                                                         F: [("return tf.reduce_mean(real_loss) + tf.reduce_mean(fake_loss)", "return tf.reduce_sum(real_loss) + tf.reduce_sum(fake_loss)")]}),
    ("gan_discriminator_loss", "a vector instead of a scalar", {T: [("torch.full_like(real_logits, 1.0 - smooth))", "torch.full_like(real_logits, 1.0 - smooth), reduction='none').mean() * torch.ones(2)")],
                                                                F: [("return tf.reduce_mean(real_loss) + tf.reduce_mean(fake_loss)", "return tf.reduce_mean(real_loss) + tf.reduce_mean(fake_loss) * tf.ones(2)")]}),
    # generator loss
    ("gan_generator_loss", "saturating minimax loss", {T: [("F.binary_cross_entropy_with_logits(fake_logits, torch.ones_like(fake_logits))", "-F.binary_cross_entropy_with_logits(fake_logits, torch.zeros_like(fake_logits))")],
                                                       F: [("tf.reduce_mean(tf.math.softplus(-fake_logits))", "-tf.reduce_mean(tf.math.softplus(fake_logits))")]}),
    ("gan_generator_loss", "sign flipped", {T: [("return F.", "return -F.")], F: [("return tf.reduce_mean(", "return -tf.reduce_mean(")]}),
    ("gan_generator_loss", "sigmoid applied first", {T: [("(fake_logits, torch.ones_like", "(torch.sigmoid(fake_logits), torch.ones_like")], F: [("softplus(-fake_logits)", "softplus(-tf.sigmoid(fake_logits))")]}),
    ("gan_generator_loss", "log of sigmoid", {T: [("F.binary_cross_entropy_with_logits(fake_logits, torch.ones_like(fake_logits))", "-torch.mean(torch.log(torch.sigmoid(fake_logits)))")],
                                              F: [("tf.reduce_mean(tf.math.softplus(-fake_logits))", "-tf.reduce_mean(tf.math.log(tf.sigmoid(fake_logits)))")]}),
    ("gan_generator_loss", "sum instead of mean", {T: [("torch.ones_like(fake_logits))", "torch.ones_like(fake_logits), reduction='sum')")], F: [("tf.reduce_mean(", "tf.reduce_sum(")]}),
    ("gan_generator_loss", "graph cut", {T: [("return F.binary_cross_entropy_with_logits(fake_logits, torch.ones_like(fake_logits))", "return F.binary_cross_entropy_with_logits(fake_logits.detach(), torch.ones_like(fake_logits))")],
                                         F: [("softplus(-fake_logits)", "softplus(-tf.stop_gradient(fake_logits))")]}),
    # training step
    ("gan_training_step", "D step also moves G", {T: [("fake = G(z_d).detach()", "fake = G(z_d)"), ("    opt_g.zero_grad()\n    g_loss.backward()", "    g_loss.backward()"), ("    opt_d.zero_grad()\n", "    opt_d.zero_grad()\n    opt_g.zero_grad()\n")],
                                                  F: [("grads = tape.gradient(d_loss, D.trainable_variables)  # only D's variables\n    opt_d.apply_gradients(zip(grads, D.trainable_variables))",
                                                       "grads = tape.gradient(d_loss, D.trainable_variables + G.trainable_variables)\n    opt_d.apply_gradients(zip(grads, D.trainable_variables + G.trainable_variables))"),
                                                      ("    fake = G(z_d)\n    with tf.GradientTape() as tape:\n", "    with tf.GradientTape() as tape:\n        fake = G(z_d)\n")]}),
    ("gan_training_step", "G step moves D", {T: [("    opt_g.step()\n", "    opt_g.step()\n    opt_d.step()\n")],
                                             F: [("grads = tape.gradient(g_loss, G.trainable_variables)  # only G's variables\n    opt_g.apply_gradients(zip(grads, G.trainable_variables))",
                                                  "grads = tape.gradient(g_loss, G.trainable_variables + D.trainable_variables)\n    opt_g.apply_gradients(zip(grads, G.trainable_variables + D.trainable_variables))")]}),
    ("gan_training_step", "simultaneous updates (G against the old D)", {T: [("    d_loss = discriminator_loss(D(real), D(fake), smooth)\n", "    d_loss = discriminator_loss(D(real), D(fake), smooth)\n    g_loss = generator_loss(D(G(z_g)))\n"),
                                                                             ("    g_loss = generator_loss(D(G(z_g)))  # gradients also land in D's .grad; opt_d.zero_grad() clears them next time\n", ""),
                                                                             ("    opt_d.zero_grad()\n    d_loss.backward()\n    opt_d.step()\n", "    opt_d.zero_grad()\n    d_loss.backward(retain_graph=True)\n    opt_d.step()\n"),
                                                                             ("    opt_g.zero_grad()\n    g_loss.backward()", "    opt_g.zero_grad()\n    g_grads = torch.autograd.grad(g_loss, list(G.parameters()), allow_unused=True)\n    for p, g in zip(G.parameters(), g_grads):\n        p.grad = g")],
                                                                         F: [("    with tf.GradientTape() as tape:\n        d_loss = discriminator_loss(D(real), D(fake), smooth)\n", "    with tf.GradientTape() as tape:\n        d_loss = discriminator_loss(D(real), D(fake), smooth)\n    with tf.GradientTape() as g_tape:\n        g_loss = generator_loss(D(G(z_g)))\n    g_grads = g_tape.gradient(g_loss, G.trainable_variables)\n"),
                                                                             ("    with tf.GradientTape() as tape:\n        g_loss = generator_loss(D(G(z_g)))  # D is already updated\n    grads = tape.gradient(g_loss, G.trainable_variables)  # only G's variables\n", "    grads = g_grads\n")]}),
    ("gan_training_step", "D gradients never zeroed", {T: [("    opt_d.zero_grad()\n", "")], F: [("opt_d.apply_gradients(zip(grads, D.trainable_variables))", "opt_d.apply_gradients(zip([g * 2.0 for g in grads], D.trainable_variables))")]}),
    ("gan_training_step", "fakes for D drawn from z_g", [("fake = G(z_d)", "fake = G(z_g)")]),
    ("gan_training_step", "smoothing not passed on", [("D(fake), smooth)", "D(fake))")]),
    ("gan_training_step", "losses after the updates", {T: [("return d_loss.detach(), g_loss.detach()", "return discriminator_loss(D(real), D(G(z_d)), smooth).detach(), generator_loss(D(G(z_g))).detach()")],
                                                       F: [("return d_loss, g_loss", "return discriminator_loss(D(real), D(G(z_d)), smooth), generator_loss(D(G(z_g)))")]}),
    # mode coverage
    ("gan_mode_coverage", "2 std instead of 3", [("< 3 * std", "< 2 * std")]),
    ("gan_mode_coverage", "squared distances", [("dist = np.sqrt(((x[:, None, :] - c[None, :, :]) ** 2).sum(-1))", "dist = ((x[:, None, :] - c[None, :, :]) ** 2).sum(-1)")]),
    ("gan_mode_coverage", "all samples count towards coverage", [("np.bincount(nearest[good], minlength=len(c))", "np.bincount(nearest, minlength=len(c))")]),
    ("gan_mode_coverage", "threshold relative to the high-quality samples", [("min_fraction * len(x) / len(c)", "min_fraction * good.sum() / len(c)")]),
    ("gan_mode_coverage", "strict > at the threshold", [("counts >= min_fraction", "counts > min_fraction")]),
    ("gan_mode_coverage", "share of covered modes", [("float(good.mean())", "float(np.mean(counts >= min_fraction * len(x) / len(c)))")]),
    ("gan_mode_coverage", "numpy types returned", [("return int(np.sum(counts >= min_fraction * len(x) / len(c))), float(good.mean())", "return np.sum(counts >= min_fraction * len(x) / len(c)), good.mean()")]),
    # gradient penalty
    ("gan_gradient_penalty", "penalty at the real points", {T: [("x_hat = (a * real + (1 - a) * fake)", "x_hat = (real + 0 * a)")], F: [("x_hat = a * real + (1 - a) * fake", "x_hat = real + 0 * a")]}),
    ("gan_gradient_penalty", "penalty at the fake points", {T: [("x_hat = (a * real + (1 - a) * fake)", "x_hat = (fake + 0 * a)")], F: [("x_hat = a * real + (1 - a) * fake", "x_hat = fake + 0 * a")]}),
    ("gan_gradient_penalty", "alpha on the wrong side", [("a * real + (1 - a) * fake", "(1 - a) * real + a * fake")]),
    ("gan_gradient_penalty", "alpha per feature", {T: [("alpha = torch.rand(real.shape[0], device=real.device, dtype=real.dtype)\n    a = alpha.reshape(-1, *([1] * (real.dim() - 1)))", "a = torch.rand(real.shape, device=real.device, dtype=real.dtype)\n    else:\n        a = alpha.reshape(-1, *([1] * (real.dim() - 1)))")],
                                                       F: [("alpha = tf.random.uniform([tf.shape(real)[0]], dtype=real.dtype)\n    a = tf.reshape(alpha, [-1] + [1] * (len(real.shape) - 1))", "a = tf.random.uniform(tf.shape(real), dtype=real.dtype)\n    else:\n        a = tf.reshape(alpha, [-1] + [1] * (len(real.shape) - 1))")]}),
    ("gan_gradient_penalty", "alpha from a normal distribution", {T: [("alpha = torch.rand(", "alpha = torch.randn(")], F: [("tf.random.uniform([tf.shape(real)[0]]", "tf.random.normal([tf.shape(real)[0]]")]}),
    ("gan_gradient_penalty", "squared norm", {T: [("norm = torch.sqrt(torch.sum(grad.reshape(grad.shape[0], -1) ** 2, dim=1) + 1e-12)", "norm = torch.sum(grad.reshape(grad.shape[0], -1) ** 2, dim=1)")],
                                              F: [("norm = tf.sqrt(tf.reduce_sum(tf.reshape(grad, (tf.shape(grad)[0], -1)) ** 2, axis=1) + 1e-12)", "norm = tf.reduce_sum(tf.reshape(grad, (tf.shape(grad)[0], -1)) ** 2, axis=1)")]}),
    ("gan_gradient_penalty", "L1 norm", {T: [("norm = torch.sqrt(torch.sum(grad.reshape(grad.shape[0], -1) ** 2, dim=1) + 1e-12)", "norm = torch.sum(torch.abs(grad.reshape(grad.shape[0], -1)), dim=1)")],
                                         F: [("norm = tf.sqrt(tf.reduce_sum(tf.reshape(grad, (tf.shape(grad)[0], -1)) ** 2, axis=1) + 1e-12)", "norm = tf.reduce_sum(tf.abs(tf.reshape(grad, (tf.shape(grad)[0], -1))), axis=1)")]}),
    ("gan_gradient_penalty", "one norm over the whole batch", {T: [("norm = torch.sqrt(torch.sum(grad.reshape(grad.shape[0], -1) ** 2, dim=1) + 1e-12)", "norm = torch.sqrt(torch.sum(grad ** 2) + 1e-12)")],
                                                               F: [("norm = tf.sqrt(tf.reduce_sum(tf.reshape(grad, (tf.shape(grad)[0], -1)) ** 2, axis=1) + 1e-12)", "norm = tf.sqrt(tf.reduce_sum(grad ** 2) + 1e-12)")]}),
    ("gan_gradient_penalty", "norm over the last axis only", {T: [("torch.sum(grad.reshape(grad.shape[0], -1) ** 2, dim=1)", "torch.sum(grad ** 2, dim=-1)")], F: [("tf.reduce_sum(tf.reshape(grad, (tf.shape(grad)[0], -1)) ** 2, axis=1)", "tf.reduce_sum(grad ** 2, axis=-1)")]}),
    ("gan_gradient_penalty", "weight ignored", [("return weight * ", "return 10.0 * ")]),
    ("gan_gradient_penalty", "one-sided penalty", {T: [("torch.mean((norm - 1.0) ** 2)", "torch.mean(torch.relu(norm - 1.0) ** 2)")], F: [("tf.reduce_mean((norm - 1.0) ** 2)", "tf.reduce_mean(tf.nn.relu(norm - 1.0) ** 2)")]}),
    ("gan_gradient_penalty", "not differentiable w.r.t. the critic", {T: [("create_graph=True", "create_graph=False")], F: [("grad = tape.gradient(out, x_hat)", "grad = tf.stop_gradient(tape.gradient(out, x_hat))")]}),
    # label maps
    ("gan_label_maps", "label maps first", {T: [("torch.cat([images, maps], dim=1)", "torch.cat([maps, images], dim=1)")], F: [("tf.concat([images, maps], axis=-1)", "tf.concat([maps, images], axis=-1)")]}),
    ("gan_label_maps", "num_classes ignored", {T: [("F.one_hot(y.long(), num_classes)", "F.one_hot(y.long(), 10)"), ("images.shape[3])", "images.shape[3])")],
                                               F: [("tf.one_hot(tf.cast(y, tf.int32), num_classes,", "tf.one_hot(tf.cast(y, tf.int32), 10,"), ("shape[2], num_classes)", "shape[2], 10)")]}),
    ("gan_label_maps", "off-by-one one-hot", {T: [("F.one_hot(y.long(), num_classes)", "F.one_hot((y.long() + 1) % num_classes, num_classes)")], F: [("tf.cast(y, tf.int32), num_classes", "(tf.cast(y, tf.int32) + 1) % num_classes, num_classes")]}),
    ("gan_label_maps", "label as one channel", {T: [("onehot[:, :, None, None].expand(-1, -1, images.shape[2], images.shape[3])", "y.to(images.dtype)[:, None, None, None].expand(-1, 1, images.shape[2], images.shape[3])")],
                                                F: [("tf.broadcast_to(onehot[:, None, None, :], (shape[0], shape[1], shape[2], num_classes))", "tf.broadcast_to(tf.cast(y, images.dtype)[:, None, None, None], (shape[0], shape[1], shape[2], 1))")]}),
    ("gan_label_maps", "graph cut", {T: [("torch.cat([images, maps], dim=1)", "torch.cat([images.detach(), maps], dim=1)")], F: [("tf.concat([images, maps], axis=-1)", "tf.concat([tf.stop_gradient(images), maps], axis=-1)")]}),
    # pixel shuffle
    ("gan_pixel_shuffle", "reshape without transpose", {T: [(".permute(0, 1, 4, 2, 5, 3)", "")], F: [("    x = tf.transpose(x, (0, 1, 4, 2, 5, 3))        # (n, h, i, w, j, c)\n", "")]}),
    ("gan_pixel_shuffle", "i and j swapped", {T: [("permute(0, 1, 4, 2, 5, 3)", "permute(0, 1, 4, 3, 5, 2)")], F: [("(0, 1, 4, 2, 5, 3)", "(0, 1, 5, 2, 4, 3)")]}),
    ("gan_pixel_shuffle", "depth_to_space channel order", {T: [("x.reshape(n, c, r, r, h, w).permute(0, 1, 4, 2, 5, 3)", "x.reshape(n, r, r, c, h, w).permute(0, 3, 4, 1, 5, 2)")],
                                                            F: [("    x = tf.reshape(x, (n, h, w, c, r, r))\n    x = tf.transpose(x, (0, 1, 4, 2, 5, 3))        # (n, h, i, w, j, c)\n    return tf.reshape(x, (n, h * r, w * r, c))", "    return tf.nn.depth_to_space(x, r)")]}),
    ("gan_pixel_shuffle", "H and W mixed up", {T: [("reshape(n, c, h * r, w * r)", "reshape(n, c, w * r, h * r)")], F: [("tf.reshape(x, (n, h * r, w * r, c))", "tf.reshape(x, (n, w * r, h * r, c))")]}),
    ("gan_pixel_shuffle", "r hard-coded to 2", {T: [("c = cr2 // (r * r)", "r = 2\n    c = cr2 // 4")], F: [("c = x.shape[-1] // (r * r)", "r = 2\n    c = x.shape[-1] // 4")]}),
]


chapter, test_reference_solutions_pass_every_test, test_enough_wrong_answers_per_exercise, test_wrong_answer_is_caught = \
    mutation_tests(NOTEBOOKS, MUTANTS, DEPENDS)

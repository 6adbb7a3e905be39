"""Chapter 06_audio's models give the same outputs in PyTorch and Keras under shared weights, and each framework's
models keep their own promises.

Across frameworks (weights torch -> NumPy shared layout -> Keras, max abs diff <= 1e-5 in float32): the WaveNet's
logits (with the injected causal padding), its cached generation step, MaskNet, CTCNet, and the STFT / inverse STFT
helpers. In each framework: the cached step equals the full forward pass; the WaveNet is causal (changing a future
sample changes no earlier output) and really calls the injected padding; generate() returns ids in range,
reproducibly for a seed; the inverse STFT inverts the STFT. The reference causal padding lives here (the graded
exercise is never in genlab/).
"""
import numpy as np
import pytest

torch = pytest.importorskip("torch")
tf = pytest.importorskip("tensorflow")

import genlab.tf.audio as kaudio  # noqa: E402
import genlab.torch.audio as taudio  # noqa: E402

pytestmark = pytest.mark.frameworks
TOL = 1e-5


def torch_pad(x, kernel_size, dilation=1):
    return torch.nn.functional.pad(x, (0, 0, (kernel_size - 1) * dilation, 0))


def tf_pad(x, kernel_size, dilation=1):
    return tf.pad(x, [[0, 0], [(kernel_size - 1) * dilation, 0], [0, 0]])


def _wavenet_pair(seed=0, **kw):
    torch.manual_seed(seed)
    tm = taudio.WaveNet(torch_pad, **kw)
    km = kaudio.WaveNet(tf_pad, **kw)
    kaudio.set_weights(km, taudio.get_weights(tm))
    return tm, km


@pytest.mark.parametrize("kw", [{}, {"kernel_size": 3, "dilations": (1, 2, 4), "channels": 16, "skip_channels": 24, "n_classes": 64}])
def test_wavenet_parity_and_cached_steps(kw):
    tm, km = _wavenet_pair(**kw)
    n_classes = kw.get("n_classes", 256)
    rng = np.random.default_rng(1)
    ids = rng.integers(0, n_classes, (3, 150))
    cond = rng.random((3, 11)).astype(np.float32)
    out_t = tm(torch.as_tensor(ids), torch.as_tensor(cond)).detach().numpy()
    out_k = km(ids, cond).numpy()
    assert out_t.shape == out_k.shape == (3, 150, n_classes)
    assert np.abs(out_t - out_k).max() <= TOL
    assert out_t.std() > 1e-3
    # the cached step (one position per layer) equals the full forward pass, in both frameworks
    for model, fw in ((tm, "torch"), (km, "tf")):
        n_layers, c = len(model.dilations), model.channels
        if fw == "torch":
            cc = model.cond(torch.as_tensor(cond)).view(3, n_layers, 2 * c)
            caches = [torch.zeros(3, (model.kernel_size - 1) * d, c) for d in model.dilations]
            step = lambda t, caches: model.step(torch.as_tensor(ids[:, t]), cc, caches)  # noqa: E731
        else:
            cc = tf.reshape(model.cond(cond), [3, n_layers, 2 * c])
            caches = [tf.zeros([3, (model.kernel_size - 1) * d, c]) for d in model.dilations]
            step = lambda t, caches: model.step(tf.constant(ids[:, t]), cc, caches)  # noqa: E731
        steps = []
        for t in range(40):
            logits, caches = step(t, caches)
            steps.append(np.asarray(logits))
        assert np.abs(np.stack(steps, 1) - out_t[:, :40]).max() <= TOL


def test_wavenet_is_causal_and_uses_the_injected_padding():
    calls = []

    def counting_pad(x, kernel_size, dilation=1):
        calls.append((kernel_size, dilation))
        return torch_pad(x, kernel_size, dilation)

    torch.manual_seed(0)
    tm = taudio.WaveNet(counting_pad)
    rng = np.random.default_rng(2)
    ids = rng.integers(0, 256, (1, 200))
    cond = torch.as_tensor(rng.random((1, 11)).astype(np.float32))
    a = tm(torch.as_tensor(ids), cond).detach().numpy()
    assert calls == [(2, d) for d in tm.dilations]
    ids2 = ids.copy()
    ids2[0, 120:] = rng.integers(0, 256, 80)
    b = tm(torch.as_tensor(ids2), cond).detach().numpy()
    assert np.abs(a[:, :120] - b[:, :120]).max() == 0.0
    assert np.abs(a[:, 120:] - b[:, 120:]).max() > 0
    # padding on the wrong side breaks causality: the model really depends on what it is given
    wrong = taudio.WaveNet(lambda x, k, d=1: torch.nn.functional.pad(x, (0, 0, 0, (k - 1) * d)))
    taudio.set_weights(wrong, taudio.get_weights(tm))
    c = wrong(torch.as_tensor(ids2), cond).detach().numpy()
    assert np.abs(c[:, :120] - a[:, :120]).max() > 0


@pytest.mark.parametrize("fw", ["torch", "tf"])
def test_generate_is_reproducible_and_in_range(fw):
    tm, km = _wavenet_pair(seed=3, channels=8, skip_channels=8, dilations=(1, 2))
    model = tm if fw == "torch" else km
    cond = np.eye(11, dtype=np.float32)[:2]
    a = np.asarray(model.generate(cond, 30, first_id=128, temperature=1.0, seed=5))
    b = np.asarray(model.generate(cond, 30, first_id=128, temperature=1.0, seed=5))
    assert a.shape == (2, 30) and np.array_equal(a, b)
    assert a.min() >= 0 and a.max() < 256
    greedy = np.asarray(model.generate(cond, 10, temperature=1e-4, seed=1))
    assert np.array_equal(greedy, np.asarray(model.generate(cond, 10, temperature=1e-4, seed=2)))


@pytest.mark.parametrize("name,shape", [("MaskNet", (2, 37, 129)), ("CTCNet", (3, 41, 40)), ("CTCNet", (1, 8, 40))])
def test_masknet_and_ctcnet_parity(name, shape):
    torch.manual_seed(4)
    tm = getattr(taudio, name)()
    km = getattr(kaudio, name)()
    kaudio.set_weights(km, taudio.get_weights(tm))
    assert taudio.count_params(tm) == kaudio.count_params(km)
    x = np.random.default_rng(5).normal(size=shape).astype(np.float32)
    out_t = tm(torch.as_tensor(x)).detach().numpy()
    out_k = km(x).numpy()
    assert out_t.shape == out_k.shape
    assert np.abs(out_t - out_k).max() <= TOL
    if name == "CTCNet":
        assert out_t.shape[1] == taudio.CTCNet.output_lengths(shape[1]) == kaudio.CTCNet.output_lengths(shape[1])
        assert np.allclose(np.exp(out_t).sum(-1), 1.0, atol=1e-5)
    else:
        assert out_t.min() > 0 and out_t.max() < 1


def test_set_weights_checks_shapes():
    tm = taudio.MaskNet()
    w = taudio.get_weights(tm)
    with pytest.raises(ValueError):
        kaudio.set_weights(kaudio.MaskNet(), w[:-1])
    with pytest.raises(ValueError):
        taudio.set_weights(tm, [np.zeros((1, 1))] * len(w))


@pytest.mark.parametrize("n_fft,hop,length", [(256, 64, 1000), (128, 32, 777), (64, 16, 64)])
def test_stft_parity_and_inversion(n_fft, hop, length):
    x = np.random.default_rng(6).normal(size=(2, length)).astype(np.float32)
    st = taudio.stft(torch.as_tensor(x), n_fft, hop).numpy()
    sk = kaudio.stft(tf.constant(x), n_fft, hop).numpy()
    assert st.shape == sk.shape == (2, 1 + length // hop, n_fft // 2 + 1)
    assert np.abs(st - sk).max() <= TOL * max(1.0, np.abs(st).max())
    yt = taudio.istft(torch.as_tensor(st), n_fft, hop, length=length).numpy()
    yk = kaudio.istft(tf.constant(sk), n_fft, hop, length=length).numpy()
    assert np.abs(yt - x).max() <= 1e-4 and np.abs(yk - x).max() <= 1e-4

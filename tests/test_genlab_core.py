"""genlab core: QUICK mode, seeding, report(), plotting helpers and the test-cell checks."""
import json
import random

import numpy as np
import pytest

import genlab
from genlab import testing, viz


def test_quick_mode_follows_the_environment(monkeypatch):
    for value, expected in [("1", True), ("true", True), ("0", False), ("", False), ("no", False)]:
        monkeypatch.setenv("GENLAB_QUICK", value)
        assert genlab.is_quick() is expected
        assert genlab.pick("full", "quick") == ("quick" if expected else "full")


def test_seed_everything_repeats_python_and_numpy_streams():
    genlab.seed_everything(123)
    a = (random.random(), np.random.rand(3))
    genlab.seed_everything(123)
    b = (random.random(), np.random.rand(3))
    assert a[0] == b[0] and np.array_equal(a[1], b[1])
    with pytest.raises(ValueError):
        genlab.seed_everything(-1)


def test_report_prints_and_appends_json_lines(tmp_path, monkeypatch, capsys):
    out = tmp_path / "r.jsonl"
    monkeypatch.setenv("GENLAB_REPORT", str(out))
    monkeypatch.setenv("GENLAB_QUICK", "1")
    assert genlab.report("vae/test_nll_nats", np.float32(15.5), "nats") == 15.5
    genlab.report("vae/other", 2)
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert rows == [{"key": "vae/test_nll_nats", "value": 15.5, "unit": "nats", "quick": True},
                    {"key": "vae/other", "value": 2.0, "unit": None, "quick": True}]
    assert "vae/test_nll_nats = 15.5 nats" in capsys.readouterr().out


@pytest.mark.parametrize("key,value,err", [("NoSlash", 1.0, ValueError), ("vae/x", float("nan"), ValueError),
                                           ("vae/x", "abc", TypeError), ("vae/x", None, TypeError)])
def test_report_rejects_bad_input(key, value, err):
    with pytest.raises(err):
        genlab.report(key, value)


def test_plot_helpers_draw_what_they_are_given():
    fig = viz.image_grid(np.random.rand(10, 64), nrow=5, titles=[str(i) for i in range(10)], title="t")
    assert len([ax for ax in fig.axes if ax.images]) == 10
    fig = viz.loss_curves({"train": [3, 2, 1], "test": [3.5, 2.5, 2]})
    assert len(fig.axes[0].lines) == 2
    fig = viz.scatter_2d(np.random.rand(20, 2), np.arange(20) % 3)
    assert len(fig.axes[0].collections) == 3
    with pytest.raises(ValueError):
        viz.image_grid(np.random.rand(4, 10))
    with pytest.raises(ValueError):
        viz.scatter_2d(np.random.rand(4, 3))


class _FakeEverything:
    """An object that claims to equal anything and to be close to anything."""

    shape = (2,)
    dtype = np.float64

    def __eq__(self, other):
        return True

    def __array__(self, *a, **k):
        return np.array([1.0, 2.0])


class _SubArray(np.ndarray):
    def __eq__(self, other):
        return np.ones(self.shape, bool)


def test_checks_reject_objects_that_fake_equality():
    with pytest.raises(AssertionError):
        testing.assert_close(_FakeEverything(), [1.0, 2.0])
    with pytest.raises(AssertionError):
        testing.assert_close(np.array([5.0, 5.0]).view(_SubArray), [1.0, 2.0])
    with pytest.raises(AssertionError):
        testing.assert_close(True, 1.0)
    with pytest.raises(AssertionError):
        testing.assert_close("1.0", 1.0)


def test_checks_compare_values_shapes_and_finiteness():
    testing.assert_close(np.float32([1.0, 2.0]), [1.0, 2.0])
    testing.assert_close(3, 3.0, shape=())
    with pytest.raises(AssertionError, match="shape"):
        testing.assert_close(np.zeros((2, 1)), np.zeros(2))
    with pytest.raises(AssertionError, match="NaN"):
        testing.assert_close(np.array([np.nan, 1.0]), [1.0, 1.0])
    with pytest.raises(AssertionError, match="mismatch"):
        testing.assert_close(np.array([1.0, 2.1]), [1.0, 2.0])
    with pytest.raises(AssertionError, match="no gradient"):
        testing.assert_finite_grads([None], ["mu"])
    with pytest.raises(AssertionError, match="zero"):
        testing.assert_finite_grads([np.zeros(3)], ["mu"])


def test_image_checks_speak_the_students_layout():
    want = np.arange(2 * 3 * 5 * 4, dtype=float).reshape(2, 3, 5, 4)  # (N, H, W, C)
    nchw = want.transpose(0, 3, 1, 2)
    np.testing.assert_array_equal(testing.assert_close_images(nchw, want, "x", 1), want)
    np.testing.assert_array_equal(testing.assert_close_images(want, want, "x", -1), want)
    with pytest.raises(AssertionError, match=r"x \(N, C, H, W\): shape \(2, 3, 3, 5\), expected \(2, 4, 3, 5\)"):
        testing.assert_close_images(nchw[:, :3], want, "x", 1)  # a PyTorch result with one channel missing
    with pytest.raises(AssertionError, match=r"x \(N, H, W, C\): shape \(2, 3, 5, 3\), expected \(2, 3, 5, 4\)"):
        testing.assert_close_images(want[..., :3], want, "x", -1)
    with pytest.raises(AssertionError, match=r"mismatch at index \(1, 2, 0, 4\)"):  # the index in NCHW
        bad = nchw.copy(); bad[1, 2, 0, 4] += 1
        testing.assert_close_images(bad, want, "x", 1)

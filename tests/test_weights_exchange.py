"""genlab.{torch,tf}.weights: the copying and checks behind every model's get_weights / set_weights."""
from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")
tf = pytest.importorskip("tensorflow")

from genlab.tf import weights as kw  # noqa: E402
from genlab.torch import weights as tw  # noqa: E402

pytestmark = pytest.mark.frameworks


def _tensors(fw, arrays):
    if fw is tw:
        return [torch.nn.Parameter(torch.as_tensor(a)) for a in arrays]
    return [tf.Variable(a) for a in arrays]


@pytest.mark.parametrize("fw", [tw, kw], ids=["torch", "tf"])
def test_round_trip_and_refusals_change_nothing(fw):
    rng = np.random.default_rng(0)
    start = [rng.normal(size=(3, 2)).astype(np.float32), rng.normal(size=(2,)).astype(np.float32)]
    variables = _tensors(fw, start)
    new = [rng.normal(size=(3, 2)), rng.normal(size=(2,))]            # float64 in, float32 stored
    fw.assign_arrays(variables, new)
    got = fw.read_arrays(variables)
    assert all(g.dtype == np.float32 for g in got)
    assert all(np.allclose(g, n.astype(np.float32)) for g, n in zip(got, new))
    with pytest.raises(ValueError, match="expected 2 arrays, got 1"):
        fw.assign_arrays(variables, new[:1])
    # the second shape is wrong: the first variable must not have been overwritten either
    with pytest.raises(ValueError, match="shape mismatch for bias"):
        fw.assign_arrays(variables, [np.zeros((3, 2)), np.zeros((3,))], names=["kernel", "bias"])
    assert all(np.allclose(g, n) for g, n in zip(fw.read_arrays(variables), got))

"""genlab.data: the fixed digits split, its checksums (datasheet), binarisation and helpers."""
import re
from pathlib import Path

import numpy as np
import pytest

from genlab import data

SHEET = (Path(__file__).resolve().parents[1] / "datasets" / "digits.md").read_text()


def _sheet_checksum(label: str) -> str:
    m = re.search(rf"\| {re.escape(label)} \([^|]*\) \| `([0-9a-f]{{64}})` \|", SHEET) or \
        re.search(rf"\| {re.escape(label)} \| `([0-9a-f]{{64}})` \|", SHEET)
    assert m, f"no checksum for {label!r} in datasets/digits.md"
    return m.group(1)


@pytest.mark.parametrize("split", ["train", "test"])
def test_checksums_match_datasheet(split):
    d, b = data.load_digits(split), data.load_digits(split, binarized=True)
    assert data.checksum(d.x) == _sheet_checksum(f"{split} x")
    assert data.checksum(d.y) == _sheet_checksum(f"{split} y")
    assert data.checksum(b.x) == _sheet_checksum(f"{split} x binarised")


def test_split_is_a_partition_of_the_whole_set():
    tr, te = data.split_indices()
    assert len(tr) == 1500 and len(te) == 297
    assert not set(tr) & set(te)
    assert sorted(np.concatenate([tr, te])) == list(range(1797))
    full = data.load_digits("all")
    np.testing.assert_array_equal(full.x[te], data.load_digits("test").x)


def test_values_shapes_and_types():
    d = data.load_digits("train")
    assert d.x.dtype == np.float32 and d.x.shape == (1500, 8, 8)
    assert d.y.dtype == np.int64 and set(np.unique(d.y)) == set(range(10))
    assert d.x.min() == 0.0 and d.x.max() == 1.0
    assert d.flat().shape == (1500, 64)
    b = data.load_digits("train", binarized=True)
    assert set(np.unique(b.x)) == {0.0, 1.0}
    np.testing.assert_array_equal(b.x, (d.x > 0.5).astype(np.float32))
    assert len(data.load_digits("test", limit=10)) == 10


def test_binarize_threshold_is_strict():
    np.testing.assert_array_equal(data.binarize(np.array([0.5, 0.50001, 0.0, 1.0])), [0, 1, 0, 1])


@pytest.mark.parametrize("kwargs", [{"split": "valid"}, {"limit": 0}, {"limit": 2.5}])
def test_bad_arguments_are_rejected(kwargs):
    with pytest.raises(ValueError):
        data.load_digits(**kwargs)


def test_one_hot():
    np.testing.assert_array_equal(data.one_hot(np.array([2, 0]), 3), [[0, 0, 1], [1, 0, 0]])
    for bad in (np.array([3]), np.array([-1]), np.array([0.5]), np.array([[1]])):
        with pytest.raises(ValueError):
            data.one_hot(bad, 3)

"""`genlab sync`: edits made in one framework's built notebook go back into the chapter source, with
the build's substitutions undone, and rebuilding gives the edited notebook again."""
from __future__ import annotations

from pathlib import Path

import nbformat
import pytest

from genlab.authoring import build_chapter, build_notebook, parse
from genlab.sync import SyncError, carry_back, sync, unrewrite_fw

SOURCE = '''# %% [markdown]
# # Chapter 99 · A topic
#
# This notebook uses **{{framework}}**; helpers come from `genlab.{{fw}}`.

# %%
import numpy as np
from genlab.fw import to_tensor as T

x = np.arange(3)

# %% only=torch
import torch

# %% only=tf
import tensorflow as tf

# %% [markdown]
# ## Exercise · `double`

# %% solution id=topic_double
def double(x):
    """Twice x."""
    ### BEGIN SOLUTION
    return 2 * x
    ### END SOLUTION

# %% test id=topic_double_test points=1
"""double: 2x."""
from genlab.testing import assert_close
assert_close(double(3.0), 6.0)
### BEGIN HIDDEN TESTS
assert_close(double(-1.5), -3.0)
### END HIDDEN TESTS
'''


@pytest.fixture
def chapter(tmp_path):
    src = tmp_path / "authoring" / "99_topic" / "topic.py"
    src.parent.mkdir(parents=True)
    src.write_text(SOURCE)
    build_chapter(src, tmp_path / "solutions" / "99_topic")
    return src, tmp_path / "solutions" / "99_topic" / "topic_pytorch.ipynb"


def _edit(path: Path, change) -> None:
    nb = nbformat.read(path, as_version=4)
    change(nb)
    nbformat.write(nb, path)


def test_edits_come_back_with_placeholders_and_genlab_fw(chapter):
    src, nb_path = chapter

    def change(nb):
        md = nb.cells[0]
        md.source = md.source.replace("# Chapter 99 · A topic", "# Chapter 99 · A better topic")
        code = nb.cells[1]
        code.source = code.source.replace("np.arange(3)", "np.arange(4)") + "\nfrom genlab.torch import grad_of\n"
        nb.cells.insert(2, nbformat.v4.new_markdown_cell("A note only PyTorch readers see."))

    _edit(nb_path, change)
    report = sync(nb_path)
    text = src.read_text()
    assert "# # Chapter 99 · A better topic" in text
    assert "# This notebook uses **{{framework}}**; helpers come from `genlab.{{fw}}`." in text  # placeholders kept
    assert "x = np.arange(4)" in text and "from genlab.fw import grad_of" in text and "genlab.torch" not in text
    assert "# %% [markdown] only=torch\n# A note only PyTorch readers see." in text
    assert len([r for r in report if r.startswith("changed")]) == 2 and any(r.startswith("new markdown") for r in report)
    # rebuilding gives the edited notebook's text for PyTorch, and TensorFlow gets the shared edit
    rebuilt = build_notebook(parse(src), "torch")
    edited = nbformat.read(nb_path, as_version=4)
    assert [c.source for c in rebuilt.cells] == [c.source.strip("\n") for c in edited.cells]
    tf = build_notebook(parse(src), "tf")
    assert any("np.arange(4)" in c.source and "genlab.tf import grad_of" in c.source for c in tf.cells)
    assert not any("PyTorch readers" in c.source for c in tf.cells)


def test_an_edit_of_a_substituted_word_is_refused_and_nothing_is_written(chapter):
    src, nb_path = chapter
    before = src.read_text()
    _edit(nb_path, lambda nb: setattr(nb.cells[0], "source", nb.cells[0].source.replace("**PyTorch**", "**Torch**")))
    with pytest.raises(SyncError, match="placeholder"):
        sync(nb_path)
    assert src.read_text() == before


def test_deleted_cells_stay_in_the_source_and_an_unchanged_notebook_changes_nothing(chapter):
    src, nb_path = chapter
    before = src.read_text()
    assert not [r for r in sync(nb_path) if not r.startswith("cell at")]
    _edit(nb_path, lambda nb: nb.cells.pop(3))
    report = sync(nb_path)
    assert any("not in the notebook" in r for r in report) and src.read_text() == before


def test_the_helpers():
    assert unrewrite_fw("from genlab.tf import a\nimport genlab.tf as _fw\nx = 'genlab.tf'\n", "tf") == \
        "from genlab.fw import a\nimport genlab.fw as _fw\nx = 'genlab.tf'\n"
    assert carry_back("uses {{framework}} here", "uses PyTorch here", "uses PyTorch there") == "uses {{framework}} there"
    with pytest.raises(SyncError):
        carry_back("uses {{framework}} here", "uses PyTorch here", "uses JAX here")

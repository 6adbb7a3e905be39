"""nbgrader preprocessors that the grader swaps into nbgrader's pipelines.

* :class:`GradingExecute` replaces ``Execute`` in ``autograde``: a cell that runs past the
  timeout gets a ``CellTimeoutError`` error output (so it scores 0 even if the student's code
  swallows the ``KeyboardInterrupt`` the interrupt raises, and the feedback says why); nbclient
  0.11 drops nbgrader's ``error_on_timeout`` reply. The kernel itself is started from the
  private kernelspec written by :mod:`genlab.grading.kernel`.
* :class:`SaveAutoGradesIgnoringStderr` replaces ``SaveAutoGrades`` in ``autograde``: nbgrader
  0.9.6 (``nbgrader.utils.determine_grade``) gives 0 to a test cell with *any* stderr output, so
  a correct answer that emits a warning (``warnings.warn``, a library's deprecation notice, a
  progress bar) loses its points. We grade a copy of the cell whose stderr streams are turned
  into stdout; the notebook itself keeps its stderr (so the feedback still shows it in red).
  Errors still score 0.
* :class:`HideHiddenTests` runs in ``generate_feedback``: ``autograde`` puts the hidden tests
  back into the autograded notebook (``OverwriteCells``), and nbgrader 0.9.6's feedback shows
  them. This removes the ``BEGIN HIDDEN TESTS`` ... ``END HIDDEN TESTS`` regions again and, in
  the cells that had one, shortens error tracebacks to ``ename: evalue`` because IPython's
  traceback quotes the failing source lines.
"""
from __future__ import annotations

import copy
import os

from nbformat.notebooknode import NotebookNode
from nbformat.v4 import new_output
from nbclient.util import run_sync
from nbgrader import utils
from nbgrader.preprocessors import ClearHiddenTests, Execute, SaveAutoGrades
from traitlets import Bool

from .kernel import KERNEL_PIDFILE_ENV


def timeout_error(timeout) -> NotebookNode:
    msg = f"the cell did not finish within {timeout} s"
    return new_output("error", ename="CellTimeoutError", evalue=msg, traceback=[f"CellTimeoutError: {msg}"])


class GradingExecute(Execute):
    """nbgrader's ``Execute`` that marks timed-out cells with a ``CellTimeoutError`` output
    and records the kernel's process id (see :data:`genlab.grading.kernel.KERNEL_PIDFILE_ENV`)."""

    async def async_start_new_kernel(self, **kwargs):
        await super().async_start_new_kernel(**kwargs)
        pidfile = os.environ.get(KERNEL_PIDFILE_ENV)
        pid = getattr(getattr(self.km, "provisioner", None), "pid", None)
        if pidfile and pid:
            with open(pidfile, "a", encoding="ascii") as f:
                f.write(f"{pid}\n")

    # nbclient binds the synchronous wrapper at class creation: rebind it to our coroutine.
    start_new_kernel = run_sync(async_start_new_kernel)

    async def _async_handle_timeout(self, timeout, cell=None):
        if cell is not None and cell.get("cell_type") == "code":
            cell.outputs.append(timeout_error(timeout))
        return await super()._async_handle_timeout(timeout, cell)


def stderr_as_stdout(outputs: list) -> list:
    """A copy of ``outputs`` in which every stderr stream is a stdout stream."""
    out = []
    for o in outputs:
        if o.get("output_type") == "stream" and o.get("name") == "stderr":
            o = copy.deepcopy(o)
            o["name"] = "stdout"
        out.append(o)
    return out


def determine_grade_ignoring_stderr(cell: NotebookNode, log=None):
    """``nbgrader.utils.determine_grade`` for ``cell``, not counting stderr output as a failure."""
    if cell.get("cell_type") == "code" and "outputs" in cell:
        cell = copy.copy(cell)
        cell.outputs = stderr_as_stdout(cell.outputs)
    return utils.determine_grade(cell, log)


class SaveAutoGradesIgnoringStderr(SaveAutoGrades):
    """``SaveAutoGrades`` that grades with :func:`determine_grade_ignoring_stderr`."""

    def _add_score(self, cell, resources):
        if cell.cell_type != "code":
            return super()._add_score(cell, resources)
        original = cell.outputs
        cell.outputs = stderr_as_stdout(original)
        try:
            return super()._add_score(cell, resources)
        finally:
            cell.outputs = original


def short_error_outputs(outputs: list) -> list:
    """``outputs`` with each error's traceback reduced to one ``ename: evalue`` line."""
    out = []
    for o in outputs:
        if o.get("output_type") == "error":
            o = copy.deepcopy(o)
            o["traceback"] = [f"{o.get('ename', 'Error')}: {o.get('evalue', '')}".rstrip(": ")]
        out.append(o)
    return out


class HideHiddenTests(ClearHiddenTests):
    """Strip hidden tests (source and tracebacks) from a notebook before it becomes feedback."""

    # The autograded notebook is already graded; a student's cell that happens to contain the
    # delimiters must not make the feedback fail.
    enforce_metadata = Bool(False).tag(config=True)

    def preprocess_cell(self, cell, resources, cell_index):
        try:
            removed = self._remove_hidden_test_region(cell)
        except RuntimeError:  # unbalanced delimiters
            if utils.is_grade(cell) or utils.is_locked(cell):
                raise  # an instructor's cell: refuse rather than leak
            removed = False  # a student's cell (restored cells come from the source)
        if removed and cell.cell_type == "code":
            cell.outputs = short_error_outputs(cell.outputs)
        return cell, resources

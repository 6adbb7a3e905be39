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
import json
import os
import secrets
import time

from nbformat.notebooknode import NotebookNode
from nbformat.v4 import new_output
from nbclient.util import ensure_async, run_sync
from nbgrader import utils
from nbgrader.preprocessors import ClearHiddenTests, Execute, SaveAutoGrades
from traitlets import Bool, Integer, List

from . import guard as _guard
from .kernel import KERNEL_PIDFILE_ENV

#: Default cap on what one cell's outputs may add to the stored notebook.
MAX_OUTPUT_BYTES = 1 << 20


def timeout_error(timeout) -> NotebookNode:
    msg = f"the cell did not finish within {timeout} s"
    return new_output("error", ename="CellTimeoutError", evalue=msg, traceback=[f"CellTimeoutError: {msg}"])


def _error(ename: str, msg: str) -> NotebookNode:
    return new_output("error", ename=ename, evalue=msg, traceback=[f"{ename}: {msg}"])


def _out_size(out) -> int:
    try:
        return len(json.dumps(out, default=str))
    except Exception:  # pragma: no cover
        return MAX_OUTPUT_BYTES


class GradingExecute(Execute):
    """nbgrader's ``Execute`` hardened for untrusted notebooks:

    * a timed-out cell gets a ``CellTimeoutError`` output (it scores 0 even if the student's
      code swallows the interrupt), the per-cell timeout never runs past the whole-notebook
      limit (``notebook_timeout``), and once that limit is spent the remaining code cells are
      not run and get a ``NotebookTimeoutError``;
    * each cell's outputs are capped at ``max_output_bytes`` (the rest is dropped, with a note);
    * around every autograded test cell the comparison guard (:mod:`genlab.grading.guard`)
      restores the original comparison functions and checks afterwards that they were not
      changed during the test; a failed check is an ``IntegrityError`` (the cell scores 0);
    * the kernel's process id is recorded (see :data:`genlab.grading.kernel.KERNEL_PIDFILE_ENV`).
    """

    notebook_timeout = Integer(0, help="seconds for the whole notebook (0: no limit)").tag(config=True)
    max_output_bytes = Integer(MAX_OUTPUT_BYTES, help="bytes of output kept per cell").tag(config=True)
    guard = Bool(True, help="run the comparison guard around test cells").tag(config=True)
    guard_modules = List([], help="modules the guard snapshots").tag(config=True)
    guard_timeout = Integer(30, help="seconds to wait for the guard's answer").tag(config=True)

    recover_timeout = Integer(5, help="seconds a kernel has to answer after an interrupt").tag(config=True)
    kernel_restarts = 0
    _timed_out = False
    _deadline: float | None = None
    _guard_nonce: str | None = None
    _cell_bytes: dict | None = None

    async def async_start_new_kernel(self, **kwargs):
        await super().async_start_new_kernel(**kwargs)
        pidfile = os.environ.get(KERNEL_PIDFILE_ENV)
        pid = getattr(getattr(self.km, "provisioner", None), "pid", None)
        if pidfile and pid:
            with open(pidfile, "a", encoding="ascii") as f:
                f.write(f"{pid}\n")

    # nbclient binds the synchronous wrapper at class creation: rebind it to our coroutine.
    start_new_kernel = run_sync(async_start_new_kernel)

    def _remaining(self) -> float | None:
        if not self.notebook_timeout:
            return None
        if self._deadline is None:
            self._deadline = time.monotonic() + self.notebook_timeout
        return self._deadline - time.monotonic()

    def _get_timeout(self, cell):
        timeout = super()._get_timeout(cell)
        remaining = self._remaining()
        if remaining is not None:
            left = max(1, int(remaining + 0.999))
            timeout = left if timeout is None else min(timeout, left)
        return timeout

    async def _silent(self, code: str, expression: str | None, timeout: float) -> dict | None:
        """Run ``code`` in the kernel without output or history; its execute_reply (or None)."""
        kwargs = {"user_expressions": {"v": expression}} if expression else {}
        msg_id = await ensure_async(self.kc.execute(code, silent=True, store_history=False, allow_stdin=False,
                                                    stop_on_error=False, **kwargs))
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            try:
                msg = await ensure_async(self.kc.shell_channel.get_msg(
                    timeout=min(left, self.shell_timeout_interval)))
            except Exception:  # queue.Empty
                if not await ensure_async(self.kc.is_alive()):
                    return None
                continue
            if msg["parent_header"].get("msg_id") == msg_id:
                return msg

    async def _setup_guard(self) -> None:
        nonce = secrets.token_hex(8)
        reply = await self._silent(_guard.setup_code(nonce, list(self.guard_modules)), None,
                                   max(self.guard_timeout, 120))
        ok = bool(reply) and reply["content"].get("status") == "ok"
        if not ok:
            self.log.error("guard setup failed: %s", reply and reply["content"])
        self._guard_nonce = nonce if ok else "unavailable"

    async def _run_guard(self, mode: str) -> tuple[bool, str]:
        nonce = self._guard_nonce
        if nonce == "unavailable":
            return False, "the grader's integrity check could not be set up in the kernel"
        reply = await self._silent("pass", _guard.guard_expression(nonce, mode), self.guard_timeout)
        return _guard.verdict_ok(reply, nonce)

    async def async_execute_cell(self, cell, cell_index, execution_count=None, store_history=True):
        if self._cell_bytes is None:
            self._cell_bytes = {}
        if cell.cell_type != "code" or not cell.source.strip():
            return await super().async_execute_cell(cell, cell_index, execution_count, store_history)
        remaining = self._remaining()
        if remaining is not None and remaining <= 0:
            cell.outputs = [_error("NotebookTimeoutError", f"not run: the notebook's time limit of "
                                   f"{self.notebook_timeout} s was used up")]
            return cell
        if self._timed_out:
            await self._recover_after_timeout()
        is_test = utils.is_grade(cell) and not utils.is_solution(cell)
        if self.guard and self._guard_nonce is None:
            await self._setup_guard()  # before any of the student's code runs
        if is_test and self.guard:
            ok, why = await self._run_guard("restore")
            if not ok:
                cell.outputs = [_error("IntegrityError", why)]
                return cell
        # Test cells (with the hidden tests) stay out of the kernel's history (In, _ih, the
        # history database), so later cells cannot simply print them into the feedback.
        cell = await super().async_execute_cell(cell, cell_index, execution_count,
                                                store_history and not is_test)
        if is_test and self.guard:
            ok, why = await self._run_guard("check")
            if not ok:
                cell.outputs.append(_error("IntegrityError", why))
        return cell

    execute_cell = run_sync(async_execute_cell)

    def output(self, outs, msg, display_id, cell_index):
        used = (self._cell_bytes or {}).get(cell_index, 0)
        if self._cell_bytes is None:
            self._cell_bytes = {}
        limit = self.max_output_bytes
        if limit and used >= limit:
            return None  # already capped: drop
        out = super().output(outs, msg, display_id, cell_index)
        if out is None or not limit:
            return out
        size = _out_size(out)
        if used + size > limit:
            # keep a truncated text (streams) or nothing, then a note
            if out.get("output_type") == "stream" and isinstance(out.get("text"), str):
                out["text"] = out["text"][: max(0, limit - used - 200)]
            elif out in outs:
                outs.remove(out)
            outs.append(new_output("stream", name="stdout",
                                   text=f"\n[output truncated: more than {limit} bytes]\n"))
            self._cell_bytes[cell_index] = limit
            return out
        self._cell_bytes[cell_index] = used + size
        return out

    async def _async_handle_timeout(self, timeout, cell=None):
        if cell is not None and cell.get("cell_type") == "code":
            cell.outputs.append(timeout_error(timeout))
        self._timed_out = True
        return await super()._async_handle_timeout(timeout, cell)

    async def _recover_after_timeout(self) -> None:
        """After a timed-out cell: if the kernel does not answer within ``recover_timeout``
        seconds (the student's code swallowed the interrupt), restart it, so that the rest of the
        notebook is still graded (in a fresh kernel: cells that need the lost state fail)."""
        self._timed_out = False
        if await self._silent("pass", None, self.recover_timeout) is not None:
            return
        self.log.error("the kernel did not recover from an interrupt within %s s: restarting it",
                       self.recover_timeout)
        await ensure_async(self.km.restart_kernel(now=True))
        await ensure_async(self.kc.wait_for_ready(timeout=self.startup_timeout))
        self._guard_nonce = None  # a fresh kernel: set the guard up again
        self.kernel_restarts += 1


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


SCRUBBED = "[hidden test]"


def _scrub(value, secrets_: list[str]):
    if isinstance(value, str):
        for line in secrets_:
            if line in value:
                value = value.replace(line, SCRUBBED)
        return value
    if isinstance(value, list):
        return [_scrub(v, secrets_) for v in value]
    if isinstance(value, dict):
        return type(value)({k: _scrub(v, secrets_) for k, v in value.items()})
    return value


def scrub_outputs(outputs: list, secrets_: list[str]) -> list:
    """``outputs`` with every occurrence of a hidden-test line replaced by ``[hidden test]``
    (streams, errors, rich data): a student's cell that printed what ran in its kernel."""
    out = []
    for o in outputs:
        o = copy.deepcopy(o)
        for key in ("text", "evalue", "traceback", "data"):
            if key in o:
                o[key] = _scrub(o[key], secrets_)
        out.append(o)
    return out


class HideHiddenTests(ClearHiddenTests):
    """Strip hidden tests (source and tracebacks) from a notebook before it becomes feedback."""

    # The autograded notebook is already graded; a student's cell that happens to contain the
    # delimiters must not make the feedback fail.
    enforce_metadata = Bool(False).tag(config=True)

    #: Hidden-test lines shorter than this are not scrubbed from outputs (too generic).
    min_scrub_length = 8

    def preprocess(self, nb, resources):
        secrets_ = self._hidden_lines(nb)
        nb, resources = super().preprocess(nb, resources)
        if secrets_:
            for cell in nb.cells:
                if cell.cell_type == "code":
                    cell.outputs = scrub_outputs(cell.outputs, secrets_)
        return nb, resources

    def _hidden_lines(self, nb) -> list[str]:
        """The hidden tests' lines (long enough to be specific), from the instructor's cells."""
        out, begin, end = [], self.begin_test_delimeter, self.end_test_delimeter
        for cell in nb.cells:
            if not (utils.is_grade(cell) or utils.is_locked(cell)):
                continue
            inside = False
            for line in cell.source.splitlines():
                if begin in line:
                    inside = True
                elif end in line:
                    inside = False
                elif inside and len(line.strip()) >= self.min_scrub_length:
                    out.append(line.strip())
        return sorted(set(out), key=len, reverse=True)

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

"""nbgrader preprocessors that the grader swaps into nbgrader's pipelines.

* :class:`GradingExecute` replaces ``Execute`` in ``autograde``. Ordinary cells run in the
  student's (sandboxed) kernel as usual. **Test cells never run there**: their code (visible and
  hidden tests) runs in this trusted process (:mod:`genlab.grading.judge`), which reaches the
  student's functions through an agent in the kernel (:mod:`genlab.grading.agent`) and judges
  what they return as plain data. The verdict goes into ``resources["genlab_verdicts"]`` and, as
  an error output when the test failed, into the cell. A cell that runs past the timeout gets a
  ``CellTimeoutError`` output, the whole notebook has a time limit, and outputs are capped.
* :class:`SaveTrustedGrades` replaces ``SaveAutoGrades``: a test cell's points come from the
  trusted verdict alone (full points when every check passed, else 0), never from nbgrader's
  reading of the cell's outputs (which gives full credit to any non-numeric ``execute_result``
  and 0 to any stderr output).
* :class:`HideHiddenTests` runs in ``generate_feedback`` and removes the ``BEGIN HIDDEN TESTS``
  ... ``END HIDDEN TESTS`` regions from the test cells' source shown in the feedback.
"""
from __future__ import annotations

import json
import os
import socket
import threading
import time
from pathlib import Path

from nbformat.notebooknode import NotebookNode
from nbformat.v4 import new_output
from nbclient.util import ensure_async, run_sync
from nbgrader import utils
from nbgrader.preprocessors import ClearHiddenTests, Execute, SaveAutoGrades
from traitlets import Bool, Integer, Unicode

from . import judge as _judge
from .kernel import KERNEL_PIDFILE_ENV, GradingKernelManager

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

    * test cells are judged on the trusted side (see the module docstring and
      :meth:`_judge_cell`); the kernel only runs the agent that answers the judge;
    * a timed-out cell gets a ``CellTimeoutError`` output (it scores 0 even if the student's
      code swallows the interrupt), the per-cell timeout never runs past the whole-notebook
      limit (``notebook_timeout``), and once that limit is spent the remaining code cells are
      not run and get a ``NotebookTimeoutError``;
    * each cell's outputs are capped at ``max_output_bytes`` (the rest is dropped, with a note);
    * the kernel's process id is recorded (see :data:`genlab.grading.kernel.KERNEL_PIDFILE_ENV`).
    """

    notebook_timeout = Integer(0, help="seconds for the whole notebook (0: no limit)").tag(config=True)
    max_output_bytes = Integer(MAX_OUTPUT_BYTES, help="bytes of output kept per cell").tag(config=True)
    judge_socket = Unicode("", help="path of the Unix socket on which the judge listens for the "
                                    "kernel's agent (it must be reachable from the kernel)").tag(config=True)
    judge_source = Unicode("", help="the instructor's source notebook (names its solution cells define "
                                    "are the ones a test may reach in the kernel)").tag(config=True)
    connect_timeout = Integer(60, help="seconds the kernel's agent has to connect").tag(config=True)

    recover_timeout = Integer(5, help="seconds a kernel has to answer after an interrupt").tag(config=True)
    kernel_restarts = 0
    _timed_out = False
    _deadline: float | None = None
    _cell_bytes: dict | None = None
    _kernel_names: frozenset | None = None

    def __init__(self, *args, **kwargs):
        # Bounded channels, the kernel's stdio kept off the host, its sandboxed sockets
        # (genlab/grading/kernel.py). nbgrader's Execute passes its own class otherwise.
        kwargs.setdefault("kernel_manager_class", GradingKernelManager)
        super().__init__(*args, **kwargs)

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
        if utils.is_grade(cell) and not utils.is_solution(cell):
            return await self._judge_cell(cell, cell_index, execution_count)
        return await super().async_execute_cell(cell, cell_index, execution_count, store_history)

    execute_cell = run_sync(async_execute_cell)

    # -- trusted judging of test cells -------------------------------------------------------
    def _names(self) -> frozenset:
        """The names a test may reach in the kernel: those the source's solution cells define."""
        if self._kernel_names is None:
            import nbformat

            source = nbformat.read(self.judge_source, as_version=4) if self.judge_source else self.nb
            self._kernel_names = frozenset(_judge.defined_names(
                c.source for c in source.cells if c.cell_type == "code" and utils.is_solution(c)))
        return self._kernel_names

    def _verdict(self, grade_id: str, passed: bool, error: str | None = None) -> None:
        self.resources.setdefault("genlab_verdicts", {})[grade_id] = {"passed": passed, "error": error}

    async def _judge_cell(self, cell, cell_index, execution_count):
        """Run the test cell's code on the trusted side while the kernel serves the agent."""
        grade_id = cell.metadata["nbgrader"]["grade_id"]
        if not self.judge_socket:
            cell.outputs = [_error("GraderError", "no judge configured: test cells are never run in the kernel")]
            self._verdict(grade_id, False, "GraderError: no judge configured")
            return cell
        source = cell.source  # restored from the instructor's notebook by nbgrader (OverwriteCells)
        timeout = self._get_timeout(cell) or 3600
        deadline = time.monotonic() + timeout
        path = Path(self.judge_socket)
        path.unlink(missing_ok=True)
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        listener.bind(str(path))
        os.chmod(path, 0o666)  # the kernel's (mapped) user must be able to connect; the folder is private
        listener.listen(1)
        listener.settimeout(0.2)
        stop = threading.Event()
        result: dict = {}

        def judge() -> None:
            conn, waited = None, 0.0
            while conn is None and not stop.is_set() and waited < self.connect_timeout:
                try:
                    conn, _ = listener.accept()
                except socket.timeout:
                    waited += 0.2
            if conn is None:
                result["failure"] = ("GraderError", "the kernel did not connect to the grader (is the "
                                     "genlab package importable in the notebook?)", [])
                return
            session = _judge.Session(conn, deadline)
            try:
                _judge.run_test_cell(source, session, self._names())
                result["passed"] = True
            except BaseException as exc:  # noqa: BLE001 - any failure of the test is a verdict
                delimiters = ClearHiddenTests(config=self.config)  # the course's configured delimiters
                hidden = _judge.hidden_line_range(source, delimiters.begin_test_delimeter,
                                                  delimiters.end_test_delimeter)
                result["failure"] = _judge.describe_failure(exc, source, hidden)
            finally:
                session.close()

        thread = threading.Thread(target=judge, name=f"judge-{grade_id}", daemon=True)
        thread.start()
        cell.source = _judge.agent_bootstrap(str(path))
        try:
            cell = await super().async_execute_cell(cell, cell_index, execution_count, False)
        finally:
            cell.source = source
            stop.set()
            thread.join(timeout=max(1.0, deadline - time.monotonic()) + 5)
            listener.close()
            path.unlink(missing_ok=True)
        # Keep what the student's code printed while it was called; the kernel's own errors and
        # rich outputs say nothing about the grade (the verdict does).
        outputs = [o for o in cell.outputs if o.get("output_type") == "stream"
                   or o.get("ename") == "CellTimeoutError"]
        if thread.is_alive():
            result = {"failure": ("GraderError", "the judge did not finish", [])}
        if result.get("passed"):
            self._verdict(grade_id, True)
        else:
            ename, evalue, tb = result.get("failure") or ("GraderError", "no verdict", [])
            outputs.append(new_output("error", ename=ename, evalue=evalue, traceback=tb or [f"{ename}: {evalue}"]))
            self._verdict(grade_id, False, f"{ename}: {evalue.splitlines()[0] if evalue else ''}".rstrip(": "))
        cell.outputs = outputs
        return cell

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
        self.kernel_restarts += 1


class SaveTrustedGrades(SaveAutoGrades):
    """``SaveAutoGrades`` that scores test cells from the trusted verdicts of
    :class:`GradingExecute` (``resources["genlab_verdicts"]``): full points when the test passed,
    0 otherwise (failed, not run, deleted, timed out). The cell's outputs are never read."""

    def _add_score(self, cell, resources):
        if not (cell.cell_type == "code" and utils.is_grade(cell) and not utils.is_solution(cell)):
            return super()._add_score(cell, resources)
        grade_id = cell.metadata["nbgrader"]["grade_id"]
        grade = self.gradebook.find_grade(grade_id, self.notebook_id, self.assignment_id, self.student_id)
        verdict = (resources.get("genlab_verdicts") or {}).get(grade_id)
        grade.auto_score = float(grade.max_score) if verdict and verdict.get("passed") is True else 0.0
        grade.needs_manual_grade = grade.manual_score is not None
        self.gradebook.db.commit()


class HideHiddenTests(ClearHiddenTests):
    """Strip the hidden tests' source from a notebook before it becomes feedback. (Their code
    never ran in the kernel and the judge's error outputs never quote a hidden line, so the
    outputs need no scrubbing.)"""

    # The autograded notebook is already graded; a student's cell that happens to contain the
    # delimiters must not make the feedback fail.
    enforce_metadata = Bool(False).tag(config=True)

    def preprocess_cell(self, cell, resources, cell_index):
        try:
            self._remove_hidden_test_region(cell)
        except RuntimeError:  # unbalanced delimiters
            if utils.is_grade(cell) or utils.is_locked(cell):
                raise  # an instructor's cell: refuse rather than leak
        return cell, resources

"""Grade one submitted notebook with nbgrader, in a throwaway copy of the course.

:func:`grade_notebook` is the library entry point (``genlab grade`` and, later, class batch
grading call it). Steps:

1. check the submission (:mod:`genlab.grading.submission`): the file, its JSON, nbformat 4,
   unique cell ids and grade_ids; find the assignment (parent folder) and notebook (file stem)
   and the course's source notebook for them;
2. build a temporary course: ``nbgrader_config.py`` (the course's config, then this run's
   overrides), ``source/<assignment>/`` (the source notebook plus the chapter's non-notebook
   files), ``submitted/<student>/<assignment>/<notebook>.ipynb``, its own ``gradebook.db``, and a
   private kernelspec (:mod:`genlab.grading.kernel`) under ``jupyter/``;
3. run :mod:`genlab.grading.runner` in a child process: generate_assignment, add the student,
   autograde, read the gradebook, optionally generate_feedback;
4. turn its ``result.json`` into a :class:`GradeResult` (or raise), copy the feedback out and
   delete the temporary course.

Nothing is written into the course (its ``solutions/``, ``chapters/`` or anywhere else).
"""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import sysconfig
import tempfile
from dataclasses import asdict, dataclass, field
from fnmatch import fnmatch
from pathlib import Path
from typing import Callable

from genlab import codedrill

from . import delegation
from . import sandbox as sb
from .errors import BadSubmission, GraderFailure, KernelDied, KernelUnresponsive, SandboxRefused
from .kernel import KERNEL_PIDFILE_ENV, KernelLauncher
from .runner import OUTPUT_OVERFLOW, STUDENT
from .submission import (Course, Submission, check_notebook, find_source, identify, load_course,
                         restore_cell_metadata)

DEFAULT_TIMEOUT = 300  # seconds per cell
DEFAULT_NOTEBOOK_TIMEOUT = 1800  # seconds for the whole notebook

#: nbgrader's autograde pipeline (0.9.6) with Execute and SaveAutoGrades swapped for ours
#: (test cells judged on the trusted side and scored from that verdict alone).
AUTOGRADE_PREPROCESSORS = [
    "genlab.grading.preprocessors.GradingExecute",
    "nbgrader.preprocessors.IgnorePattern",
    "nbconvert.preprocessors.ClearMetadataPreprocessor",
    "nbgrader.preprocessors.LimitOutput",
    "genlab.grading.preprocessors.SaveTrustedGrades",
    "nbgrader.preprocessors.AssignLatePenalties",
    "nbgrader.preprocessors.CheckCellMetadata",
]
#: nbgrader's feedback pipeline (0.9.6) with the hidden tests taken out again.
FEEDBACK_PREPROCESSORS = [
    "nbgrader.preprocessors.GetGrades",
    "genlab.grading.preprocessors.HideHiddenTests",
    "genlab.grading.feedback.SanitizeFeedback",
    "nbconvert.preprocessors.CSSHTMLHeaderPreprocessor",
]


@dataclass
class CellGrade:
    """One autograded test cell: its points and the first line of its error (None: passed)."""

    grade_id: str
    score: float
    max_score: float
    error: str | None = None


@dataclass
class GradeResult:
    """The grade of one notebook; :meth:`to_dict` is what ``genlab grade --json`` prints."""

    assignment: str
    notebook: str
    score: float
    max_score: float
    tests: list[CellGrade] = field(default_factory=list)
    #: code cells other than tests that raised while graded: ``{"cell": index, "error": "..."}``
    cell_errors: list[dict] = field(default_factory=list)

    def to_dict(self) -> dict:
        return asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict())


def kernel_env(quick: bool = True) -> dict[str, str]:
    """Variables set in the grading kernel: QUICK mode on (``GENLAB_QUICK=1``) or explicitly off."""
    return {"GENLAB_QUICK": "1" if quick else "0"}


def _config_text(workdir: Path, course: Course, timeout: int, kernel_name: str, *,
                 notebook_timeout: int = DEFAULT_NOTEBOOK_TIMEOUT, ipc_prefix: Path | None = None,
                 judge_socket: Path, source: Path) -> str:
    ipc = "" if ipc_prefix is None else "\n" + sb.ipc_config(ipc_prefix)  # sandbox.py
    return _config_body(workdir, course, timeout, kernel_name) + f'''
# Hardening and trusted judging (genlab/grading/preprocessors.py GradingExecute, judge.py).
c.GradingExecute.notebook_timeout = {int(notebook_timeout)!r}
c.GradingExecute.judge_socket = {str(judge_socket)!r}
c.GradingExecute.judge_source = {str(source)!r}
c.LimitOutput.max_lines = 2000
{ipc}'''


def _config_body(workdir: Path, course: Course, timeout: int, kernel_name: str) -> str:
    return f'''"""nbgrader config of one `genlab grade` run (a throwaway course; see genlab/grading/grade.py)."""
c = get_config()  # noqa: F821

# The course's own settings first (solution/hidden-test delimiters, code stubs, ignore, ...).
load_subconfig({str(course.config_file)!r})  # noqa: F821

# Then this run's: every path inside this temporary directory.
c.CourseDirectory.root = {str(workdir)!r}
c.CourseDirectory.source_directory = "source"
c.CourseDirectory.release_directory = "release"
c.CourseDirectory.submitted_directory = "submitted"
c.CourseDirectory.autograded_directory = "autograded"
c.CourseDirectory.feedback_directory = "feedback"
c.CourseDirectory.db_url = {"sqlite:///" + str(workdir / "gradebook.db")!r}
c.CourseDirectory.course_id = ""
c.CourseDirectory.groupshared = False
c.CourseDirectory.student_id = "*"
c.ClearOutput.enabled = True

# Execution: the private kernelspec (genlab/grading/kernel.py), per-cell timeout, no retries.
c.Execute.kernel_name = {kernel_name!r}
c.Execute.timeout = {int(timeout)!r}
c.Execute.interrupt_on_timeout = True
# If the interrupted cell still does not go idle (the student's code swallows the
# KeyboardInterrupt and carries on), score that cell 0 and go on instead of failing the run.
c.Execute.raise_on_iopub_timeout = False
c.Execute.execute_retries = 0

# The student must be in the gradebook before autograde (the runner adds it).
c.Autograde.create_student = False
c.Autograde.autograde_preprocessors = {AUTOGRADE_PREPROCESSORS!r}
c.GenerateFeedback.preprocessors = {FEEDBACK_PREPROCESSORS!r}
c.HTMLExporter.template_name = "feedback"
'''


def _ignored(name: str, patterns: tuple[str, ...]) -> bool:
    return any(fnmatch(name, p) for p in patterns)


def copy_chapter_files(source: Path, dest: Path, ignore: tuple[str, ...]) -> None:
    """The chapter's files other than notebooks (data, helper modules) into ``dest``."""
    for item in source.parent.iterdir():
        if item.suffix == ".ipynb" or _ignored(item.name, ignore):
            continue
        if item.is_dir():
            shutil.copytree(item, dest / item.name, ignore=shutil.ignore_patterns(*ignore))
        elif item.is_file():
            shutil.copy2(item, dest / item.name)


def prepare_workdir(workdir: Path, course: Course, sub: Submission, source: Path, *, timeout: int,
                    launcher: KernelLauncher, feedback: bool, notebook_timeout: int = DEFAULT_NOTEBOOK_TIMEOUT,
                    ipc_prefix: Path | None = None, judge_socket: Path | None = None) -> None:
    """Lay out the temporary course in ``workdir`` (see the module docstring)."""
    src_dir = workdir / "source" / sub.assignment
    src_dir.mkdir(parents=True)
    shutil.copy2(source, src_dir / source.name)
    # The chapter's other files (data, helper modules), which autograde copies next to the
    # submission; other notebooks are left out (they are not being graded).
    copy_chapter_files(source, src_dir, course.ignore)
    dest = workdir / "submitted" / STUDENT / sub.assignment / f"{sub.notebook}.ipynb"
    dest.parent.mkdir(parents=True)
    # The submission, with the instructor's cells' types and nbgrader flags put back.
    nb = json.loads(sub.path.read_text(encoding="utf-8"))
    restore_cell_metadata(nb, json.loads(source.read_text(encoding="utf-8")))
    dest.write_text(json.dumps(nb), encoding="utf-8")
    kernel_name = launcher.install(workdir / "jupyter")
    (workdir / "runtime").mkdir()
    if judge_socket is None:  # no sandbox: a private folder of the temporary course
        (workdir / "judge").mkdir(mode=0o700)
        judge_socket = workdir / "judge" / "j.sock"
    (workdir / "nbgrader_config.py").write_text(
        _config_text(workdir, course, timeout, kernel_name, notebook_timeout=notebook_timeout,
                     ipc_prefix=ipc_prefix, judge_socket=judge_socket, source=src_dir / source.name),
        encoding="utf-8")
    (workdir / "job.json").write_text(json.dumps({"assignment": sub.assignment, "notebook": sub.notebook,
                                                  "feedback": feedback}), encoding="utf-8")


def _runner_env(workdir: Path, runtime: Path | None = None, grader_mb: int | None = None) -> dict:
    from genlab.paths import tool_env

    env = tool_env()
    jp = env.get("JUPYTER_PATH")
    env["JUPYTER_PATH"] = str(workdir / "jupyter") + (os.pathsep + jp if jp else "")
    env["JUPYTER_RUNTIME_DIR"] = str(runtime or workdir / "runtime")
    env["PYTHONWARNINGS"] = "ignore"  # keep nbgrader's deprecation noise out of our log
    env[KERNEL_PIDFILE_ENV] = str(workdir / "kernel.pids")
    if grader_mb:  # the runner caps its own memory (runner.py); the sandbox lifts the cap for the kernel
        env[sb.GRADER_MEMORY_ENV] = str(grader_mb)
    return env


def run_runner(workdir: Path, limit: float | None, runtime: Path | None = None,
               grader_mb: int | None = None) -> dict:
    """Run :mod:`genlab.grading.runner` on ``workdir`` in its own process group and return its
    ``result.json``. If it overruns ``limit`` seconds (or we are interrupted) the runner's group
    and the kernel's (a kernel runs in a session of its own) are killed."""
    cmd = [sys.executable, "-m", "genlab.grading.runner", str(workdir)]
    log_file = workdir / "runner.log"  # the runner's stdout/stderr (+ the kernel's first 64 KiB, kernel.py)
    with open(log_file, "wb") as log:
        proc = subprocess.Popen(cmd, cwd=workdir, env=_runner_env(workdir, runtime, grader_mb),
                                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True)
        try:
            proc.wait(timeout=limit)
        except subprocess.TimeoutExpired:
            _kill_all(proc, workdir)
            raise KernelUnresponsive(f"grading did not finish within {limit:.0f} s; no grade") from None
        except BaseException:
            _kill_all(proc, workdir)
            raise
    result_file = workdir / "result.json"
    if not result_file.is_file():
        _kill_all(proc, workdir)
        output = log_file.read_text(encoding="utf-8", errors="replace")
        if grader_mb and proc.returncode == -signal.SIGABRT and "OUT OF MEMORY" in output:
            raise BadSubmission(OUTPUT_OVERFLOW)  # libzmq aborts at the runner's memory cap (runner.py)
        raise GraderFailure(f"the grading process exited with {proc.returncode} and no result:\n{output[-2000:]}")
    return json.loads(result_file.read_text(encoding="utf-8"))


def _kill_all(proc: subprocess.Popen, workdir: Path) -> None:
    """SIGKILL the runner's process group and the process groups of the kernels it started."""
    groups = [proc.pid]
    pidfile = workdir / "kernel.pids"
    if pidfile.is_file():
        groups += [int(x) for x in pidfile.read_text().split() if x.isdigit()]
    for pgid in groups:
        try:
            os.killpg(pgid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
    proc.wait()


def grade_notebook(path: os.PathLike | str, course_root: os.PathLike | str | None = None, quick: bool = True,
                   timeout: int = DEFAULT_TIMEOUT, kernel: str | None = None,
                   feedback_dir: os.PathLike | str | None = None, *,
                   launcher: KernelLauncher | None = None, notebook_timeout: int | None = None,
                   unsafe: bool = False, limits: sb.Limits | None = None,
                   on_start: Callable[[], None] | None = None) -> GradeResult:
    """Autograde the notebook at ``path`` against ``course_root`` (default: this course).

    ``quick`` runs it with ``GENLAB_QUICK=1`` (else ``0``); ``timeout`` is the per-cell limit in
    seconds (a cell that runs over scores 0, the rest is graded); ``notebook_timeout`` the limit
    for the whole notebook (default :data:`DEFAULT_NOTEBOOK_TIMEOUT`, at least ``timeout``);
    ``kernel`` names the kernelspec (default ``genlab``, else ``python3``); ``feedback_dir``
    receives ``<notebook>.html`` without hidden tests. ``launcher`` overrides how the kernel
    starts; ``kernel`` and ``quick`` are then ignored.

    The kernel runs in a sandbox (:mod:`genlab.grading.sandbox`) with ``limits``. Where no
    sandbox can be set up this raises :class:`SandboxRefused` unless ``unsafe`` is true (then it
    grades without one and says so on stderr). Test cells run on the trusted side
    (:mod:`genlab.grading.judge`), never in the kernel. ``on_start`` is called once the submission
    passed its checks, just before its notebook runs (the CLI's progress lines start there).

    Raises :class:`BadSubmission` (exit status 2, including :class:`KernelDied`) for input that
    cannot be graded and :class:`GradingError` for anything else.
    """
    if not isinstance(timeout, int) or isinstance(timeout, bool) or timeout <= 0:
        raise ValueError(f"timeout must be a positive number of seconds, got {timeout!r}")
    if notebook_timeout is None:
        notebook_timeout = max(DEFAULT_NOTEBOOK_TIMEOUT, timeout)
    if not isinstance(notebook_timeout, int) or notebook_timeout <= 0:
        raise ValueError(f"notebook_timeout must be a positive number of seconds, got {notebook_timeout!r}")
    sub = identify(path)
    nb = check_notebook(sub.path)
    course = load_course(course_root)
    drill = _drill_items(nb)
    if drill is None:
        source = find_source(course, sub)
    else:  # a coding drill (genlab drill --code): its source is rebuilt from the course's solutions
        sub = Submission(path=sub.path, assignment=codedrill.DRILL_ASSIGNMENT, notebook=sub.notebook)
        source = None
    launcher = launcher or KernelLauncher.from_kernelspec(kernel, env=kernel_env(quick))
    why = sb.probe()
    sandboxed = why is None
    if not sandboxed:
        if not unsafe:
            raise SandboxRefused(f"refusing to run student code without a sandbox: {why}. Install bubblewrap "
                                 "and allow user namespaces, or pass --unsafe (trusted notebooks only)")
        print(f"genlab grade: WARNING: NO SANDBOX ({why}); the notebook's code runs with all of this "
              "user's rights (--unsafe)", file=sys.stderr)
    n_code = sum(1 for c in nb["cells"] if isinstance(c, dict) and c.get("cell_type") == "code")
    # A backstop only: each cell has its own timeout and the notebook its limit; this catches a
    # kernel that cannot be interrupted or a hung nbgrader.
    limit = min(timeout * (n_code + 2), notebook_timeout) + 300
    limits = limits or sb.Limits()
    if limits.cpu_seconds is None:
        limits = sb.Limits(**{**limits.__dict__, "cpu_seconds": notebook_timeout * (os.cpu_count() or 1) + 120})

    cgroup = None
    with tempfile.TemporaryDirectory(prefix="genlab-grade-") as tmp, \
            tempfile.TemporaryDirectory(prefix="glsb-", dir="/tmp") as box, \
            tempfile.TemporaryDirectory(prefix="genlab-drill-") as drill_dir:
        workdir = Path(tmp).resolve()
        if source is None:  # a folder of its own: the sandbox gets copies of the source's sibling files
            source = Path(drill_dir) / f"{sub.notebook}.ipynb"
            try:
                source.write_text(json.dumps(codedrill.drill_source(course.root, nb)), encoding="utf-8")
            except codedrill.DrillError as err:
                raise BadSubmission(f"not a valid coding drill: {err}") from err
        runtime = None
        ipc_prefix = None
        judge_socket = None
        if sandboxed:
            kernel_cwd = workdir / "autograded" / STUDENT / sub.assignment
            dirs = sb.SandboxDirs.make(Path(box), kernel_cwd)
            copy_chapter_files(source, dirs.scratch, course.ignore)
            _chmod_tree(dirs.scratch)
            runtime, ipc_prefix = dirs.runtime, dirs.ipc / "k"
            judge_socket = dirs.judge / "j.sock"
            hidden = hidden_binds(course, [sub.assignment] if drill is None else _chapters(course), Path(box) / "stubs")
            cgroup = sb.Cgroup.create(limits)
            launcher = KernelLauncher(argv=list(launcher.argv), env=dict(launcher.env),
                                      wrapper=sb.wrapper(dirs, limits, cgroup, sb.kernel_ro_paths(),
                                                         extra_ro_binds=hidden),
                                      language=launcher.language, display_name=launcher.display_name,
                                      interrupt_mode="message", kernel_name=launcher.kernel_name)
        try:
            prepare_workdir(workdir, course, sub, source, timeout=timeout, launcher=launcher,
                            feedback=feedback_dir is not None, notebook_timeout=notebook_timeout,
                            ipc_prefix=ipc_prefix, judge_socket=judge_socket)
            if on_start is not None:
                on_start()
            result = run_runner(workdir, limit, runtime, limits.grader_mb if sandboxed else None)
            oom = bool(cgroup and cgroup.oom_killed())
        finally:
            if cgroup is not None:
                cgroup.remove()
        status = result.get("status")
        if status == "kernel_died":
            if oom:
                raise KernelDied(f"kernel killed: out of memory (limit {limits.memory_mb} MiB); no grade")
            raise KernelDied(result["message"])
        if status == "kernel_unresponsive":
            raise KernelUnresponsive(result["message"])
        if status == "output_overflow":  # the runner hit its own memory cap (runner.py)
            raise BadSubmission(result["message"])
        if status != "ok":
            raise GraderFailure(f"{result.get('message', 'grading failed')}\n{_tail(result.get('log', ''))}")
        tests = [CellGrade(**t) for t in result["tests"]]
        if feedback_dir is not None:
            out = Path(feedback_dir)
            out.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(result["feedback"], out / f"{sub.notebook}.html")
    return GradeResult(assignment=sub.assignment, notebook=sub.notebook,
                       score=float(sum(t.score for t in tests)),
                       max_score=float(sum(t.max_score for t in tests)), tests=tests,
                       cell_errors=list(result.get("cell_errors", [])))


def hidden_binds(course: Course, assignments: list[str], stub_dir: Path) -> list[tuple[str, str]]:
    """Read-only binds that hide from the kernel what would implement the chapters' exercises
    (:mod:`genlab.grading.delegation`), and the base Python's own site-packages (the venv does not
    use them; they may hold libraries that implement an exercise)."""
    try:
        binds = delegation.overlay_binds(delegation.forbidden(course.root, assignments), stub_dir)
    except delegation.ManifestError as err:
        raise GraderFailure(f"the course's chapter manifest is broken: {err}") from err
    base = Path(sysconfig.get_paths(vars={"base": sys.base_prefix, "platbase": sys.base_prefix})["purelib"])
    if sys.base_prefix != sys.prefix and base.is_dir():
        binds.append((str(stub_dir / "empty"), str(base)))
    return binds


def _chapters(course: Course) -> list[str]:
    return sorted(p.name for p in (course.root / "authoring").glob("[0-9][0-9]_*") if p.is_dir())


def _drill_items(nb) -> list | None:
    try:
        return codedrill.drill_items(nb)
    except codedrill.DrillError as err:
        raise BadSubmission(f"not a valid coding drill: {err}") from err


def _chmod_tree(root: Path) -> None:
    for p in [root, *root.rglob("*")]:
        try:
            os.chmod(p, 0o777 if p.is_dir() else 0o666)
        except OSError:
            pass


def _tail(log: str, n: int = 30) -> str:
    return "\n".join(log.strip().splitlines()[-n:])


__all__ = ["CellGrade", "DEFAULT_NOTEBOOK_TIMEOUT", "DEFAULT_TIMEOUT", "GradeResult", "grade_notebook", "kernel_env", "prepare_workdir"]

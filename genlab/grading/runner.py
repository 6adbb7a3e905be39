"""The nbgrader half of grading, run in a child process: ``python -m genlab.grading.runner WORKDIR``.

``WORKDIR`` is the temporary course that :mod:`genlab.grading.grade` prepared (its
``nbgrader_config.py``, ``source/``, ``submitted/`` and ``job.json``). In this process we run,
with nbgrader's own classes (what ``nbgrader generate_assignment``, ``nbgrader db student add``,
``nbgrader autograde`` and ``nbgrader generate_feedback`` do, without paying nbgrader's start-up
four times), read the scores back from the gradebook with nbgrader's ``Gradebook`` API and the
error lines from the autograded notebook, and write ``result.json``.

A separate process keeps nbgrader's global state (traitlets config, logging, asyncio loops,
SQLite sessions) out of the caller, lets the caller kill everything (this process and the kernel
it started) as one process group, and is the natural unit for the later sandbox/limits step.
"""
from __future__ import annotations

import json
import logging
import sys
import traceback
from pathlib import Path

STUDENT = "submission"
MISSING_CELL_ERROR = "MissingCell: this test cell was deleted from the submission"


def skip_slow_optional_imports() -> None:
    """Start-up speed: jsonschema (imported by nbformat) imports the optional ``rfc3987_syntax``
    to check the "iri" string format, which builds a grammar at import time (about 2 s here).
    Neither nbformat nor nbgrader checks that format, so a process that only grades can mark
    the module as unavailable. Only for processes we own (the runner, the ``genlab`` CLI)."""
    sys.modules.setdefault("rfc3987_syntax", None)  # type: ignore[arg-type]


def _capture(app) -> dict:
    from nbgrader.utils import capture_log

    return capture_log(app)


def _first_error(cell) -> str | None:
    for out in cell.get("outputs", []):
        if out.get("output_type") == "error":
            ename = out.get("ename") or "Error"
            evalue = (out.get("evalue") or "").strip().splitlines()
            return f"{ename}: {evalue[0]}" if evalue else ename
    return None


def notebook_errors(nb) -> list[dict]:
    """Errors of the code cells that are not tests (a cell that raised while being graded):
    ``{"cell": index, "error": "ename: evalue"}``. A solution graded as a submission has none."""
    out = []
    for index, cell in enumerate(nb.cells):
        md = cell.get("metadata", {}).get("nbgrader", {})
        if cell.cell_type != "code" or (md.get("grade") and not md.get("solution")):
            continue
        error = _first_error(cell)
        if error:
            out.append({"cell": index, "error": error[:300]})
    return out


def autograded_tests(nb) -> list[str]:
    """grade_ids of the autograded test cells (code cells that are graded and not solutions)."""
    ids = []
    for cell in nb.cells:
        md = cell.get("metadata", {}).get("nbgrader", {})
        if cell.cell_type == "code" and md.get("grade") and not md.get("solution"):
            ids.append(md["grade_id"])
    return ids


def create_gradebook(db_url: str) -> None:
    """Create an empty gradebook as ``nbgrader.api.Gradebook`` does for a new database (its
    tables, stamped with the alembic head revision), but without shelling out to
    ``alembic heads`` (a second Python start-up: about 3 s of every grading). If anything
    goes wrong the file is removed and nbgrader creates the database its own way."""
    import nbgrader
    from alembic.script import ScriptDirectory
    from nbgrader.api import Base
    from sqlalchemy import create_engine, text

    path = Path(db_url.removeprefix("sqlite:///"))
    try:
        head = ScriptDirectory(str(Path(nbgrader.__file__).parent / "alembic")).get_current_head()
        engine = create_engine(db_url, future=True)
        try:
            Base.metadata.create_all(bind=engine)
            with engine.begin() as conn:
                conn.execute(text("CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL)"))
                conn.execute(text("INSERT INTO alembic_version (version_num) VALUES (:v)"), {"v": head})
        finally:
            engine.dispose()
    except Exception:
        path.unlink(missing_ok=True)


def run(workdir: Path) -> dict:
    skip_slow_optional_imports()
    import nbformat
    from nbgrader.api import Gradebook
    from nbgrader.converters import Autograde, GenerateAssignment, GenerateFeedback
    from nbgrader.coursedir import CourseDirectory
    from traitlets.config.loader import PyFileConfigLoader

    job = json.loads((workdir / "job.json").read_text())
    assignment, notebook = job["assignment"], job["notebook"]
    config = PyFileConfigLoader("nbgrader_config.py", path=str(workdir)).load_config()
    logging.getLogger("traitlets").setLevel(logging.INFO)
    logs: list[str] = []

    def step(cls, student: str | None = None, **attrs) -> dict:
        coursedir = CourseDirectory(config=config)
        coursedir.assignment_id = assignment
        if student:
            coursedir.student_id = student
        app = cls(coursedir=coursedir, config=config)
        for k, v in attrs.items():
            setattr(app, k, v)
        res = _capture(app)
        logs.append(f"--- {cls.__name__}\n{res.get('log', '')}{res.get('error', '')}")
        return res

    def failed(status: str, message: str) -> dict:
        return {"status": status, "message": message, "log": "\n".join(logs)}

    db_url = config.CourseDirectory.db_url
    create_gradebook(db_url)
    # nbgrader generate_assignment: records the assignment and its cells in the gradebook.
    res = step(GenerateAssignment, force=True, create_assignment=True)
    if not res["success"]:
        return failed("error", "nbgrader generate_assignment failed on the course's source notebook")

    # nbgrader db student add
    with Gradebook(db_url) as gb:
        gb.update_or_create_student(STUDENT)

    # nbgrader autograde (create_student is off in the config: the student must exist)
    res = step(Autograde, student=STUDENT, force=True)
    log = logs[-1]
    autograded = workdir / "autograded" / STUDENT / assignment / f"{notebook}.ipynb"
    if "DeadKernelError" in log or "Kernel died" in log:
        return failed("kernel_died", "kernel died while running the notebook (does it call os._exit() "
                                     "or crash the interpreter?); no grade")
    if "UnresponsiveKernelError" in log or "kernel became unresponsive" in log:
        return failed("kernel_unresponsive", "a cell timed out and the kernel could not be interrupted; "
                                             "no grade")
    if not res["success"] or not autograded.is_file():
        return failed("error", "nbgrader autograde failed")

    # Scores from the gradebook, first error lines from the autograded notebook.
    source = nbformat.read(workdir / "source" / assignment / f"{notebook}.ipynb", as_version=4)
    graded = nbformat.read(autograded, as_version=4)
    by_id = {c.get("metadata", {}).get("nbgrader", {}).get("grade_id"): c for c in graded.cells}
    tests = []
    with Gradebook(db_url) as gb:
        sub = gb.find_submission_notebook(notebook, assignment, STUDENT)
        grades = {g.name: g for g in sub.grades}
        for grade_id in autograded_tests(source):
            g = grades.get(grade_id)
            cell = by_id.get(grade_id)
            if g is None:
                return failed("error", f"test cell {grade_id!r} is missing from the gradebook")
            if cell is None:
                # The student deleted the test cell (nbgrader leaves its grade empty): 0 points.
                tests.append({"grade_id": grade_id, "score": 0.0, "max_score": float(g.max_score),
                              "error": MISSING_CELL_ERROR})
                continue
            if g.auto_score is None:
                return failed("error", f"nbgrader left test cell {grade_id!r} ungraded")
            tests.append({"grade_id": grade_id, "score": float(g.score), "max_score": float(g.max_score),
                          "error": _first_error(cell)})

    feedback = None
    cell_errors = notebook_errors(graded)
    if job.get("feedback"):
        res = step(GenerateFeedback, student=STUDENT, force=True)
        html = workdir / "feedback" / STUDENT / assignment / f"{notebook}.html"
        if not res["success"] or not html.is_file():
            return failed("error", "nbgrader generate_feedback failed")
        from genlab.grading.feedback import harden_file  # CSP first in <head>, no <script>

        harden_file(html)
        feedback = str(html)
    return {"status": "ok", "tests": tests, "cell_errors": cell_errors, "feedback": feedback,
            "log": "\n".join(logs)}


def limit_own_memory() -> int | None:
    """Cap this process's data segment (soft ``RLIMIT_DATA``) at ``GENLAB_GRADER_MEMORY_MB`` MiB,
    which grade.py sets when the kernel is sandboxed (the sandbox lifts it for the kernel again):
    whatever the kernel sends, the grader's memory stays bounded. Returns the cap in bytes."""
    import os
    import resource

    from .sandbox import GRADER_MEMORY_ENV

    mb = os.environ.get(GRADER_MEMORY_ENV, "")
    if not mb.isdigit():
        return None
    cap, hard = int(mb) << 20, resource.getrlimit(resource.RLIMIT_DATA)[1]
    if hard != resource.RLIM_INFINITY:
        cap = min(cap, hard)
    resource.setrlimit(resource.RLIMIT_DATA, (cap, hard))
    return cap


def _out_of_memory(cap: int | None) -> bool:
    """Whether this process came close to its own memory cap (so a failure is the cap's doing).

    The peak is this program's own (``VmHWM``, reset by ``exec``), not ``ru_maxrss``, which a process
    forked from a large parent (a test worker that imported PyTorch) inherits."""
    if cap is None:
        return False
    try:
        status = Path("/proc/self/status").read_text()
    except OSError:
        return False
    peak = next((int(line.split()[1]) << 10 for line in status.splitlines() if line.startswith("VmHWM:")), 0)
    return peak > cap // 2


OUTPUT_OVERFLOW = ("the notebook's kernel sent more data than the grader accepts (its memory cap for "
                   "one grading); no grade")


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    workdir = Path(argv[0]).resolve()
    cap = limit_own_memory()
    try:
        result = run(workdir)
    except Exception:  # reported to the parent through result.json
        result = {"status": "error", "message": "the grading process crashed", "log": traceback.format_exc()}
    if result.get("status") != "ok" and _out_of_memory(cap):
        result = {**result, "status": "output_overflow", "message": OUTPUT_OVERFLOW}
    (workdir / "result.json").write_text(json.dumps(result, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Builds and grades the adversarial submissions of adv_corpus.py and checks the host afterwards."""
from __future__ import annotations

import base64
import copy
import dataclasses
import glob
import hashlib
import json
import os
import re
import socket
import subprocess
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from adv_corpus import Case

from genlab.grading import BadSubmission, GradingError, KernelDied, grade_notebook
from genlab.grading.sandbox import Cgroup, Limits

ROOT = Path(__file__).resolve().parents[2]
FIX = ROOT / "tests" / "fixtures" / "grading"
COURSE = FIX / "course"
SOLUTION = COURSE / "solutions" / "01_fixture" / "fixture.ipynb"
RELEASED = COURSE / "chapters" / "01_fixture" / "fixture.ipynb"
#: Small limits: the fixture chapter needs little.
LIMITS = Limits(memory_mb=768, pids=64, cpus=1.0, disk_mb=256)


@dataclass
class Outcome:
    status: str
    score: float = 0.0
    max_score: float = 0.0
    errors: dict = field(default_factory=dict)
    reason: str = ""
    seconds: float = 0.0
    pwned: list = field(default_factory=list)
    listener_hits: int = 0
    sentinel_alive: bool = True
    course_changed: bool = False
    feedback_bytes: int = 0
    leaked: list = field(default_factory=list)
    survivors: list = field(default_factory=list)


def _cgroups_work() -> bool:
    cg = Cgroup.create(Limits())
    if cg is None:
        return False
    cg.remove()
    return True


CGROUPS = _cgroups_work()


def expected(case: Case) -> Case:
    """The case as expected here: a few limits differ without a cgroup (prlimit only)."""
    if CGROUPS or case.without_cgroup is None:
        return case
    if case.without_cgroup == "skip":
        import pytest

        pytest.skip("needs a cgroup (not enforceable with prlimit as root)")
    status, score = case.without_cgroup
    return dataclasses.replace(case, status=status, score=score, reason="")


def decodings(text: str) -> list[str]:
    """What a student could have hidden in ``text``: reversed, and every long base64 or hex run decoded."""
    out = [text[::-1]]
    for run in re.findall(r"[A-Za-z0-9+/]{24,}={0,2}", text):
        try:
            out.append(base64.b64decode(run + "=" * (-len(run) % 4)).decode("utf-8", "replace"))
        except ValueError:
            pass
    for run in re.findall(r"(?:[0-9a-f]{2}){16,}", text):
        out.append(bytes.fromhex(run).decode("utf-8", "replace"))
    return out


def hidden_lines() -> list[str]:
    """The non-empty lines between BEGIN/END HIDDEN TESTS in the source notebook."""
    lines, inside = [], False
    for cell in json.loads(SOLUTION.read_text(encoding="utf-8"))["cells"]:
        src = cell["source"] if isinstance(cell["source"], str) else "".join(cell["source"])
        for line in src.splitlines():
            if "BEGIN HIDDEN TESTS" in line:
                inside = True
            elif "END HIDDEN TESTS" in line:
                inside = False
            elif inside and line.strip():
                lines.append(line.strip())
    return lines


def snapshot(root: Path) -> dict:
    return {str(p): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file() and "__pycache__" not in p.parts}


class Listener:
    """A TCP server on the host's loopback that counts connections."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(5)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.hits = 0
        self._stop = False
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        while not self._stop:
            try:
                conn, _ = self.sock.accept()
                self.hits += 1
                conn.close()
            except OSError:
                continue

    def close(self):
        self._stop = True
        self.thread.join(2)
        self.sock.close()


def marker(case: Case) -> str:
    """A `sleep` duration unique to this case and process, to find leftover processes."""
    return f"{600 + os.getpid() % 1000}.{abs(hash(case.name)) % 10**6:06d}"


def survivors(case: Case) -> list[int]:
    found = []
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                if (d / "cmdline").read_bytes().split(b"\0")[:2] == [b"sleep", marker(case).encode()]:
                    found.append(int(d.name))
            except OSError:
                pass
    return found


def build(case: Case, dest: Path, port: int, pwned: str) -> Path:
    path = dest / case.name / "01_fixture" / "fixture.ipynb"
    path.parent.mkdir(parents=True)
    if case.raw is not None:
        path.write_text(case.raw, encoding="utf-8")
        return path
    nb = json.loads(RELEASED.read_text(encoding="utf-8"))
    fmt = {"pwned": pwned, "course": str(COURSE), "solution": str(SOLUTION), "port": port, "marker": marker(case)}
    for cell in nb["cells"]:
        if cell.get("id") == "add":
            cell["source"] = case.add.format(**fmt)
        elif cell.get("id") == "mean":
            cell["source"] = case.mean.format(**fmt)
    if case.edit:
        nb = copy.deepcopy(nb)
        case.edit(nb)
    path.write_text(json.dumps(nb, indent=1), encoding="utf-8")
    return path


def run_case(case: Case, dest: Path) -> Outcome:
    listener = Listener()
    sentinel = subprocess.Popen(["sleep", "300"])
    pwned = f"/tmp/genlab-adv-pwned-{case.name}-{os.getpid()}"
    before = snapshot(COURSE)
    path = build(case, dest, listener.port, pwned)
    fb = dest / case.name / "feedback" if case.feedback else None
    t0 = time.monotonic()
    try:
        r = grade_notebook(path, course_root=COURSE, timeout=case.timeout, notebook_timeout=case.notebook_timeout,
                           limits=LIMITS, feedback_dir=fb)
        out = Outcome("ok", r.score, r.max_score, {t.grade_id: t.error for t in r.tests})
    except KernelDied as e:
        out = Outcome("kernel_died", reason=str(e))
    except BadSubmission as e:
        out = Outcome("bad_submission", reason=str(e))
    except GradingError as e:  # the grader failed: never expected
        out = Outcome("grader_failure", reason=str(e)[-3000:])
    out.seconds = time.monotonic() - t0
    out.survivors = survivors(case)
    time.sleep(0.2)
    listener.close()
    out.listener_hits = listener.hits
    out.sentinel_alive = sentinel.poll() is None
    sentinel.kill()
    sentinel.wait()
    out.pwned = glob.glob(pwned + "*")
    out.course_changed = snapshot(COURSE) != before
    if fb is not None and (fb / "fixture.html").is_file():
        out.feedback_bytes = (fb / "fixture.html").stat().st_size
        page = (fb / "fixture.html").read_text(encoding="utf-8")
        import html as _html
        import re

        text = _html.unescape(re.sub(r"<[^>]+>", "", page))
        views = [page, text, *decodings(text)]
        out.leaked = [line for line in hidden_lines() if any(line in v for v in views)]
    return out


def run_all(cases: list[Case], dest: Path, workers: int = 2) -> dict[str, Outcome]:
    if not CGROUPS:
        cases = [c for c in cases if c.without_cgroup != "skip"]
    with ThreadPoolExecutor(max_workers=workers) as ex:
        futures = {c.name: ex.submit(run_case, c, dest) for c in cases}
        return {name: f.result() for name, f in futures.items()}


def check(case: Case, out: Outcome) -> None:
    case = expected(case)
    where = f"{case.name} ({case.probes}): {out}"
    assert out.status == case.status, where
    assert out.score == case.score, where
    if case.status == "ok":
        assert out.max_score == 5, where
        for gid, prefix in case.errors.items():
            assert out.errors.get(gid) is not None and out.errors[gid].startswith(prefix), where
    else:
        assert case.reason in out.reason, where
    if case.max_seconds is not None:
        assert out.seconds <= case.max_seconds, where
    if case.secret_free:
        assert out.feedback_bytes > 0 and out.leaked == [], where
    if case.max_feedback_bytes is not None:
        assert 0 < out.feedback_bytes <= case.max_feedback_bytes, where
    # the host is unaffected
    assert out.pwned == [], where
    assert out.listener_hits == 0, where
    assert out.sentinel_alive, where
    assert out.survivors == [], where
    assert not out.course_changed, where


def corpus_part(index: int, parts: int = 3):
    """The fixture and the test of one slice of the corpus (``CASES[index::parts]``), for a test module.

    The corpus is split over several modules so that pytest-xdist (``--dist loadfile``) grades the
    slices on different workers; each slice is graded once, two submissions at a time, by a
    module-scoped fixture, and each case then checks its own outcome and the host.
    """
    import pytest

    from adv_corpus import CASES

    part = CASES[index::parts]

    @pytest.fixture(scope="module")
    def outcomes(tmp_path_factory):
        return run_all(part, tmp_path_factory.mktemp("adversarial"))

    @pytest.mark.slow
    @pytest.mark.parametrize("case", part, ids=[c.name for c in part])
    def test_case(case, outcomes):
        check(case, outcomes.get(case.name))

    return outcomes, test_case

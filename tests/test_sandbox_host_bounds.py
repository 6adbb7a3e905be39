"""The host is untouchable by the kernel (autograder/SECURITY.md G5, G9, G15, G16):

1. the grading process's memory stays bounded whatever the kernel sends (one huge print, a
   flood of medium ones, one message of many frames), and every case ends as a recorded result;
2. nothing the kernel writes lands on the host's disk;
3. the kernel holds no descriptor of a host file (its stdio are /dev/null and a pipe);
4. the course's shipped data (``datasets/``) is visible where genlab looks for it, nothing else of
   the checkout is;
5. the trusted judge's plumbing: ``extra_ro_binds`` overlay the genlab package and the venv, and the
   kernel can talk to a Unix socket the host listens on in the read-only ``SandboxDirs.judge``.

Graded submissions are the fixture chapter (tests/fixtures/grading/course) with the ``add`` cell
replaced; each probe reports through its printed output (read back from the feedback page) and
through its score (``add`` is right only when the probe found nothing wrong).
"""
from __future__ import annotations

import base64
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import pytest

from genlab.grading import BadSubmission, grade_notebook
from genlab.grading import sandbox as sb

ROOT = Path(__file__).resolve().parents[1]
COURSE = ROOT / "tests" / "fixtures" / "grading" / "course"
RELEASED = COURSE / "chapters" / "01_fixture" / "fixture.ipynb"
MEAN_OK = "def mean(xs):\n    return sum(xs) / len(xs)\n"
LIMITS = sb.Limits(memory_mb=1024, pids=64, cpus=1.0, disk_mb=64)

needs_sandbox = pytest.mark.skipif(sb.probe() is not None, reason=f"no sandbox here: {sb.probe()}")


def submission(tmp_path: Path, add: str, mean: str = MEAN_OK) -> Path:
    nb = json.loads(RELEASED.read_text(encoding="utf-8"))
    for cell in nb["cells"]:
        if cell.get("id") == "add":
            cell["source"] = add
        elif cell.get("id") == "mean":
            cell["source"] = mean
    path = tmp_path / "sub" / "01_fixture" / "fixture.ipynb"
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps(nb), encoding="utf-8")
    return path


class _Watch:
    """A background sampler (``_run``) for the duration of a ``with`` block."""

    def __init__(self):
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        raise NotImplementedError

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()


class RunnerWatch(_Watch):
    """Samples the peak resident memory (VmHWM) of the grading processes this test starts."""

    def __init__(self):
        super().__init__()
        self.peak_kib = 0

    def _run(self):
        me = f"PPid:\t{os.getpid()}\n"
        while not self._stop.wait(0.05):
            for d in Path("/proc").iterdir():
                try:
                    status = (d / "status").read_text()
                    if me in status and b"genlab.grading.runner" in (d / "cmdline").read_bytes():
                        hwm = int(re.search(r"VmHWM:\s+(\d+)", status).group(1))
                        self.peak_kib = max(self.peak_kib, hwm)
                except (OSError, AttributeError, ValueError):
                    continue


def report(feedback: Path) -> dict:
    """The JSON that a probe printed as ``PROBE <base64>``, from the feedback page."""
    page = (feedback / "fixture.html").read_text(encoding="utf-8")
    found = re.search(r"PROBE ([A-Za-z0-9_=-]+)", page)
    assert found, "the probe's report is not in the feedback"
    return json.loads(base64.urlsafe_b64decode(found.group(1)))


# --- 1. the grader's memory -----------------------------------------------------------------

GIANT = '''def add(a, b):
    return a + b

print("x" * 600_000_000)  # one message of 600 MB
'''
FLOOD = '''def mean(xs):
    return sum(xs) / len(xs)

chunk = "m" * (1 << 20)
for _ in range(300):  # 300 messages of 1 MiB
    print(chunk)
'''
FRAMES = '''def add(a, b):
    return a + b

k = get_ipython().kernel
frame = b"z" * (3 << 20)  # under the per-frame cap, but 400 of them in one message
for _ in range(3):
    k.session.send(k.iopub_socket, "display_data", {"data": {}, "metadata": {}},
                   parent=k.get_parent(), buffers=[frame] * 400)
'''


@needs_sandbox
@pytest.mark.slow
def test_huge_print_and_output_flood_leave_the_grader_small_and_are_graded(tmp_path):
    path = submission(tmp_path, GIANT, FLOOD)
    t0 = time.monotonic()
    with RunnerWatch() as watch:
        r = grade_notebook(path, course_root=COURSE, timeout=60, notebook_timeout=240,
                           limits=sb.Limits(memory_mb=4096, pids=64, cpus=1.0, disk_mb=64))
    seconds = time.monotonic() - t0
    print(f"graded {r.score}/{r.max_score} in {seconds:.0f} s; runner peak RSS {watch.peak_kib >> 10} MiB")
    assert (r.score, r.max_score) == (5, 5)  # the cells whose output was dropped still count
    assert 0 < watch.peak_kib < 400 << 10, watch.peak_kib  # never held the 600 MB message


@needs_sandbox
@pytest.mark.slow
def test_a_message_of_many_frames_stops_at_the_graders_cap_and_ends_as_a_result(tmp_path):
    """Each frame passes the per-frame cap; the runner's own memory cap (1 GiB here) stops the rest.
    Where the allocation fails decides the outcome: the message is lost and the notebook graded, or
    the grading ends as a bad submission that says why. Never a crash, never more memory."""
    path = submission(tmp_path, FRAMES)
    with RunnerWatch() as watch:
        try:
            r = grade_notebook(path, course_root=COURSE, timeout=60, notebook_timeout=120,
                               limits=sb.Limits(memory_mb=1024, pids=64, cpus=1.0, disk_mb=64, grader_mb=1024))
            outcome = f"graded {r.score}/{r.max_score}"
        except BadSubmission as e:
            assert "more data than the grader accepts" in str(e)
            outcome = str(e)
    print(f"{outcome}; runner peak RSS {watch.peak_kib >> 10} MiB (its data capped at 1024 MiB)")
    assert 0 < watch.peak_kib < 1200 << 10, watch.peak_kib  # 3.6 GB were sent


# --- 2.-4. one probe of the sandbox from inside a graded kernel ------------------------------

PROBE = '''import base64, json, os

TOKEN = "{token}"
ROOT = "{root}"


def _foreign_fds():
    """Descriptors of any process in the sandbox that name a file the sandbox does not show."""
    bad, seen = [], []
    for pid in [p for p in os.listdir("/proc") if p.isdigit()]:
        try:
            names = os.listdir(f"/proc/{{pid}}/fd")
        except OSError:
            continue
        for n in names:
            link = f"/proc/{{pid}}/fd/{{n}}"
            try:
                target = os.readlink(link)
            except OSError:
                continue
            seen.append(f"{{pid}}:{{n}}={{target}}")
            if not target.startswith("/"):  # pipe:, socket:, anon_inode:
                continue
            try:
                here, there = os.stat(link), os.stat(target)
                if (here.st_dev, here.st_ino) == (there.st_dev, there.st_ino):
                    continue
            except OSError:
                pass
            bad.append(f"{{pid}}:{{n}}={{target}}")
    return seen, bad


def _fill(d):
    """Up to 2000 files of 32 KiB (64 MiB) into d; how many bytes went in."""
    total = 0
    for i in range(2000):
        try:
            with open(os.path.join(d, f"{{TOKEN}}-{{i}}"), "wb") as f:
                f.write(b"\\0" * (32 << 10))
            total += 32 << 10
        except OSError:
            break
    return total


visible = sorted(os.listdir(ROOT))  # before the fill below: the checkout may lie under the sandbox's /tmp
writable = {{}}
for top, dirs, _ in os.walk("/"):
    dirs[:] = [x for x in dirs if os.path.join(top, x) not in ("/proc", "/sys")]
    if os.access(top, os.W_OK):
        writable[top] = _fill(top)

seen, bad = _foreign_fds()
datasets = os.path.join(ROOT, "datasets", "digits_classifier.npz")
try:
    from genlab.metrics.digits import load_weights
    weights_ok = len(load_weights()) > 0
except Exception as e:  # noqa: BLE001
    weights_ok = repr(e)
report = {{"writable": writable, "fds": seen, "foreign_fds": bad, "weights": weights_ok,
          "checkout": visible}}
print("PROBE " + base64.urlsafe_b64encode(json.dumps(report).encode()).decode())
import time
time.sleep(1.5)  # let the host look for what landed on its disk


def add(a, b):
    clean = not bad and weights_ok is True and set(visible) <= {{"genlab", "datasets", ".venv"}}
    return a + b if clean else a - b
'''


class HostDiskWatch(_Watch):
    """Bytes in files named ``<token>-*`` on the host (under the grading's /tmp folders)."""

    def __init__(self, token: str):
        super().__init__()
        self.token, self.peak, self.files = token, 0, 0
        self.roots = {Path("/tmp"), Path(tempfile.gettempdir())}

    def _scan(self):
        total = count = 0
        for base in self.roots:
            for d in base.glob("g*-*"):  # glsb-* (the box), genlab-grade-* (the course)
                for top, _, files in os.walk(d):  # never follows a link (the box's ipc link)
                    for f in files:
                        if f.startswith(self.token):
                            try:
                                total += os.lstat(os.path.join(top, f)).st_size
                                count += 1
                            except OSError:
                                pass
        return total, count

    def _run(self):
        while not self._stop.wait(0.2):
            total, count = self._scan()
            self.peak, self.files = max(self.peak, total), max(self.files, count)


@pytest.fixture(scope="module")
def probe(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("probe")
    token = f"hostbounds{os.getpid()}"
    path = submission(tmp, PROBE.format(token=token, root=str(sb.genlab_package_dir().parent)))
    with HostDiskWatch(token) as disk:
        r = grade_notebook(path, course_root=COURSE, timeout=120, notebook_timeout=240, limits=LIMITS,
                           feedback_dir=tmp / "feedback")
    return r, report(tmp / "feedback"), disk


@needs_sandbox
@pytest.mark.slow
def test_nothing_the_kernel_writes_lands_on_the_host_disk(probe):
    r, rep, disk = probe
    written = {d: n >> 20 for d, n in rep["writable"].items() if n}
    print(f"kernel wrote (MiB) {written}; on the host: {disk.peak} bytes in {disk.files} files")
    assert written, "the probe found no writable place at all"
    assert disk.peak == 0 and disk.files == 0
    # every place it could write is a private, capped tmpfs (the socket one is tiny)
    assert all(n <= LIMITS.disk_mb << 20 for n in rep["writable"].values()), written


@needs_sandbox
@pytest.mark.slow
def test_the_kernel_holds_no_descriptor_of_a_host_file(probe):
    r, rep, _ = probe
    print("descriptors in the sandbox:", rep["fds"])
    assert rep["foreign_fds"] == []
    assert not any("runner.log" in f or "genlab-grade-" in f for f in rep["fds"])
    assert r.tests[0].score == 2  # add() agreed


@needs_sandbox
@pytest.mark.slow
def test_the_courses_datasets_are_visible_and_nothing_else_of_the_checkout(probe):
    r, rep, _ = probe
    assert rep["weights"] is True, rep["weights"]
    assert set(rep["checkout"]) <= {"genlab", "datasets", ".venv"}, rep["checkout"]


def test_the_sandbox_binds_datasets_and_no_host_folder_writable(tmp_path):
    dirs = sb.SandboxDirs.make(tmp_path / "box", tmp_path / "course" / "autograded" / "s" / "a")
    args = sb.bwrap_args(dirs, sb.kernel_ro_paths(), sb.Limits())
    datasets = str(ROOT / "datasets")
    assert args[args.index(datasets) - 1] == "--ro-bind" and args[args.index(datasets) + 1] == datasets
    assert "--bind" not in args and "--dev-bind" not in args  # writable places are all tmpfs
    assert ("--remount-ro", "/") in zip(args, args[1:])  # and the root itself is read-only
    binds = [args[i + 1] for i, a in enumerate(args) if a == "--ro-bind"]
    ours = {str(p.relative_to(ROOT)).split("/")[0] for p in map(Path, binds) if p.is_relative_to(ROOT)}
    assert ours <= {"genlab", "datasets", ".venv"}, ours  # nothing else of the checkout


# --- 5. the trusted judge's plumbing --------------------------------------------------------

def test_extra_ro_binds_come_after_the_genlab_package_and_the_venv(tmp_path):
    dirs = sb.SandboxDirs.make(tmp_path / "box", tmp_path / "cwd")
    pkg = sb.genlab_package_dir()
    venv = str(Path(sys.prefix).resolve())
    over = [(str(tmp_path / "stub.py"), str(pkg / "paths.py"))]
    args = sb.bwrap_args(dirs, [pkg], sb.Limits(), extra_ro_binds=over)
    i = args.index(over[0][0])
    assert args[i - 1] == "--ro-bind" and args[i + 1] == over[0][1]
    assert i > args.index(str(pkg)) and i > args.index(venv)
    assert args.index(str(dirs.judge)) < i  # the judge's folder is bound too
    assert args[args.index(str(dirs.judge)) - 1] == "--ro-bind"


JUDGE_CLIENT = '''import os, socket, sys
judge = sys.argv[1]
s = socket.socket(socket.AF_UNIX)
s.connect(os.path.join(judge, "j.sock"))
s.sendall(b"ping:" + s.recv(5))
for attempt in (lambda: open(os.path.join(judge, "x"), "w"), lambda: os.mkdir(os.path.join(judge, "d")),
                lambda: os.symlink("/", os.path.join(judge, "l")),
                lambda: socket.socket(socket.AF_UNIX).bind(os.path.join(judge, "fake.sock")),
                lambda: os.unlink(os.path.join(judge, "j.sock")),
                lambda: os.rename(os.path.dirname(judge), "/tmp/moved")):
    try:
        attempt()
        print("WROTE")
    except OSError as e:
        print("refused", e.strerror)
print(open(sys.argv[2]).read())
'''


@needs_sandbox
def test_kernel_talks_to_the_hosts_socket_in_the_read_only_judge_folder(tmp_path):
    box = Path(tempfile.mkdtemp(prefix="glsb-", dir="/tmp"))  # short: Unix socket paths <= 107 bytes
    try:
        dirs = sb.SandboxDirs.make(box, tmp_path / "autograded" / "s" / "a")
        dirs.connection_file.write_text("{}")
        stub = tmp_path / "stub.py"
        stub.write_text("overlaid by extra_ro_binds\n")
        target = sb.genlab_package_dir() / "paths.py"
        server = socket.socket(socket.AF_UNIX)
        server.bind(str(dirs.judge / "j.sock"))
        server.listen(1)
        server.settimeout(60)
        cmd = sb.wrapper(dirs, sb.Limits(cpu_seconds=60), None, sb.kernel_ro_paths(), [(str(stub), str(target))])
        proc = subprocess.Popen([*cmd, sys.executable, "-c", JUDGE_CLIENT, str(dirs.judge), str(target)],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            conn, _ = server.accept()
            conn.sendall(b"hello")
            assert conn.recv(64) == b"ping:hello"
            conn.close()
            out, err = proc.communicate(timeout=60)
        finally:
            proc.kill()
            server.close()
        assert proc.returncode == 0, err
        assert "WROTE" not in out and out.count("refused") == 6, out
        assert "overlaid by extra_ro_binds" in out
        assert sorted(p.name for p in dirs.judge.iterdir()) == ["j.sock"]
    finally:
        subprocess.run(["rm", "-rf", str(box)])

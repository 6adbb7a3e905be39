"""The sandbox the student's kernel runs in (see ``autograder/SECURITY.md``).

The kernel is started (through the private kernelspec of :mod:`genlab.grading.kernel`) as::

    /bin/sh -c 'join the cgroups; lift the grader's memory cap; exec "$@" 3>info' genlab-sandbox \\
        bwrap <namespaces, mounts> --info-fd 3 -- prlimit <limits> -- <kernel argv>

* **bubblewrap**: new user (uid 1000 inside, no capabilities), network (only its own ``lo``),
  pid (the kernel and everything it forks die with the sandbox), IPC and UTS namespaces; a
  read-only tmpfs root with read-only binds of the system (``/usr``, a few ``/etc`` files), the
  Python installation, the virtualenv, the course's ``genlab`` package and its shipped data
  (``datasets/``) -- nothing else of the host: not the checkout (``solutions/``), not the
  temporary grading course (gradebook, source notebook, results, ``runner.log``), not other
  submissions.
* **Nothing lands on the host's disk**: every place the kernel can write is a private tmpfs
  (``/tmp``, the home, ``/dev/shm``, its working directory -- where the chapter's files are bound
  read-only -- and a 1 MiB one for its ZMQ sockets), each capped at ``Limits.disk_mb`` where
  bwrap has ``--size`` and charged to the kernel's memory cgroup. No host folder is bound
  writable.
* **ZMQ over IPC, reached through /proc**: with its own network namespace the kernel cannot be
  reached over TCP, so the kernel manager uses ``transport="ipc"``. The kernel binds its sockets
  on the socket tmpfs at :attr:`SandboxDirs.ipc`; on the host that same path is a link to
  ``/proc/<sandbox pid>/root/<same path>`` (bwrap's ``--info-fd`` gives the pid), so both sides
  use one connection file. The box (``SandboxDirs.box``) is a read-only tmpfs inside, holding
  only the connection file, the judge's folder and the socket tmpfs, so none of these paths can
  be renamed or replaced from inside.
* **Limits**: a cgroup (v1 or v2, when ``/sys/fs/cgroup`` is writable) caps memory, processes
  and CPU share; ``prlimit`` adds CPU seconds, open files, file size and (without a cgroup) the
  process count. ``RLIMIT_AS`` is never used (it breaks ``import torch``). The grading process
  caps its own data segment (:data:`GRADER_MEMORY_ENV`); the wrapper lifts that for the kernel.

:func:`probe` tells whether a sandbox can be set up here; :func:`genlab.grading.grade_notebook`
refuses to grade without one unless ``unsafe=True`` (``genlab grade --unsafe``).
"""
from __future__ import annotations

import functools
import os
import shlex
import shutil
import signal
import subprocess
import sys
import sysconfig
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

#: The uid/gid the kernel runs as inside its user namespace.
SANDBOX_UID = 1000
#: The kernel's home inside the sandbox.
SANDBOX_HOME = "/home/student"
#: /etc files the kernel may need (name resolution for localhost, locale, timezone, CA certs).
ETC_FILES = ("ld.so.cache", "ld.so.conf", "ld.so.conf.d", "localtime", "nsswitch.conf", "hosts",
             "passwd", "group", "ssl", "ca-certificates", "alternatives", "mime.types", "fonts",
             "matplotlibrc")
#: Environment variable with the soft data-segment cap (MiB, ``RLIMIT_DATA``) that the grading
#: process (runner.py) puts on itself: a bound on what the kernel's messages can cost the host,
#: whatever they are. The sandbox's wrapper lifts it again for the kernel.
GRADER_MEMORY_ENV = "GENLAB_GRADER_MEMORY_MB"
#: Variables the kernel must not see: grading markers and anything naming the grader's files.
UNSET_ENV = ("NBGRADER_EXECUTION", "JPY_PARENT_PID", "JUPYTER_PATH", "JUPYTER_RUNTIME_DIR",
             "JUPYTER_CONFIG_DIR", "JUPYTER_DATA_DIR", "GENLAB_GRADE_KERNEL_PIDFILE", GRADER_MEMORY_ENV,
             "PYTHONPATH", "VIRTUAL_ENV_PROMPT", "OLDPWD")


class SandboxUnavailable(RuntimeError):
    """bubblewrap is missing or cannot create namespaces here."""


@dataclass
class Limits:
    """Resource caps of one sandboxed kernel."""

    memory_mb: int = 4096          # cgroup memory (+swap) limit; an OOM kill ends the kernel
    pids: int = 256                # processes and threads (cgroup pids.max, else RLIMIT_NPROC)
    cpus: float | None = None      # CPU share (cgroup cpu quota); None: no quota
    cpu_seconds: int | None = None  # RLIMIT_CPU of the kernel (set from the notebook limit)
    file_mb: int = 1024            # RLIMIT_FSIZE: largest file the kernel may write
    disk_mb: int = 1024            # size of each private tmpfs (/tmp, home, /dev/shm, working dir)
    nofile: int = 1024             # RLIMIT_NOFILE
    grader_mb: int = 2048          # soft RLIMIT_DATA of the grading process itself (not the kernel)


@functools.lru_cache(maxsize=1)
def sized_tmpfs() -> bool:
    """Whether this bwrap has ``--size`` (0.7+): the kernel's private tmpfs mounts get a size
    cap (without it they are bounded by the memory cgroup only)."""
    bwrap = shutil.which("bwrap")
    if not bwrap:
        return False
    cmd = [bwrap, "--unshare-user", "--ro-bind", "/", "/", "--size", str(1 << 20), "--tmpfs", "/tmp", "true"]
    try:
        return subprocess.run(cmd, capture_output=True, timeout=30).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


@functools.lru_cache(maxsize=1)
def probe() -> str | None:
    """None if a sandbox works here, else the reason it does not."""
    bwrap = shutil.which("bwrap")
    if not bwrap:
        return "bubblewrap (bwrap) is not installed (Debian/Ubuntu: apt-get install bubblewrap)"
    cmd = [bwrap, "--unshare-user", "--uid", str(SANDBOX_UID), "--unshare-net", "--unshare-pid",
           "--ro-bind", "/", "/", "--proc", "/proc", "--dev", "/dev", "true"]
    try:
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired) as e:
        return f"bubblewrap does not run: {e}"
    if r.returncode != 0:
        return ("bubblewrap cannot create user/network/pid namespaces here "
                f"({r.stderr.strip() or r.returncode}); unprivileged user namespaces may be disabled")
    return None


# --- cgroups --------------------------------------------------------------------------------

def _own_cgroup_v1(controller: str) -> str:
    try:
        for line in Path("/proc/self/cgroup").read_text().splitlines():
            _, ctrls, path = line.split(":", 2)
            if controller in ctrls.split(","):
                return path
    except OSError:
        pass
    return "/"


@dataclass
class Cgroup:
    """A cgroup (v2, else v1 memory/pids/cpu hierarchies) for one kernel; :meth:`create` returns
    None where ``/sys/fs/cgroup`` is not writable."""

    dirs: list[Path] = field(default_factory=list)
    version: int = 0

    @classmethod
    def create(cls, limits: Limits, root: Path = Path("/sys/fs/cgroup")) -> "Cgroup | None":
        name = f"genlab-grade-{uuid.uuid4().hex[:12]}"
        cg = cls()
        try:
            if (root / "cgroup.controllers").is_file():  # unified (v2)
                own = Path("/proc/self/cgroup").read_text().splitlines()[0].split(":", 2)[2]
                d = root / own.lstrip("/") / name
                d.mkdir()
                cg.dirs, cg.version = [d], 2
                (d / "memory.max").write_text(f"{limits.memory_mb}M")
                _try_write(d / "memory.swap.max", "0")
                (d / "pids.max").write_text(str(limits.pids))
                if limits.cpus:
                    _try_write(d / "cpu.max", f"{int(limits.cpus * 100000)} 100000")
                return cg
            cg.version = 1
            settings = {
                "memory": {"memory.limit_in_bytes": str(limits.memory_mb << 20),
                           "memory.memsw.limit_in_bytes": str(limits.memory_mb << 20)},
                "pids": {"pids.max": str(limits.pids)},
                "cpu": {"cpu.cfs_period_us": "100000", "cpu.cfs_quota_us": str(int((limits.cpus or 0) * 100000))},
            }
            for ctrl, values in settings.items():
                base = root / ctrl
                if ctrl == "cpu" and not limits.cpus:
                    continue
                if not base.is_dir():
                    if ctrl == "cpu":
                        continue
                    raise OSError(f"no {ctrl} cgroup hierarchy")
                d = base / _own_cgroup_v1(ctrl).lstrip("/") / name
                d.mkdir()
                cg.dirs.append(d)
                for k, v in values.items():
                    if k.startswith("memory.memsw") or ctrl == "cpu":
                        _try_write(d / k, v)
                    else:
                        (d / k).write_text(v)
            return cg
        except OSError:
            cg.remove()
            return None

    def procs_files(self) -> list[str]:
        return [str(d / "cgroup.procs") for d in self.dirs]

    def pids(self) -> set[int]:
        out: set[int] = set()
        for f in self.procs_files():
            try:
                out |= {int(x) for x in Path(f).read_text().split()}
            except OSError:
                pass
        return out

    def oom_killed(self) -> bool:
        """Whether the kernel's memory limit made the kernel OOM-kill something."""
        for d in self.dirs:
            for fname, key in (("memory.events", "oom_kill"), ("memory.oom_control", "oom_kill")):
                try:
                    for line in (d / fname).read_text().splitlines():
                        k, _, v = line.partition(" ")
                        if k == key and int(v) > 0:
                            return True
                except (OSError, ValueError):
                    continue
        return False

    def kill(self) -> None:
        """SIGKILL everything in the cgroup (a fork bomb's children included)."""
        for _ in range(50):
            pids = self.pids()
            if not pids:
                return
            for pid in pids:
                try:
                    os.kill(pid, signal.SIGKILL)
                except (ProcessLookupError, PermissionError):
                    pass
            time.sleep(0.05)

    def remove(self) -> None:
        self.kill()
        for d in self.dirs:
            for _ in range(40):
                try:
                    d.rmdir()
                    break
                except FileNotFoundError:
                    break
                except OSError:
                    time.sleep(0.05)


def _try_write(path: Path, value: str) -> None:
    try:
        path.write_text(value)
    except OSError:
        pass


# --- the wrapper ----------------------------------------------------------------------------

#: Names inside :attr:`SandboxDirs.runtime` (see :class:`genlab.grading.kernel.GradingKernelManager`).
CONNECTION_FILE = "kernel.json"   # the kernel's connection file (bound read-only into the sandbox)
INFO_FILE = "bwrap-info.json"     # bwrap's --info-fd output: the sandbox's pid (host side only)
IPC_DIR = "ipc"                   # inside: a small tmpfs for the ZMQ sockets; here: a link to it
#: Size of the tmpfs that holds the kernel's ZMQ sockets (they need no data blocks).
IPC_TMPFS_BYTES = 1 << 20


@dataclass
class SandboxDirs:
    """Host paths of one grading's sandbox, all inside ``box`` (a short, fresh folder per grading,
    never the temporary course itself). The kernel writes into none of them."""

    box: Path       # this grading's folder; inside the sandbox: a read-only tmpfs at the same path
    runtime: Path   # the connection file, bwrap's info and the link to the kernel's IPC sockets
    scratch: Path   # the chapter's files, bound read-only into the kernel's working directory
    judge: Path     # bound read-only at the same path: the host listens here (a Unix socket)
    cwd: Path       # where nbgrader starts the kernel (the autograded folder), on the host

    @classmethod
    def make(cls, base: Path, cwd: Path) -> "SandboxDirs":
        dirs = cls(box=base, runtime=base / "runtime", scratch=base / "work", judge=base / "judge", cwd=cwd)
        for d in (dirs.runtime, dirs.scratch, dirs.judge):
            d.mkdir(parents=True, exist_ok=True)
        os.chmod(dirs.judge, 0o755)
        return dirs

    @property
    def connection_file(self) -> Path:
        return self.runtime / CONNECTION_FILE

    @property
    def info_file(self) -> Path:
        return self.runtime / INFO_FILE

    @property
    def ipc(self) -> Path:
        """The kernel's socket directory: a tmpfs inside the sandbox; on the host, a link that
        the kernel manager points at ``/proc/<sandbox pid>/root/<this path>`` once it runs."""
        return self.runtime / IPC_DIR


def ipc_config(ipc_prefix: Path) -> str:
    """The lines of the grading's ``nbgrader_config.py`` that connect to a sandboxed kernel whose
    sockets are ``<ipc_prefix>-<port>`` (``ipc_prefix``: :attr:`SandboxDirs.ipc` / "k")."""
    runtime = Path(ipc_prefix).parent.parent
    return f"""# The kernel has its own network namespace: talk to it over Unix sockets (ZMQ ipc) that it
# creates on a small tmpfs inside its sandbox; the host reaches them through a link into the
# sandbox (genlab/grading/sandbox.py, genlab/grading/kernel.py GradingKernelManager).
c.KernelManager.transport = "ipc"
c.KernelManager.ip = {str(ipc_prefix)!r}
c.KernelManager.connection_file = {str(runtime / CONNECTION_FILE)!r}
c.GradingKernelManager.sandbox_runtime = {str(runtime)!r}
"""


def _python_roots() -> list[str]:
    """The Python installation and the virtualenv the kernel imports from."""
    roots = {sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix,
             sysconfig.get_paths().get("stdlib", ""), sysconfig.get_paths().get("purelib", "")}
    real = {str(Path(r).resolve()) for r in roots if r}
    keep = []
    for r in sorted(real):
        if r.startswith("/usr") or any(r.startswith(k + "/") for k in keep) or not Path(r).exists():
            continue
        keep.append(r)
    return keep


def bwrap_args(dirs: SandboxDirs, extra_ro: list[Path] = (), limits: Limits | None = None,
               extra_ro_binds: list[tuple[str, str]] = ()) -> list[str]:
    """bubblewrap's options (without the command).

    ``extra_ro`` are bound read-only at their own (resolved) paths; ``extra_ro_binds`` are
    ``(host path, path inside)`` pairs bound read-only *after* everything else, so that one can
    overlay a file or folder inside the genlab package, the venv or the Python installation.

    Every place the kernel can write is a tmpfs (memory, charged to the kernel's memory cgroup;
    capped at ``limits.disk_mb`` each where this bwrap has ``--size``): nothing it writes lands on
    the host's disk. The root and the box are read-only, so the paths the host shares with the
    kernel (the judge's folder, the socket folder) cannot be renamed or replaced from inside.
    """
    a = ["bwrap", "--unshare-user", "--uid", str(SANDBOX_UID), "--gid", str(SANDBOX_UID),
         "--unshare-net", "--unshare-pid", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try",
         "--hostname", "sandbox", "--die-with-parent", "--new-session", "--cap-drop", "ALL",
         "--proc", "/proc", "--dev", "/dev"]
    sized = limits is not None and sized_tmpfs()

    def tmpfs(path: str, size: int) -> list[str]:
        return (["--size", str(size)] if sized else []) + ["--tmpfs", path]

    disk = (limits.disk_mb << 20) if limits is not None else 0
    # The private /tmp and home come first: bubblewrap mounts in order, and a checkout, venv or
    # Python that lives under /tmp (a CI clone, say) must be bound on top of the private /tmp,
    # not hidden by it.
    a += tmpfs("/dev/shm", disk) + tmpfs("/tmp", disk) + tmpfs(SANDBOX_HOME, disk)
    a += ["--ro-bind", "/usr", "/usr"]
    for name in ("bin", "sbin", "lib", "lib64", "lib32", "libx32"):
        p = Path("/") / name
        if p.is_symlink():
            a += ["--symlink", os.readlink(p), str(p)]
        elif p.is_dir():
            a += ["--ro-bind", str(p), str(p)]
    for name in ETC_FILES:
        p = Path("/etc") / name
        if p.exists():
            a += ["--ro-bind", str(p), str(p)]
    for r in _python_roots():
        a += ["--ro-bind", r, r]
    for p in extra_ro:
        p = Path(p).resolve()
        a += ["--ro-bind", str(p), str(p)]
    # The working directory: a private tmpfs with the chapter's files bound read-only.
    a += tmpfs(str(dirs.cwd), disk)
    for item in sorted(dirs.scratch.iterdir()):
        a += ["--ro-bind", str(item), str(dirs.cwd / item.name)]
    # The box, at its host path: a read-only tmpfs holding only the connection file, the judge's
    # folder (read-only: the kernel connects to the host's socket there) and the IPC sockets' tmpfs.
    a += ["--tmpfs", str(dirs.box),
          "--ro-bind", str(dirs.connection_file), str(dirs.connection_file),
          "--ro-bind", str(dirs.judge), str(dirs.judge)]
    a += tmpfs(str(dirs.ipc), IPC_TMPFS_BYTES)
    a += ["--remount-ro", str(dirs.box)]
    for host, inside in extra_ro_binds:
        a += ["--ro-bind", str(host), str(inside)]
    a += ["--remount-ro", "/dev", "--remount-ro", "/",
          "--chdir", str(dirs.cwd),
          "--setenv", "HOME", SANDBOX_HOME, "--setenv", "TMPDIR", "/tmp",
          "--setenv", "MPLCONFIGDIR", SANDBOX_HOME + "/.mpl", "--setenv", "USER", "student"]
    for name in UNSET_ENV:
        a += ["--unsetenv", name]
    return a


def prlimit_args(limits: Limits, with_cgroup: bool) -> list[str]:
    prl = shutil.which("prlimit")
    if not prl:
        return []
    a = [prl, f"--nofile={limits.nofile}", f"--fsize={limits.file_mb << 20}", "--core=0"]
    if limits.cpu_seconds:
        a.append(f"--cpu={int(limits.cpu_seconds)}")
    if not with_cgroup:
        # Without a cgroup: the process count (not enforced for root) and the data segment
        # (RLIMIT_DATA; RLIMIT_AS would break `import torch`).
        a += [f"--nproc={limits.pids}", f"--data={(limits.memory_mb + 1024) << 20}"]
    return a + ["--"]


def wrapper(dirs: SandboxDirs, limits: Limits, cgroup: Cgroup | None,
            extra_ro: list[Path] = (), extra_ro_binds: list[tuple[str, str]] = ()) -> list[str]:
    """The command prefix for the kernelspec: join the cgroup, lift the grader's own soft memory
    cap (the runner's, see :data:`GRADER_MEMORY_ENV`) for the kernel, then bwrap
    (which writes the sandbox's pid to :attr:`SandboxDirs.info_file`), then prlimit."""
    joins = "".join(f"echo $$ > {shlex.quote(f)}; " for f in (cgroup.procs_files() if cgroup else []))
    script = (joins + "ulimit -S -d unlimited 2>/dev/null; "
              f'exec "$@" 3>{shlex.quote(str(dirs.info_file))}')
    return ["/bin/sh", "-c", script, "genlab-sandbox",
            *bwrap_args(dirs, extra_ro, limits, extra_ro_binds), "--info-fd", "3", "--",
            *prlimit_args(limits, cgroup is not None)]


def genlab_package_dir() -> Path:
    """The ``genlab`` package (tests import ``genlab.testing``): bound read-only."""
    import genlab

    return Path(genlab.__file__).resolve().parent


def kernel_ro_paths() -> list[Path]:
    """What of the course the kernel sees, read-only at its own path: the ``genlab`` package and
    the course's shipped data (``datasets/`` beside the package, where ``genlab.metrics.digits``
    looks for it), so genlab finds its files the same way inside and outside."""
    pkg = genlab_package_dir()
    return [pkg] + [d for d in (pkg.parent / "datasets",) if d.is_dir()]

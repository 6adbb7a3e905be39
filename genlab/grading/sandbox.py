"""The sandbox the student's kernel runs in (see ``autograder/SECURITY.md``).

The kernel is started (through the private kernelspec of :mod:`genlab.grading.kernel`) as::

    /bin/sh -c 'join the cgroups; exec "$@"' genlab-sandbox \\
        bwrap <namespaces, binds> -- prlimit <limits> -- <kernel argv>

* **bubblewrap**: new user (uid 1000 inside, no capabilities), network (only its own ``lo``),
  pid (the kernel and everything it forks die with the sandbox), IPC and UTS namespaces; a
  tmpfs root with read-only binds of the system (``/usr``, a few ``/etc`` files), the Python
  installation, the virtualenv and the course's ``genlab`` package -- nothing else of the host:
  not the checkout (``solutions/``), not the temporary grading course (gradebook, source
  notebook, results), not other submissions. Writable: a private ``/tmp``, a private home, the
  kernel's working directory (a scratch copy of the chapter's files, bound at the path nbgrader
  starts the kernel in) and the directory of the kernel's IPC sockets.
* **ZMQ over IPC**: with its own network namespace the kernel cannot be reached over TCP, so
  the kernel manager uses ``transport="ipc"``: Unix socket files in a directory bound into the
  sandbox (:attr:`SandboxDirs.runtime`).
* **Limits**: a cgroup (v1 or v2, when ``/sys/fs/cgroup`` is writable) caps memory, processes
  and CPU share; ``prlimit`` adds CPU seconds, open files, file size and (without a cgroup) the
  process count. ``RLIMIT_AS`` is never used (it breaks ``import torch``).

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
#: Variables the kernel must not see: grading markers and anything naming the grader's files.
UNSET_ENV = ("NBGRADER_EXECUTION", "JPY_PARENT_PID", "JUPYTER_PATH", "JUPYTER_RUNTIME_DIR",
             "JUPYTER_CONFIG_DIR", "JUPYTER_DATA_DIR", "GENLAB_GRADE_KERNEL_PIDFILE", "PYTHONPATH",
             "VIRTUAL_ENV_PROMPT", "OLDPWD")


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
    disk_mb: int = 1024            # size of each private tmpfs (/tmp, home, working directory)
    nofile: int = 1024             # RLIMIT_NOFILE


@functools.lru_cache(maxsize=1)
def sized_tmpfs() -> bool:
    """Whether this bwrap has ``--size`` (0.7+): private tmpfs with a size cap instead of
    host directories for the kernel's /tmp, home and working directory."""
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

@dataclass
class SandboxDirs:
    """Host directories the sandbox sees (all inside the grading run's ``sandbox/`` folder,
    never the temporary course itself)."""

    runtime: Path   # IPC sockets of the kernel (and nothing the grader reads back)
    home: Path      # the kernel's private home
    tmp: Path       # the kernel's private /tmp
    scratch: Path   # the kernel's working directory: a copy of the chapter's files
    cwd: Path       # where nbgrader starts the kernel (the autograded folder), on the host

    @classmethod
    def make(cls, base: Path, cwd: Path) -> "SandboxDirs":
        dirs = cls(runtime=base / "runtime", home=base / "home", tmp=base / "tmp", scratch=base / "work", cwd=cwd)
        for d in (dirs.runtime, dirs.home, dirs.tmp, dirs.scratch):
            d.mkdir(parents=True, exist_ok=True)
            os.chmod(d, 0o777)
        return dirs


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


def bwrap_args(dirs: SandboxDirs, extra_ro: list[Path] = (), limits: Limits | None = None) -> list[str]:
    """bubblewrap's options (without the command)."""
    a = ["bwrap", "--unshare-user", "--uid", str(SANDBOX_UID), "--gid", str(SANDBOX_UID),
         "--unshare-net", "--unshare-pid", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try",
         "--hostname", "sandbox", "--die-with-parent", "--new-session", "--cap-drop", "ALL",
         "--proc", "/proc", "--dev", "/dev"]
    sized = limits is not None and sized_tmpfs()
    size = str(limits.disk_mb << 20) if sized else ""
    # The private /tmp and home come first: bubblewrap mounts in order, and a checkout, venv or
    # Python that lives under /tmp (a CI clone, say) must be bound on top of the private /tmp,
    # not hidden by it.
    if sized:
        # Private, size-capped tmpfs (charged to the kernel's memory cgroup): nothing the
        # kernel writes lands on the host's disk but for its IPC socket directory.
        a += ["--size", size, "--tmpfs", "/tmp", "--size", size, "--tmpfs", SANDBOX_HOME]
    else:
        a += ["--bind", str(dirs.tmp), "/tmp", "--bind", str(dirs.home), SANDBOX_HOME]
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
    if sized:
        # The working directory: a private tmpfs with the chapter's files bound read-only.
        a += ["--size", size, "--tmpfs", str(dirs.cwd)]
        for item in sorted(dirs.scratch.iterdir()):
            a += ["--ro-bind", str(item), str(dirs.cwd / item.name)]
    else:
        a += ["--bind", str(dirs.scratch), str(dirs.cwd)]
    a += ["--bind", str(dirs.runtime), str(dirs.runtime),
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
            extra_ro: list[Path] = ()) -> list[str]:
    """The command prefix for the kernelspec: join the cgroup, then bwrap, then prlimit."""
    joins = "; ".join(f"echo $$ > {shlex.quote(f)}" for f in (cgroup.procs_files() if cgroup else []))
    script = (joins + "; " if joins else "") + 'exec "$@"'
    return ["/bin/sh", "-c", script, "genlab-sandbox", *bwrap_args(dirs, extra_ro, limits), "--",
            *prlimit_args(limits, cgroup is not None)]


def genlab_package_dir() -> Path:
    """The ``genlab`` package (tests import ``genlab.testing``): bound read-only."""
    import genlab

    return Path(genlab.__file__).resolve().parent

"""How the kernel that runs a submission is started.

This module is the one place that decides the command line of the student's kernel. nbgrader
(through nbclient) starts kernels by kernelspec name, so grading installs a private kernelspec,
:data:`GRADING_KERNEL_NAME`, in the run's temporary Jupyter data directory and tells nbgrader's
``Execute`` preprocessor to use it. Its ``argv`` is :meth:`KernelLauncher.command`: the chosen
kernel's own command (``genlab``, else ``python3``, or ``--kernel NAME``), prefixed with
:attr:`KernelLauncher.wrapper`. Sandboxing (bubblewrap, ``unshare``, ``prlimit``/cgroup limits)
slots in by setting ``wrapper`` (:func:`genlab.grading.sandbox.wrapper`, which binds the
connection file read-only into the sandbox).

:class:`GradingKernelManager` is the kernel manager grading uses (``GradingExecute`` passes it to
nbclient). Whatever the student's code does, it keeps the grader's host side bounded:

* every ZMQ socket to the kernel refuses a frame over :data:`MAX_MESSAGE_BYTES` (libzmq drops
  the connection before holding the frame; :func:`_redial_on_drop` makes a new one, so the rest
  of the notebook's output still arrives) and queues at most
  :data:`RCV_HWM` messages; what is left (a message of many frames) is capped by the runner's own
  memory limit (``runner.py``, :data:`genlab.grading.sandbox.GRADER_MEMORY_ENV`);
* the kernel's stdin is ``/dev/null`` and its stdout/stderr a pipe of which the first
  :data:`KERNEL_LOG_BYTES` go to the runner's log and the rest is discarded: the kernel holds no
  descriptor of a host file;
* in a sandbox (``sandbox_runtime``), the kernel's sockets live on a tmpfs inside the sandbox,
  which the host reaches through the link :attr:`SandboxDirs.ipc` -> ``/proc/<sandbox pid>/root/
  <same path>`` (re-pointed at every start, so a restarted kernel is found again).
"""
from __future__ import annotations

import asyncio
import json
import os
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import zmq
import zmq.asyncio
from jupyter_client.asynchronous import AsyncKernelClient
from jupyter_client.manager import AsyncKernelManager
from traitlets import DottedObjectName, Unicode, default
from zmq.utils.monitor import parse_monitor_message

from . import sandbox as sb
from .errors import BadSubmission

#: Name of the private kernelspec written for each grading run.
GRADING_KERNEL_NAME = "genlab-grade"
#: Environment variable naming a file to which the grading ``Execute`` appends the process id of
#: each kernel it starts: a kernel runs in a session of its own (jupyter_client), outside the
#: runner's process group, and the caller kills it too when it has to kill the runner.
KERNEL_PIDFILE_ENV = "GENLAB_GRADE_KERNEL_PIDFILE"
#: Kernels tried, in order, when no ``--kernel`` is given.
DEFAULT_KERNELS = ("genlab", "python3")


def _kernel_spec_manager():
    from jupyter_client.kernelspec import KernelSpecManager

    return KernelSpecManager()


def resolve_kernel(name: str | None = None) -> str:
    """The kernelspec to grade with: ``name`` if given (it must exist), else the course's
    ``genlab`` kernel when it is installed, else ``python3``."""
    from jupyter_client.kernelspec import NoSuchKernel

    ksm = _kernel_spec_manager()
    for candidate in ([name] if name else DEFAULT_KERNELS):
        try:
            ksm.get_kernel_spec(candidate)
        except NoSuchKernel:
            continue
        return candidate
    if name:
        raise BadSubmission(f"unknown kernel {name!r} (see `jupyter kernelspec list`)")
    raise BadSubmission("no Jupyter kernel found (neither 'genlab' nor 'python3'); run `make setup`")


@dataclass
class KernelLauncher:
    """The command and environment of the kernel that executes a submission.

    ``argv`` is the kernel's own command (with ``{connection_file}``), ``env`` the variables
    added to the kernel's environment (``GENLAB_QUICK``), ``wrapper`` a command prefix such as a
    sandbox (empty: run the kernel directly, as nbgrader does).
    """

    argv: list[str]
    env: dict[str, str] = field(default_factory=dict)
    wrapper: list[str] = field(default_factory=list)
    language: str = "python"
    display_name: str = "genlab grading kernel"
    interrupt_mode: str = "signal"
    kernel_name: str = ""  # the kernelspec this launcher was made from, for messages

    @classmethod
    def from_kernelspec(cls, name: str | None = None, env: dict[str, str] | None = None,
                        wrapper: list[str] | None = None) -> "KernelLauncher":
        """A launcher for kernelspec ``name`` (resolved with :func:`resolve_kernel`)."""
        name = resolve_kernel(name)
        spec = _kernel_spec_manager().get_kernel_spec(name)
        argv = [a.replace("{resource_dir}", spec.resource_dir) for a in spec.argv]
        return cls(argv=argv, env={**(spec.env or {}), **(env or {})}, wrapper=list(wrapper or []),
                   language=spec.language or "python", display_name=f"{spec.display_name} (grading)",
                   interrupt_mode=spec.interrupt_mode or "signal", kernel_name=name)

    def command(self) -> list[str]:
        """The full command line that starts the kernel: the wrapper, then the kernel."""
        return [*self.wrapper, *self.argv]

    def kernelspec(self) -> dict:
        return {"argv": self.command(), "env": dict(self.env), "display_name": self.display_name,
                "language": self.language, "interrupt_mode": self.interrupt_mode,
                "metadata": {"genlab": {"from_kernel": self.kernel_name}}}

    def install(self, jupyter_data_dir: Path) -> str:
        """Write the private kernelspec under ``jupyter_data_dir/kernels/`` (a directory that
        goes first on the grading process's ``JUPYTER_PATH``) and return its name."""
        d = Path(jupyter_data_dir) / "kernels" / GRADING_KERNEL_NAME
        d.mkdir(parents=True, exist_ok=True)
        (d / "kernel.json").write_text(json.dumps(self.kernelspec(), indent=1) + "\n", encoding="utf-8")
        return GRADING_KERNEL_NAME


# --- the kernel manager of a grading run ----------------------------------------------------

#: Largest ZMQ frame taken from the kernel. Larger frames (one huge print) are refused by
#: libzmq before any memory is used for them. The grader keeps 1 MiB of output per cell anyway.
MAX_MESSAGE_BYTES = 4 << 20
#: Messages a socket to the kernel queues before the kernel's side has to wait (or, for iopub,
#: drop): bounds a flood of medium-sized messages.
RCV_HWM = 16
#: Bytes of the kernel process's own stdout/stderr (not the notebook's output, which goes over
#: ZMQ) kept in the runner's log: start-up errors of bwrap or the kernel.
KERNEL_LOG_BYTES = 64 << 10


def bounded_context() -> zmq.asyncio.Context:
    """A ZMQ context whose sockets take at most :data:`MAX_MESSAGE_BYTES` per frame and queue at
    most :data:`RCV_HWM` messages (pyzmq applies a context's options to every new socket)."""
    ctx = zmq.asyncio.Context()
    ctx.setsockopt(zmq.MAXMSGSIZE, MAX_MESSAGE_BYTES)
    ctx.setsockopt(zmq.RCVHWM, RCV_HWM)
    return ctx


#: Times one socket to the kernel is dialled again after a drop (then the channel stays silent).
MAX_REDIALS = 50


def _alias(url: str, n: int) -> str:
    """Another name for ``url`` (``ipc:///p`` -> ``ipc:////p``, the same file): libzmq connects a
    SUB, DEALER or REQ socket once per endpoint name."""
    return url.replace("ipc://", "ipc://" + "/" * n, 1)


async def _redial_on_drop(sock: zmq.asyncio.Socket, url: str) -> None:
    """Dial the kernel again when ``sock``'s connection was dropped for good.

    libzmq drops a connection whose peer sends a frame over ``MAXMSGSIZE`` and, that being a
    protocol error, never dials it again (after an ordinary disconnect it does, and says so at
    once with ``CONNECT_RETRIED``): without this, one huge print would silence the kernel's
    channel for the rest of the notebook. The new connection is made under another name of the
    same socket file, so the dropped one is left to drain (``disconnect`` would tear its pipe
    down under a reader in the middle of a multipart message: a libzmq assertion)."""
    mon = sock.get_monitor_socket(zmq.EVENT_DISCONNECTED | zmq.EVENT_CONNECT_RETRIED | zmq.EVENT_MONITOR_STOPPED)

    async def next_event(timeout: float | None = None) -> int:
        return parse_monitor_message(await asyncio.wait_for(mon.recv_multipart(), timeout))["event"]

    try:
        redials = 0
        while redials < MAX_REDIALS:
            event = await next_event()
            if event == zmq.EVENT_DISCONNECTED:
                try:
                    event = await next_event(1.0)
                except asyncio.TimeoutError:  # libzmq gave up on it
                    redials += 1
                    if url.startswith("ipc://"):
                        sock.connect(_alias(url, redials))
                    else:  # tcp (no sandbox): one name only
                        sock.disconnect(url)
                        sock.connect(url)
                    continue
            if event == zmq.EVENT_MONITOR_STOPPED or sock.closed:
                return
    except (zmq.ZMQError, asyncio.CancelledError):  # the socket or its context is closed
        pass
    finally:
        if not sock.closed:
            sock.disable_monitor()  # else libzmq's I/O thread blocks on the next event for `mon`
        mon.close(linger=0)


class _BoundedSockets:
    """Sockets to the kernel from a :func:`bounded_context`, dialled again after a drop."""

    _redials: list

    @default("context")
    def _context_default(self) -> zmq.asyncio.Context:
        self._created_context = True
        return bounded_context()

    def _create_connected_socket(self, channel: str, identity: bytes | None = None):
        sock = super()._create_connected_socket(channel, identity=identity)
        try:
            asyncio.get_running_loop()
        except RuntimeError:  # not in nbclient's event loop: no redialling
            return sock
        if not hasattr(self, "_redials"):
            self._redials = []
        self._redials.append(asyncio.ensure_future(_redial_on_drop(sock, self._make_url(channel))))
        return sock

    def _stop_redials(self) -> None:
        for task in getattr(self, "_redials", []):
            task.cancel()
        self._redials = []


class GradingKernelClient(_BoundedSockets, AsyncKernelClient):
    """The client nbclient talks to the kernel with (see the module docstring)."""

    def stop_channels(self) -> None:
        self._stop_redials()
        super().stop_channels()


def _keep_head(fd: int, limit: int = KERNEL_LOG_BYTES) -> None:
    """Copy the first ``limit`` bytes read from pipe ``fd`` to this process's stderr and discard
    the rest, until every writer has closed it (the kernel and its sandbox are gone)."""
    kept = 0
    with open(fd, "rb", buffering=0) as pipe:
        while chunk := pipe.read(1 << 16):
            if kept >= limit:
                continue
            part = chunk[:limit - kept]
            kept += len(part)
            try:
                os.write(2, part + (b"\n[genlab: the kernel's stdout/stderr is cut here]\n" if kept >= limit else b""))
            except OSError:
                pass


def _sandbox_pid(info: Path) -> int | None:
    try:
        return int(json.loads(info.read_text())["child-pid"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


class GradingKernelManager(_BoundedSockets, AsyncKernelManager):
    """nbclient's kernel manager with the bounds of the module docstring."""

    sandbox_runtime = Unicode("", config=True, help="the sandbox's runtime folder on the host "
                              "(genlab.grading.sandbox.SandboxDirs.runtime); empty: no sandbox")
    client_class = DottedObjectName("genlab.grading.kernel.GradingKernelClient")

    @default("client_factory")
    def _client_factory_default(self):
        return GradingKernelClient

    def _close_control_socket(self) -> None:
        self._stop_redials()
        super()._close_control_socket()

    async def _async_launch_kernel(self, kernel_cmd, **kw) -> None:
        runtime = Path(self.sandbox_runtime) if self.sandbox_runtime else None
        if runtime is not None:
            (runtime / sb.INFO_FILE).unlink(missing_ok=True)  # a restart must not read the old pid
        read, write = os.pipe()
        kw.update(stdin=subprocess.DEVNULL, stdout=write, stderr=write)
        try:
            await super()._async_launch_kernel(kernel_cmd, **kw)
        finally:
            os.close(write)
            threading.Thread(target=_keep_head, args=(read,), name="kernel-stdio", daemon=True).start()
        if runtime is not None:
            await self._link_ipc(runtime)

    async def _link_ipc(self, runtime: Path, timeout: float = 30) -> None:
        """Point the host's link ``runtime/ipc`` at the socket tmpfs of the sandbox just started.
        Until then (and if the sandbox fails to start) the channels' connects simply retry."""
        deadline = time.monotonic() + timeout
        while (pid := _sandbox_pid(runtime / sb.INFO_FILE)) is None:
            proc = getattr(self.provisioner, "process", None)
            if time.monotonic() > deadline or (proc is not None and proc.poll() is not None):
                self.log.error("no sandbox pid in %s: the kernel's sockets cannot be reached", runtime / sb.INFO_FILE)
                return
            await asyncio.sleep(0.01)
        link, tmp = runtime / sb.IPC_DIR, runtime / (sb.IPC_DIR + ".new")
        tmp.unlink(missing_ok=True)
        os.symlink(f"/proc/{pid}/root{link}", tmp)
        os.replace(tmp, link)

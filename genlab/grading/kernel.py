"""How the kernel that runs a submission is started.

This module is the one place that decides the command line of the student's kernel. nbgrader
(through nbclient) starts kernels by kernelspec name, so grading installs a private kernelspec,
:data:`GRADING_KERNEL_NAME`, in the run's temporary Jupyter data directory and tells nbgrader's
``Execute`` preprocessor to use it. Its ``argv`` is :meth:`KernelLauncher.command`: the chosen
kernel's own command (``genlab``, else ``python3``, or ``--kernel NAME``), prefixed with
:attr:`KernelLauncher.wrapper`. Sandboxing (bubblewrap, ``unshare``, ``prlimit``/cgroup limits)
slots in by setting ``wrapper``, e.g.::

    KernelLauncher.from_kernelspec("genlab", env, wrapper=["bwrap", "--ro-bind", "/", "/",
                                   "--bind", "{workdir}", "{workdir}", "--unshare-net", "--"])

(the connection file lives in the run's ``runtime/`` directory, which a sandbox must bind).
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

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

"""Autograding of one submitted notebook with nbgrader (``genlab grade``).

Library use (batch grading)::

    from genlab.grading import grade_notebook
    result = grade_notebook("submitted/alice/02_vae/vae_pytorch.ipynb")
    print(result.score, result.max_score)

See ``autograder/README.md`` for how grading works and ``autograder/SECURITY.md`` for what it
guarantees. The names below are imported on first use: the student's kernel imports
``genlab.grading.agent`` (the judge's agent) and must not pay for nbgrader and ZMQ.
"""
from importlib import import_module

from .errors import BadSubmission, GraderFailure, GradingError, KernelDied, KernelUnresponsive, SandboxRefused

_LAZY = {"DEFAULT_NOTEBOOK_TIMEOUT": ".grade", "DEFAULT_TIMEOUT": ".grade", "CellGrade": ".grade",
         "GradeResult": ".grade", "grade_notebook": ".grade", "kernel_env": ".grade",
         "KernelLauncher": ".kernel", "resolve_kernel": ".kernel"}

__all__ = [
    "BadSubmission", "CellGrade", "DEFAULT_NOTEBOOK_TIMEOUT", "DEFAULT_TIMEOUT", "GradeResult", "GraderFailure", "GradingError",
    "KernelDied", "KernelLauncher", "KernelUnresponsive", "SandboxRefused", "grade_notebook", "kernel_env", "resolve_kernel",
]


def __getattr__(name):
    if name in _LAZY:
        value = getattr(import_module(_LAZY[name], __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

"""Autograding of one submitted notebook with nbgrader (``genlab grade``).

Library use (batch grading)::

    from genlab.grading import grade_notebook
    result = grade_notebook("submitted/alice/02_vae/vae_pytorch.ipynb")
    print(result.score, result.max_score)

See ``autograder/README.md`` for how grading works and what is (not yet) isolated.
"""
from .errors import BadSubmission, GraderFailure, GradingError, KernelDied, KernelUnresponsive, SandboxRefused
from .grade import DEFAULT_NOTEBOOK_TIMEOUT, DEFAULT_TIMEOUT, CellGrade, GradeResult, grade_notebook, kernel_env
from .kernel import KernelLauncher, resolve_kernel

__all__ = [
    "BadSubmission", "CellGrade", "DEFAULT_TIMEOUT", "GradeResult", "GraderFailure", "GradingError",
    "KernelDied", "KernelLauncher", "KernelUnresponsive", "SandboxRefused", "grade_notebook", "kernel_env", "resolve_kernel",
]

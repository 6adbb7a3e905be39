"""What can go wrong when grading one submission, and the exit status each maps to."""
from __future__ import annotations


class GradingError(Exception):
    """Grading produced no grade. ``exit_code`` is what ``genlab grade`` exits with."""

    exit_code = 1


class BadSubmission(GradingError):
    """The input cannot be graded: a missing or broken file, an unknown chapter or notebook,
    duplicated ids, or a submission whose kernel died. ``genlab grade`` exits with 2."""

    exit_code = 2


class KernelDied(BadSubmission):
    """The kernel running the submission exited or crashed before the notebook finished
    (``os._exit``, a segfault, running out of memory). nbgrader would leave the notebook
    silently ungraded; we refuse to report a stale or zero grade instead."""


class KernelUnresponsive(BadSubmission):
    """A cell timed out and the kernel could not be interrupted afterwards."""


class GraderFailure(GradingError):
    """nbgrader itself failed (a problem with the course or the grader, not the submission)."""


class SandboxRefused(GradingError):
    """No sandbox can be set up here (no bubblewrap, no user namespaces) and ``--unsafe`` was
    not given: the grader refuses to run untrusted code with the grader's rights."""

"""The ``genlab`` command: ``genlab <command> [options]``; ``genlab <command> --help`` for each."""
from __future__ import annotations

import os
import sys

#: Exit status when stdout is closed early (``genlab questions --list | head -1``): 128 + SIGPIPE,
#: what a shell reports for a command killed by a broken pipe.
EXIT_BROKEN_PIPE = 141

COMMANDS = {
    "release": ("genlab.release", "main", "rebuild solutions/ and chapters/ from authoring/ (all, or CHAPTER ...)"),
    "sync": ("genlab.sync", "main", "carry edits of one framework's solution notebook back into its chapter source"),
    "grade": ("genlab.grading.cli", "grade_main", "autograde one notebook (table or --json)"),
    "grade-class": ("genlab.grading.batch", "main", "grade a class's submitted/ folder (CSV, gradebook, feedback)"),
    "bench": ("genlab.bench", "main", "time every solution notebook in QUICK and full mode"),
    "drill": ("genlab.questions.drill", "main", "interview flashcards with spaced repetition"),
    "questions": ("genlab.questions.cli", "main", "check or export the bilingual interview bank"),
}


def main(argv: list[str] | None = None) -> int:
    """Run one command; end quietly (status 141, no traceback) when stdout is closed early."""
    try:
        status = _main(argv)
        sys.stdout.flush()  # a closed pipe shows up here when the output was buffered
        return status
    except BrokenPipeError:
        _silence_stdout()
        return EXIT_BROKEN_PIPE


def _silence_stdout() -> None:
    """Point stdout at /dev/null so that the interpreter's final flush cannot fail again
    (the recipe of the Python docs, "Note on SIGPIPE")."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):
        pass


def _main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help"):
        print("usage: genlab <command> [options]\n\ncommands:")
        for name, (_, _, help_) in COMMANDS.items():
            print(f"  {name:<10} {help_}")
        return 0 if argv else 2
    name, rest = argv[0], argv[1:]
    if name not in COMMANDS:
        print(f"genlab: unknown command {name!r} (try: {', '.join(COMMANDS)})", file=sys.stderr)
        return 2
    module, func, _ = COMMANDS[name]
    import importlib

    return int(getattr(importlib.import_module(module), func)(rest) or 0)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

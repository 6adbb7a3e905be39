"""Where the course lives on disk and how to call its command-line tools."""
from __future__ import annotations

import os
import sys
from pathlib import Path


def course_root(start: Path | str | None = None) -> Path:
    """The course checkout: ``GENLAB_ROOT`` if set, else the nearest parent of ``start`` (default:
    this package) that holds ``nbgrader_config.py`` and ``solutions/``."""
    env = os.environ.get("GENLAB_ROOT")
    if env:
        return Path(env).resolve()
    here = Path(start or Path(__file__).parent).resolve()
    for p in (here, *here.parents):
        if (p / "nbgrader_config.py").is_file() and (p / "solutions").is_dir():
            return p
    raise FileNotFoundError("cannot find the course root (a folder with nbgrader_config.py and solutions/); "
                            "set GENLAB_ROOT")


def tool_env(extra: dict | None = None) -> dict:
    """The environment for running nbgrader and friends as subprocesses: this interpreter's
    ``bin/`` first on PATH (nbgrader calls ``alembic`` by name)."""
    env = dict(os.environ)
    bindir = str(Path(sys.executable).parent)
    env["PATH"] = bindir + os.pathsep + env.get("PATH", "")
    if extra:
        env.update(extra)
    return env

"""Test-suite settings shared by every test file (and by nbval's notebook runs)."""
import os
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

ROOT = Path(__file__).resolve().parents[1]
# Every notebook the tests execute runs in QUICK mode; kernels inherit this environment.
os.environ["GENLAB_QUICK"] = "1"
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
# nbgrader calls `alembic` by name: the venv's bin/ must be on PATH.
os.environ["PATH"] = str(Path(sys.executable).parent) + os.pathsep + os.environ.get("PATH", "")

# Fixture notebooks are inputs for the grader tests, not notebooks for nbval to run.
collect_ignore_glob = ["fixtures/*"]

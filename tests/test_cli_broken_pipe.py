"""Every ``genlab`` command ends quietly when its output is closed early (``... | head -1``)."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest

from genlab.paths import course_root

ROOT = course_root()


def _run_with_closed_stdout(args, tmp_path):
    """Run ``python -m genlab.cli ARGS`` with stdout a pipe whose reading end is already closed,
    so that the first write fails with EPIPE however small the output is."""
    read_end, write_end = os.pipe()
    os.close(read_end)
    env = dict(os.environ, XDG_DATA_HOME=str(tmp_path), PYTHONWARNINGS="ignore")
    try:
        proc = subprocess.run([sys.executable, "-m", "genlab.cli", *args], stdout=write_end,
                              stderr=subprocess.PIPE, cwd=ROOT, env=env, timeout=300)
    finally:
        os.close(write_end)
    return proc.returncode, proc.stderr.decode("utf-8", "replace")


@pytest.mark.parametrize("args", [
    ["questions", "--list"],
    ["questions", "--check"],
    ["drill", "--stats"],
    ["drill", "--plain", "--chapter", "vae", "--n", "3", "--seed", "0"],
    ["--help"],
], ids=lambda a: " ".join(a))
def test_closed_stdout_ends_quietly(args, tmp_path):
    if args[0] == "drill":
        args = args + ["--db", str(tmp_path / "progress.sqlite3")] if "--stats" in args else args
    rc, err = _run_with_closed_stdout(args, tmp_path)
    assert "Traceback" not in err and "BrokenPipeError" not in err and "Exception ignored" not in err, err
    assert rc in (0, 141), (rc, err)


def test_head_through_a_shell_pipe(tmp_path):
    """The user's view: `genlab questions --list | head -1` prints one line and no traceback."""
    cmd = f"{sys.executable} -m genlab.cli questions --list | head -1"
    proc = subprocess.run(["bash", "-c", cmd], capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert proc.returncode == 0 and len(proc.stdout.splitlines()) == 1
    assert "Traceback" not in proc.stderr and "BrokenPipe" not in proc.stderr, proc.stderr

"""The suite's settings live in the root conftest.py, so a run of notebooks alone gets them too."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_a_notebook_run_alone_loads_the_suite_settings():
    # `pytest solutions/NN_topic` collects nothing under tests/: a conftest there would not be loaded, and
    # nbval would run the notebook in full mode with its 5 s output timeout
    env = {k: v for k, v in os.environ.items() if k != "GENLAB_QUICK"}
    out = subprocess.run([sys.executable, "-m", "pytest", "--co", "-q", "-p", "no:cacheprovider", "--trace-config",
                          "solutions/02_vae/vae_pytorch.ipynb"], cwd=ROOT, env=env, capture_output=True, text=True,
                         timeout=300)
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]
    assert str(ROOT / "conftest.py") in out.stdout, out.stdout[-3000:]
    assert "vae_pytorch.ipynb::Cell 0" in out.stdout


def test_the_settings_put_notebooks_in_quick_mode():
    assert os.environ.get("GENLAB_QUICK") == "1"

"""`make lint` passes: ruff (rules in pyproject's [tool.ruff]) on the code, the chapter sources and the
built solution notebooks, with exactly the paths the Makefile's lint target uses."""
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def lint_paths() -> list[str]:
    make = (ROOT / "Makefile").read_text()
    assert "ruff check --no-cache $(LINT_PATHS)" in make, "the lint target runs ruff on $(LINT_PATHS)"
    return re.search(r"^LINT_PATHS\s*:=\s*(.+)$", make, re.M).group(1).split()


def test_lint_covers_code_sources_and_solution_notebooks():
    assert {"genlab", "tests", "tools", "authoring", "solutions"} <= set(lint_paths())


def test_ruff_finds_nothing():
    proc = subprocess.run([sys.executable, "-m", "ruff", "check", "--no-cache", "--output-format=concise",
                           *lint_paths()], cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, f"`make lint` fails:\n{proc.stdout}{proc.stderr}"

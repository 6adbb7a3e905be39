"""The set-up files agree: pyproject.toml, environment.yml, Makefile, .ci/run and the README's contract."""
import re
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


def _norm(req: str) -> str:
    name, _, version = req.partition("==")
    return f"{re.sub(r'[-_.]+', '-', name.strip().lower())}=={version.strip()}"


def test_environment_yml_mirrors_pyproject_dependencies():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    deps = {_norm(d) for d in project["dependencies"]}
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip_block = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict) and "pip" in d)
    conda_pins = {_norm(p) for p in pip_block if not p.startswith("-")}
    assert conda_pins == deps
    assert "python=3.11" in env["dependencies"]
    assert all("==" in d for d in project["dependencies"]), "every dependency is pinned"
    assert project["scripts"]["genlab"] == "genlab.cli:main"


def test_required_pins():
    text = (ROOT / "pyproject.toml").read_text()
    for pin in ["torch==2.13.0", "tensorflow-cpu==2.21.0", "nbgrader==0.9.6", "nbval=="]:
        assert pin in text


def test_ci_runs_make_test_and_readme_shows_the_two_commands():
    ci = (ROOT / ".ci" / "run").read_text()
    assert "make test" in ci and "set -e" in ci
    readme = (ROOT / "README.md").read_text()
    for cmd in ("make lab", "make test", "make setup", "make release", "make grade", "make bench"):
        assert cmd in readme, f"README does not document {cmd!r}"
    make = (ROOT / "Makefile").read_text()
    for target in ("setup:", "lab: setup", "test: setup", "release: setup", "grade: setup", "bench: setup"):
        assert target in make


def test_keras_hub_is_pinned_alike_where_it_is_installed_without_dependencies():
    """keras-hub is installed with --no-deps (its tensorflow-text would pull the full tensorflow wheel):
    the Makefile and the conda route pin the same version, and its own dependencies are in pyproject."""
    pin = re.search(r"^KERAS_HUB := (keras-hub==[\d.]+)$", (ROOT / "Makefile").read_text(), re.M)
    assert pin, "the Makefile pins keras-hub in KERAS_HUB"
    assert "--no-deps $(KERAS_HUB)" in (ROOT / "Makefile").read_text()
    assert pin.group(1) in (ROOT / "environment.yml").read_text()
    deps = {_norm(d).partition("==")[0] for d in tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]}
    for needed in ("tokenizers", "regex", "rich", "kagglehub", "kagglesdk", "sentencepiece", "tensorflow-cpu"):
        assert needed in deps, f"keras-hub needs {needed}: pin it in pyproject.toml"

"""Test-suite settings shared by every test file and by nbval's notebook runs.

It sits at the repository root, not in tests/, so that a run of notebooks alone
(``pytest solutions/02_vae``) gets them too: QUICK mode, the raised nbval output timeout."""
import os
import re
import sys
from collections import defaultdict
from pathlib import Path

import matplotlib
from _pytest.nodeid import coerce_node_id  # pytest 9's structured node ids (see pytest_collection_modifyitems)

matplotlib.use("Agg")

ROOT = Path(__file__).resolve().parent
# Every notebook the tests execute runs in QUICK mode; kernels inherit this environment.
os.environ["GENLAB_QUICK"] = "1"
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
# nbgrader calls `alembic` by name: the venv's bin/ must be on PATH.
os.environ["PATH"] = str(Path(sys.executable).parent) + os.pathsep + os.environ.get("PATH", "")

# Fixture notebooks are inputs for the grader tests, not notebooks for nbval to run.
collect_ignore_glob = ["tests/fixtures/*"]


# nbval waits a hard-coded 5 s (IPyNbCell.output_timeout in nbval/plugin.py; no option sets it) for each
# output message after a cell has run, and for the kernel to go idle after an error: on a loaded machine
# a cell's outputs arrive later ("Timeout of 5 seconds exceeded waiting for output"). Cells still end at
# --nbval-cell-timeout (pyproject's addopts).
NBVAL_OUTPUT_TIMEOUT = 120


def pytest_addoption(parser, pluginmanager):
    # `-p no:nbval` (make test-fast) must still accept the nbval options in pyproject's addopts.
    if not pluginmanager.has_plugin("nbval"):
        group = parser.getgroup("nbval (disabled: accepted and ignored)")
        group.addoption("--nbval-lax", action="store_true")
        group.addoption("--nbval-cell-timeout", action="store")
        group.addoption("--nbval-kernel-startup-timeout", action="store")


def pytest_collection_modifyitems(config, items):
    # `make test` runs pytest-xdist with --dist loadgroup: a file's tests stay on one worker (a
    # notebook's cells share a kernel; a module's fixtures are set up once) unless the module opts
    # in with XDIST_SPREAD = True (many independent slow cases, such as one grading per notebook),
    # so that no long file is left running alone at the end. The group is written into the nodeid
    # as xdist's loadgroup reads it ("<nodeid>@<group>"). pytest 9 keeps a node's id in ``_id``, where
    # xdist 3.8's own xdist_group handling (which sets the old ``_nodeid``) no longer reaches.
    grouping = bool(getattr(config.option, "loadgroup", False))
    for item in items:
        if type(item).__name__ == "IPyNbCell":
            item.output_timeout = NBVAL_OUTPUT_TIMEOUT
        if grouping and not getattr(getattr(item, "module", None), "XDIST_SPREAD", False):
            group = str(Path(item.path).relative_to(ROOT)).replace("@", "_").replace("]", "_")
            item._id = coerce_node_id(f"{item.nodeid}@{group}")


# The suite ends with its time per chapter (setup + call + teardown of every test, summed).
CHAPTERS = sorted(p.name for p in (ROOT / "authoring").glob("[0-9][0-9]_*") if p.is_dir())
TOPICS = {name.split("_", 1)[1]: name for name in CHAPTERS}  # "vae" -> "02_vae"
_durations: dict[str, float] = defaultdict(float)
_counts: dict[str, set] = defaultdict(set)


def chapter_of(nodeid: str) -> str:
    """The chapter a test belongs to: ``solutions/NN_topic/...`` (or chapters/), a test file named after a
    topic (``tests/test_grading_vae_pytorch.py``, ``tests/test_gan_parity.py``), a parameter naming a
    chapter (``test_x[02_vae]``); else "other"."""
    path, _, name = nodeid.partition("::")
    match = re.match(r"(?:solutions|chapters)/(\d\d_\w+?)/", path)
    if match:
        return match.group(1)
    stem = f"_{Path(path).stem}_"
    for topic, chapter in TOPICS.items():
        if path.startswith("tests/test_") and f"_{topic}_" in stem:
            return chapter
    return next((chapter for chapter in CHAPTERS if chapter in name), "other")


def pytest_runtest_logreport(report):
    if getattr(report, "duration", None) is not None:
        chapter = chapter_of(report.nodeid)
        _durations[chapter] += report.duration
        _counts[chapter].add(report.nodeid)


def pytest_terminal_summary(terminalreporter):
    if not _durations:
        return
    terminalreporter.section("time per chapter")
    for chapter in sorted(_durations, key=lambda c: (c == "other", c)):
        terminalreporter.write_line(f"{chapter:<16} {len(_counts[chapter]):>5} tests {_durations[chapter]:>9.1f} s")
    terminalreporter.write_line(f"{'total':<16} {sum(map(len, _counts.values())):>5} tests "
                                f"{sum(_durations.values()):>9.1f} s")

"""`make release`: build solutions/ from authoring/, then chapters/ from solutions/ with nbgrader."""
from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from genlab.authoring import build_all
from genlab.paths import course_root, tool_env


def chapters_in(root: Path) -> list[str]:
    return sorted(p.name for p in (root / "solutions").iterdir() if p.is_dir() and p.name[:2].isdigit())


def generate(root: Path, chapter: str, release_dir: Path) -> Path:
    """Run nbgrader's generate_assignment for one chapter into ``release_dir/chapter``.

    The gradebook nbgrader insists on is a throwaway file, so a release never leaves a
    database in the checkout.
    """
    with tempfile.TemporaryDirectory(prefix="genlab-release-") as tmp:
        cmd = [sys.executable, "-m", "nbgrader", "generate_assignment", chapter, "--force",
               f"--CourseDirectory.root={root}", f"--CourseDirectory.release_directory={release_dir}",
               f"--CourseDirectory.db_url=sqlite:///{Path(tmp) / 'gradebook.db'}", "--log-level=WARN"]
        proc = subprocess.run(cmd, cwd=root, env=tool_env(), capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"nbgrader generate_assignment {chapter} failed:\n{proc.stdout}\n{proc.stderr}")
    return release_dir / chapter


def release(root: Path | None = None, chapters: list[str] | None = None) -> list[Path]:
    """Rebuild ``solutions/`` from ``authoring/`` and ``chapters/`` from ``solutions/``."""
    root = Path(root or course_root())
    build_all(root)
    out = []
    for ch in chapters or chapters_in(root):
        target = root / "chapters" / ch
        if target.exists():
            shutil.rmtree(target)
        out.append(generate(root, ch, root / "chapters"))
    return out


def main(argv: list[str] | None = None) -> int:
    import argparse

    ap = argparse.ArgumentParser(prog="genlab release", description=__doc__)
    ap.add_argument("chapters", nargs="*", help="chapter folders (default: all)")
    args = ap.parse_args(argv)
    for path in release(chapters=args.chapters or None):
        print(f"released {path}")
    return 0

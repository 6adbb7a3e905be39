"""`make release [CHAPTER=02_vae]`: build solutions/ from authoring/, then chapters/ from solutions/ with nbgrader.

``genlab release`` rebuilds every chapter; ``genlab release 02_vae [03_gan ...]`` only those.
"""
from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from genlab.authoring import build_chapter, chapter_sources
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
    """Rebuild ``solutions/`` from ``authoring/`` and ``chapters/`` from ``solutions/`` (all or some chapters).

    Raises ``ValueError`` naming the known chapters for a name that has no ``authoring/`` source.
    """
    root = Path(root or course_root())
    sources = {src.parent.name: src for src in chapter_sources(root)}
    names = [c.strip("/").removeprefix("authoring/") for c in chapters] if chapters else sorted(sources)
    unknown = [c for c in names if c not in sources]
    if unknown:
        raise ValueError(f"unknown chapter{'s' if len(unknown) > 1 else ''} {', '.join(map(repr, unknown))}; "
                         f"known: {', '.join(sorted(sources))}")
    for name in names:
        build_chapter(sources[name], root / "solutions" / name)
    out = []
    for name in names:
        target = root / "chapters" / name
        if target.exists():
            shutil.rmtree(target)
        out.append(generate(root, name, root / "chapters"))
    return out


def main(argv: list[str] | None = None) -> int:
    import argparse

    ap = argparse.ArgumentParser(prog="genlab release", description=__doc__)
    ap.add_argument("chapters", nargs="*", metavar="CHAPTER", help="chapter folders such as 02_vae (default: all)")
    args = ap.parse_args(argv)
    try:
        paths = release(chapters=args.chapters or None)
    except ValueError as exc:  # an unknown chapter, or an AuthoringError naming file and line
        print(f"genlab release: {exc}", file=sys.stderr)
        return 2
    for path in paths:
        print(f"released {path}")
    return 0

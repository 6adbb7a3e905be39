"""No credit by delegation (genlab/grading/delegation.py): the stubs that hide what implements a
chapter's exercises, checked by importing them the way the kernel would see them."""
from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from genlab.grading import delegation
from genlab.grading.delegation import Forbidden, ManifestError

ROOT = Path(__file__).resolve().parents[1]


def test_entries_parse_and_bad_ones_are_refused():
    assert Forbidden.parse("genlab.metrics.kid:mmd2_unbiased, kid") == Forbidden("genlab.metrics.kid", ("mmd2_unbiased", "kid"))
    assert Forbidden.parse("torchmetrics") == Forbidden("torchmetrics")
    for bad in ["", "a..b", "mod:", "mod:1x", "mod:a;b", "os; rm"]:
        with pytest.raises(ManifestError):
            Forbidden.parse(bad)


def test_every_chapter_manifest_names_installed_code():
    for chapter in sorted((ROOT / "authoring").glob("[0-9][0-9]_*")):
        entries = delegation.forbidden(ROOT, [chapter.name])
        for e in entries:
            if e.module.startswith("genlab."):
                path = delegation.module_file(e.module)
                assert path is not None, f"{chapter.name}: {e.module} does not exist"
                text = (path / "__init__.py" if path.is_dir() else path).read_text()
                for name in e.names:
                    assert f"def {name}(" in text, f"{chapter.name}: {e.module} has no function {name}"


def test_the_evaluation_chapter_hides_its_references(tmp_path):
    names = {(e.module, n) for e in delegation.forbidden(ROOT, ["09_evaluation"]) for n in e.names or ("*",)}
    for fn in ["frechet_distance", "inception_score", "precision_recall", "psnr", "ssim"]:
        assert any(n == fn for _, n in names), fn
    assert ("skimage.metrics", "*") in names and ("torchmetrics", "*") in names


def _run_with_binds(binds, code: str) -> subprocess.CompletedProcess:
    """Run ``code`` in a Python whose view of the files is changed by ``binds`` (as bubblewrap
    would): an import hook that reads the stub instead of the real file."""
    mapping = {sandbox: host for host, sandbox in binds}
    prelude = textwrap.dedent(f"""
        import importlib.abc, importlib.machinery, sys
        MAP = {mapping!r}
        class Finder(importlib.abc.MetaPathFinder):
            def find_spec(self, name, path, target=None):
                spec = importlib.machinery.PathFinder.find_spec(name, path)
                if spec is None or spec.origin is None:
                    return spec
                for sandbox, host in MAP.items():
                    if spec.origin == sandbox or spec.origin.startswith(sandbox + "/"):
                        origin = host + spec.origin[len(sandbox):]
                        loader = importlib.machinery.SourceFileLoader(name, origin)
                        return importlib.util.spec_from_file_location(
                            name, origin, loader=loader, submodule_search_locations=spec.submodule_search_locations)
                return spec
        sys.meta_path.insert(0, Finder())
        sys.dont_write_bytecode = True
        import importlib.util
    """)
    return subprocess.run([sys.executable, "-c", prelude + code], capture_output=True, text=True, timeout=120)


def test_stubs_raise_and_the_rest_of_the_module_still_works(tmp_path):
    binds = delegation.overlay_binds([Forbidden("genlab.metrics.frechet", ("frechet_distance",)),
                                      Forbidden("genlab.metrics.image", ("ssim",))], tmp_path)
    sandbox_paths = {p for _, p in binds}
    frechet = delegation.module_file("genlab.metrics.frechet")
    assert str(frechet) in sandbox_paths and str(frechet.parent / "__pycache__") in sandbox_paths
    out = _run_with_binds(binds, textwrap.dedent("""
        import numpy as np, genlab.metrics as gm
        a = np.random.default_rng(0).normal(size=(20, 3))
        print("stats", gm.feature_stats(a)[0].shape)        # not forbidden: still works
        print("psnr", round(gm.psnr(a, a + 0.1, 1.0), 3))   # another module's function: works
        for f in (gm.frechet_distance, gm.ssim):
            try:
                f(a, a)
            except RuntimeError as e:
                print("blocked", "implements an exercise" in str(e))
    """))
    assert out.returncode == 0, out.stderr
    assert "stats (3,)" in out.stdout and "psnr" in out.stdout
    assert out.stdout.count("blocked True") == 2


def test_entries_inside_a_package_hidden_whole_are_dropped(tmp_path):
    """One chapter hides a package, another an attribute of one of its modules (a drill merges both):
    one bind for the package, none into the folder it replaces, and the attribute is hidden with it."""
    pytest.importorskip("skimage")
    entries = [Forbidden("skimage.metrics._structural_similarity", ("structural_similarity",)), Forbidden("skimage.metrics")]
    for order in (entries, entries[::-1]):
        binds = delegation.overlay_binds(order, tmp_path / str(len(list(tmp_path.iterdir()))))
        package = delegation.module_file("skimage.metrics")
        assert [p for _, p in binds] == [str(package)], binds
    out = _run_with_binds(binds, "from skimage.metrics import structural_similarity")
    assert out.returncode != 0 and "implements an exercise" in out.stderr


def test_a_whole_package_is_hidden(tmp_path):
    pytest.importorskip("skimage")
    binds = delegation.overlay_binds([Forbidden("skimage.metrics")], tmp_path)
    out = _run_with_binds(binds, "import skimage.metrics")
    assert out.returncode != 0 and "implements an exercise" in out.stderr
    assert delegation.overlay_binds([Forbidden("no_such_package_xyz")], tmp_path / "b") == []

"""The sandbox's mount order: private /tmp and home before every bind, so a checkout, venv or
Python under /tmp (a CI clone) stays visible to the kernel instead of being hidden by the tmpfs."""
import pytest

from genlab.grading import sandbox as sb


@pytest.mark.parametrize("sized", [True, False])
def test_private_tmp_is_mounted_before_the_read_only_binds(tmp_path, monkeypatch, sized):
    monkeypatch.setattr(sb, "sized_tmpfs", lambda: sized)
    cwd = tmp_path / "autograded" / "student" / "01_x"
    dirs = sb.SandboxDirs.make(tmp_path / "box", cwd)
    (dirs.scratch / "data.txt").write_text("x")
    under_tmp = tmp_path / "clone" / ".venv"
    under_tmp.mkdir(parents=True)
    args = sb.bwrap_args(dirs, [under_tmp], sb.Limits())
    tmp_mount = next(i for i, a in enumerate(args) if a == "/tmp" and args[i - 1] == "--tmpfs")
    binds = [i for i, a in enumerate(args) if a in ("--ro-bind", "--bind")]
    assert binds and all(tmp_mount < i for i in binds)
    venv_bind = args.index(str(under_tmp.resolve()))
    assert args[venv_bind - 1] == "--ro-bind" and venv_bind > tmp_mount
    assert args.index(str(cwd)) > tmp_mount  # the working directory too

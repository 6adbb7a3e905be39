"""No credit by delegation: code that implements a chapter's exercises is hidden from its kernel.

A chapter's manifest (``authoring/NN_topic/chapter.yaml``, key ``grading.forbidden``) lists what a
student could call instead of writing an exercise: the course's own reference implementations
(``genlab.metrics.frechet:frechet_distance``) and libraries installed for cross-checking
(``skimage.metrics``, ``torchmetrics``). While that chapter is graded the sandbox binds stubs
over them (read-only, see :func:`overlay_binds`):

* ``package.module:name[,name...]``: the module stays importable, but the named functions are
  replaced by ones that raise :data:`MESSAGE` (other functions of the module that call them
  raise too, which is what we want: ``kid`` is built on ``mmd2_unbiased``);
* ``package.module`` or ``package``: importing it raises ``ImportError`` with :data:`MESSAGE`.

The package's ``__pycache__`` is hidden as well (a stale ``.pyc`` holds the real code). The
trusted judge still uses the real implementations as references: it runs in the grader's own
process, which is not sandboxed. Without a sandbox (``--unsafe``) nothing is hidden.
"""
from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path

MESSAGE = ("{what} implements an exercise of this chapter, so it is not available while the chapter "
           "is graded: the exercise must be your own code (the framework's own operations are fine)")


class ManifestError(ValueError):
    """A chapter manifest that cannot be used."""


@dataclass(frozen=True)
class Forbidden:
    module: str
    names: tuple[str, ...] = ()  # empty: the whole module

    @classmethod
    def parse(cls, entry: str) -> "Forbidden":
        module, sep, names = str(entry).partition(":")
        parts = tuple(n.strip() for n in names.split(","))
        if not module or not all(p.isidentifier() for p in module.split(".")) or \
                (sep and not all(n.isidentifier() for n in parts)):
            raise ManifestError(f"bad forbidden entry {entry!r} (want 'package.module' or 'package.module:name,...')")
        return cls(module, parts if sep else ())


def manifest_path(course_root: Path, assignment: str) -> Path:
    return Path(course_root) / "authoring" / assignment / "chapter.yaml"


def load_manifest(course_root: Path, assignment: str) -> dict:
    """The chapter's manifest, or ``{}`` when it has none."""
    import yaml

    path = manifest_path(course_root, assignment)
    if not path.is_file():
        return {}
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    if not isinstance(data, dict):
        raise ManifestError(f"{path}: the manifest must be a mapping")
    return data


def forbidden(course_root: Path, assignments) -> list[Forbidden]:
    """The forbidden entries of the given chapters (a coding drill mixes several)."""
    out: list[Forbidden] = []
    for assignment in assignments:
        entries = ((load_manifest(course_root, assignment).get("grading") or {}).get("forbidden")) or []
        if not isinstance(entries, list):
            raise ManifestError(f"{manifest_path(course_root, assignment)}: grading.forbidden must be a list")
        out += [Forbidden.parse(e) for e in entries]
    return out


def module_file(module: str) -> Path | None:
    """Where ``module`` lives (its ``.py`` file, or its package folder), found without importing
    anything but the top-level package's spec. None if it is not installed."""
    top, *rest = module.split(".")
    try:
        spec = importlib.util.find_spec(top)
    except (ImportError, ValueError):
        return None
    if spec is None:
        return None
    if spec.submodule_search_locations:
        path = Path(list(spec.submodule_search_locations)[0])
    elif spec.origin:
        path = Path(spec.origin)
    else:
        return None
    for part in rest:
        if not path.is_dir():
            return None
        if (path / part).is_dir():
            path = path / part
        elif (path / f"{part}.py").is_file():
            path = path / f"{part}.py"
        else:
            return None
    return path


def _raise_stub(what: str) -> str:
    return f'raise ImportError({MESSAGE.format(what=what)!r})\n'


def _function_stubs(module: str, names: tuple[str, ...]) -> str:
    lines = ["\n\n# --- grading: these implement an exercise of the chapter being graded ---"]
    for name in names:
        msg = MESSAGE.format(what=f"{module}.{name}")
        lines.append(f"def {name}(*args, **kwargs):\n    raise RuntimeError({msg!r})\n")
    return "\n".join(lines)


def overlay_binds(entries: list[Forbidden], stub_dir: Path) -> list[tuple[str, str]]:
    """Read-only binds ``(host path, sandbox path)`` that hide ``entries``; the stubs are written
    under ``stub_dir``. Entries that are not installed need nothing."""
    stub_dir = Path(stub_dir)
    empty = stub_dir / "empty"
    empty.mkdir(parents=True, exist_ok=True)
    binds: dict[str, str] = {}
    by_module: dict[str, set[str] | None] = {}
    for e in entries:
        if not e.names:
            by_module[e.module] = None
        elif by_module.get(e.module, set()) is not None:
            by_module.setdefault(e.module, set()).update(e.names)
    # A package hidden whole is replaced by one stub folder: entries inside it (another chapter's
    # module:attr, when a drill merges every chapter's list) would bind files into a folder that is not
    # there any more, and the sandbox would not start. The package's stub already hides them.
    whole = {m for m, names in by_module.items() if names is None}
    by_module = {m: names for m, names in by_module.items()
                 if not any(m.startswith(pkg + ".") for pkg in whole)}
    for i, (module, names) in enumerate(sorted(by_module.items(), key=lambda kv: kv[0])):
        target = module_file(module)
        if target is None:
            continue
        stub = stub_dir / f"s{i}"
        if names is None and target.is_dir():
            stub.mkdir()
            (stub / "__init__.py").write_text(_raise_stub(module), encoding="utf-8")
            binds[str(target)] = str(stub)
            continue
        source = target / "__init__.py" if target.is_dir() else target
        stub.mkdir()
        text = _raise_stub(module) if names is None else \
            source.read_text(encoding="utf-8") + _function_stubs(module, tuple(sorted(names)))
        (stub / source.name).write_text(text, encoding="utf-8")
        binds[str(source)] = str(stub / source.name)
        cache = source.parent / "__pycache__"
        try:
            cache.mkdir(exist_ok=True)  # so that no .pyc of the real code can appear there later
        except OSError:
            pass
        if cache.is_dir():
            binds[str(cache)] = str(empty)
    return [(host, path) for path, host in binds.items()]

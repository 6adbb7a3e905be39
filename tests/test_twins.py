"""genlab.torch and genlab.tf are twins: every module pair (genlab/torch/X.py, genlab/tf/X.py and the two
__init__) exposes the same public names, and every public function, class and method has the same
signature: parameter names, kinds and order, and the same defaults where both are plain Python values
(``dtype=torch.float32`` vs ``dtype=tf.float32`` are the same default in each framework's terms).

Framework-specific differences that are allowed are listed below, each with its reason.
"""
import ast
import inspect
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAIRS = sorted({p.stem for p in (ROOT / "genlab" / "torch").glob("*.py")}
               | {p.stem for p in (ROOT / "genlab" / "tf").glob("*.py")})
# Keras hooks and their PyTorch counterparts (nn.Module.forward vs keras.Model.call/build): not the API.
FRAMEWORK_HOOKS = {"forward", "call", "build", "get_config", "from_config", "compute_output_shape"}
# (module, "Class.method" or "name") -> why only one framework has it
ONE_FRAMEWORK_ONLY = {
    ("features", "DigitsClassifier.feature_module"):
        "torch only: the nn.Module that torchmetrics' FID takes as its feature extractor "
        "(tests/test_metrics_references.py); TensorFlow has no such consumer",
}

# (module, constant) -> why its plain value differs between the twins (other plain constants must agree)
FRAMEWORK_VALUES = {("__init__", "CHANNEL_AXIS"): "PyTorch images are (N, C, H, W), Keras images (N, H, W, C)"}

pytestmark = pytest.mark.frameworks  # imports PyTorch and TensorFlow in one process (~700 MB, seconds)


def _module_name(fw: str, stem: str) -> str:
    return f"genlab.{fw}" if stem == "__init__" else f"genlab.{fw}.{stem}"


def _path(fw: str, stem: str) -> Path:
    return ROOT / "genlab" / fw / f"{stem}.py"


def public_names(fw: str, stem: str, module) -> set[str]:
    """``__all__`` plus every public top-level def, class and assignment of the file."""
    tree = ast.parse(_path(fw, stem).read_text())
    names = set(getattr(module, "__all__", ()))
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names |= {t.id for t in targets if isinstance(t, ast.Name)}
    return {n for n in names if not n.startswith("_")}


def _plain(value) -> bool:
    if isinstance(value, (tuple, list, frozenset)):
        return all(_plain(v) for v in value)
    return value is None or isinstance(value, (bool, int, float, str, bytes))


def signature_mismatches(where: str, torch_obj, tf_obj, keras_kwargs: bool = False) -> list[str]:
    """Differences in parameter names, kinds, order and plain defaults."""
    a, b = inspect.signature(torch_obj).parameters, inspect.signature(tf_obj).parameters
    pa, pb = list(a.values()), list(b.values())
    if keras_kwargs and pb and pb[-1].kind is inspect.Parameter.VAR_KEYWORD and not (
            pa and pa[-1].kind is inspect.Parameter.VAR_KEYWORD):
        pb = pb[:-1]  # keras.Model subclasses pass **kwargs (name=, dtype=, ...) on to Keras
    out = []
    if [(p.name, p.kind) for p in pa] != [(p.name, p.kind) for p in pb]:
        out.append(f"{where}: torch{inspect.signature(torch_obj)} vs tf{inspect.signature(tf_obj)}")
        return out
    for x, y in zip(pa, pb):
        if (x.default is inspect.Parameter.empty) != (y.default is inspect.Parameter.empty):
            out.append(f"{where}: {x.name} has a default in one framework only")
        elif _plain(x.default) and _plain(y.default) and x.default != y.default:
            out.append(f"{where}: {x.name}={x.default!r} (torch) vs {y.default!r} (tf)")
    return out


def _methods(cls) -> dict:
    """Public methods (and __init__) the class itself defines, without the framework hooks."""
    return {name: obj for name, obj in vars(cls).items()
            if callable(obj) and (name == "__init__" or not name.startswith("_")) and name not in FRAMEWORK_HOOKS}


def test_every_module_has_its_twin():
    for stem in PAIRS:
        assert _path("torch", stem).is_file() and _path("tf", stem).is_file(), \
            f"genlab/torch/{stem}.py and genlab/tf/{stem}.py come in pairs"


@pytest.mark.parametrize("stem", PAIRS)
def test_twins_have_the_same_names_and_signatures(stem):
    import importlib

    pytest.importorskip("torch")
    pytest.importorskip("tensorflow")
    tmod = importlib.import_module(_module_name("torch", stem))
    fmod = importlib.import_module(_module_name("tf", stem))
    problems = []
    t_names, f_names = public_names("torch", stem, tmod), public_names("tf", stem, fmod)
    for name in sorted(t_names ^ f_names):
        if (stem, name) not in ONE_FRAMEWORK_ONLY:
            problems.append(f"{name}: only in genlab.{'torch' if name in t_names else 'tf'}")
    if getattr(tmod, "__all__", None) is not None or getattr(fmod, "__all__", None) is not None:
        if sorted(getattr(tmod, "__all__", ())) != sorted(getattr(fmod, "__all__", ())):
            problems.append(f"__all__ differs: {sorted(set(getattr(tmod, '__all__', ())) ^ set(getattr(fmod, '__all__', ())))}")
    for name in sorted(t_names & f_names):
        t, f = getattr(tmod, name), getattr(fmod, name)
        if inspect.isclass(t) != inspect.isclass(f) or callable(t) != callable(f):
            problems.append(f"{name}: a {type(t).__name__} in torch, a {type(f).__name__} in tf")
        elif inspect.isclass(t):
            tm, fm = _methods(t), _methods(f)
            for method in sorted(tm.keys() ^ fm.keys()):
                if (stem, f"{name}.{method}") not in ONE_FRAMEWORK_ONLY:
                    problems.append(f"{name}.{method}: only in {'torch' if method in tm else 'tf'}")
            for method in sorted(tm.keys() & fm.keys()):
                problems += signature_mismatches(f"{name}.{method}", tm[method], fm[method], keras_kwargs=True)
        elif callable(t):
            problems += signature_mismatches(name, t, f)
        elif _plain(t) and _plain(f) and t != f and (stem, name) not in FRAMEWORK_VALUES:
            problems.append(f"{name} = {t!r} (torch) vs {f!r} (tf)")
    assert not problems, f"genlab/torch/{stem}.py vs genlab/tf/{stem}.py:\n  " + "\n  ".join(problems)


def test_the_allowed_differences_still_exist():
    for (stem, name), _why in FRAMEWORK_VALUES.items():
        assert all(f"{name} = " in _path(fw, stem).read_text() for fw in ("torch", "tf")), (stem, name)
    for (stem, dotted), _why in ONE_FRAMEWORK_ONLY.items():
        owner, _, attr = dotted.rpartition(".")
        texts = [_path(fw, stem).read_text() for fw in ("torch", "tf")]
        assert sum(f"def {attr}(" in t or f"{attr} =" in t for t in texts) == 1, \
            f"{stem}:{dotted} is listed as one-framework-only: remove it from ONE_FRAMEWORK_ONLY"

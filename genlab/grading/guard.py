"""The comparison guard: test cells run with the original comparison functions.

Before the first cell of a submission runs, the grader executes :data:`SETUP` in the kernel
(silently: no output, no history). It imports the modules whose functions tests rely on
(:func:`guard_modules`: ``builtins``, NumPy, ``genlab.testing``, and PyTorch/TensorFlow when the
source notebook uses them) and snapshots their functions, classes and submodules, the
exception-reporting and input-transforming parts of the IPython shell and kernel
(``showtraceback``, ``custom_exceptions``, input/AST transformers, ``do_execute``,
``Session.send``), ``sys.excepthook`` and the trace/profile hooks.

Around every autograded test cell the grader then calls the guard (again silently, through
``user_expressions`` of an ``execute_request``):

* ``restore`` (before the cell): puts every snapshotted object back (``np.allclose``,
  ``genlab.testing.assert_close``, ``builtins.isinstance``, ``sys.modules['numpy']``, the
  shell's methods, ...) and rebinds the canonical names of the user namespace (``np``,
  ``torch``, ``assert_close``, ...) to the originals. A student's patch is undone, not
  punished: the test then judges the values with the real functions.
* ``check`` (after the cell): verifies that nothing was patched *while* the test ran (a
  background thread); if something was, the cell gets an ``IntegrityError`` and scores 0.

Both return ``ok:<nonce>`` (the nonce is fresh for each grading); anything else (the guard was
deleted, the kernel swallowed the request, an exception) fails closed: the test cell scores 0.
This is defence in depth inside the student's own process: see ``autograder/SECURITY.md`` for
what it does not cover.
"""
from __future__ import annotations

import re

#: Modules always snapshotted (all their callables, classes and submodules).
BASE_MODULES = ("builtins", "math", "numpy", "numpy.testing", "numpy.linalg", "genlab.testing")
#: Framework modules (only when the source notebook imports the framework) and the names
#: snapshotted in each (their namespaces are large and partly lazy).
FRAMEWORK_NAMES = {
    "torch": ("allclose", "isclose", "equal", "eq", "all", "any", "abs", "as_tensor", "tensor",
              "is_tensor", "from_numpy", "isfinite", "testing", "Tensor", "nn"),
    "torch.testing": ("assert_close", "assert_allclose"),
    "tensorflow": ("debugging", "experimental", "math", "convert_to_tensor", "is_tensor"),
}
#: Methods of torch.Tensor a fake-equality attack would patch.
TENSOR_METHODS = ("__eq__", "__ne__", "__bool__", "numpy", "detach", "cpu", "__array__", "allclose",
                  "equal", "item", "tolist", "float", "double", "isclose")
#: Canonical user-namespace names and the module (or module attribute) they must be.
USER_NAMES = {"np": "numpy", "numpy": "numpy", "math": "math", "torch": "torch", "tf": "tensorflow",
              "assert_close": "genlab.testing:assert_close", "as_array": "genlab.testing:as_array",
              "assert_finite_grads": "genlab.testing:assert_finite_grads"}


def guard_modules(source_text: str) -> list[str]:
    """The modules to snapshot for a source notebook (frameworks only if it imports them)."""
    mods = list(BASE_MODULES)
    if re.search(r"^\s*(import|from)\s+torch\b", source_text, re.M):
        mods += ["torch", "torch.testing"]
    if re.search(r"^\s*(import|from)\s+tensorflow\b", source_text, re.M):
        mods += ["tensorflow"]
    return mods


SETUP = r'''
def __genlab_guard_factory(nonce, modules, framework_names, tensor_methods, user_names):
    import builtins, importlib, sys, threading, types

    def keep(v):
        return callable(v) or isinstance(v, (types.ModuleType, type))

    mods = {}
    for name in modules:
        try:
            m = importlib.import_module(name)
        except Exception:
            continue
        names = framework_names.get(name)
        d = m.__dict__
        mods[name] = (m, {k: v for k, v in list(d.items())
                          if (names is None or k in names) and keep(v) and not k.startswith("__genlab")})
    classes = []
    ip = get_ipython()
    shell_names = ("run_cell", "run_cell_async", "run_ast_nodes", "run_code", "showtraceback",
                   "_showtraceback", "showsyntaxerror", "get_exception_only", "transform_cell",
                   "should_run_async", "_run_cell", "run_cell_magic", "ex", "ev", "excepthook",
                   "set_custom_exc", "user_expressions")
    kernel_names = ("do_execute", "execute_request", "send_response", "_publish_status",
                    "_publish_execute_input", "_forward_input")
    kernel = getattr(ip, "kernel", None)
    session = getattr(kernel, "session", None)
    for obj in (ip, ip.InteractiveTB, ip.SyntaxTB, kernel, session, getattr(ip, "display_pub", None)):
        if obj is None:
            continue
        for c in type(obj).__mro__:
            if c is not object and c.__module__.split(".")[0] not in ("builtins",):
                classes.append((c, {k: v for k, v in list(c.__dict__.items()) if callable(v)}))
    if "torch" in mods:
        T = mods["torch"][0].Tensor
        classes.append((T, {k: T.__dict__[k] for k in tensor_methods if k in T.__dict__}))
    instances = [(ip, shell_names), (kernel, kernel_names), (session, ("send", "serialize", "sign"))]
    shell_state = {"InteractiveTB": ip.InteractiveTB, "SyntaxTB": ip.SyntaxTB,
                   "input_transformers_cleanup": list(ip.input_transformers_cleanup),
                   "input_transformers_post": list(ip.input_transformers_post),
                   "ast_transformers": list(ip.ast_transformers)}
    hooks = {"excepthook": sys.excepthook}
    canon = {}
    for uname, target in user_names.items():
        mod, _, attr = target.partition(":")
        if mod in mods:
            canon[uname] = mods[mod][1].get(attr) if attr else mods[mod][0]

    def scan(fix):
        changed = []
        for name, (m, snap) in mods.items():
            if sys.modules.get(name) is not m:
                changed.append("sys.modules[%r]" % name)
                if fix:
                    sys.modules[name] = m
            d = m.__dict__
            for k, v in snap.items():
                if d.get(k, changed) is not v:
                    changed.append("%s.%s" % (name, k))
                    if fix:
                        try:
                            setattr(m, k, v)
                        except Exception:
                            d[k] = v
        for c, snap in classes:
            for k, v in snap.items():
                if c.__dict__.get(k, changed) is not v:
                    changed.append("%s.%s" % (c.__name__, k))
                    if fix:
                        try:
                            setattr(c, k, v)
                        except Exception:
                            pass
        for obj, names in instances:
            if obj is None:
                continue
            for k in names:
                if k in getattr(obj, "__dict__", {}):
                    changed.append("%s instance.%s" % (type(obj).__name__, k))
                    if fix:
                        try:
                            delattr(obj, k)
                        except Exception:
                            pass
        if ip.custom_exceptions:
            changed.append("custom_exceptions")
            if fix:
                ip.custom_exceptions = ()
        for k, v in shell_state.items():
            cur = getattr(ip, k)
            if (cur != v) if isinstance(v, list) else (cur is not v):
                changed.append("shell.%s" % k)
                if fix:
                    setattr(ip, k, list(v) if isinstance(v, list) else v)
        for k, v in hooks.items():
            if getattr(sys, k) is not v:
                changed.append("sys.%s" % k)
                if fix:
                    setattr(sys, k, v)
        if sys.gettrace() is not None or sys.getprofile() is not None:
            changed.append("sys.settrace/setprofile")
            if fix:
                sys.settrace(None)
                sys.setprofile(None)
        if fix:
            threading.settrace(None)
            threading.setprofile(None)
        ns = ip.user_ns
        for k, v in canon.items():
            if k in ns and ns[k] is not v and v is not None:
                changed.append("user namespace %r" % k)
                if fix:
                    ns[k] = v
        return changed

    def guard(mode):
        try:
            changed = scan(mode == "restore")
        except BaseException as e:
            return "failed:%s: %s" % (type(e).__name__, e)
        if mode == "check" and changed:
            return "changed:" + ", ".join(changed[:8])
        return "ok:" + nonce

    return guard
'''


def setup_code(nonce: str, modules: list[str]) -> str:
    """The code run once, before the first cell, that defines the guard in the kernel."""
    return (SETUP + f"\n{guard_name(nonce)} = __genlab_guard_factory({nonce!r}, {list(modules)!r}, "
            f"{FRAMEWORK_NAMES!r}, {TENSOR_METHODS!r}, {USER_NAMES!r})\ndel __genlab_guard_factory\n")


def guard_name(nonce: str) -> str:
    return f"__genlab_guard_{nonce}"


def guard_expression(nonce: str, mode: str) -> str:
    return f"{guard_name(nonce)}({mode!r})"


def verdict_ok(reply: dict | None, nonce: str) -> tuple[bool, str]:
    """Whether an execute_reply carries the guard's ``ok:<nonce>``; else the reason."""
    if not reply:
        return False, "the kernel did not answer the grader's integrity check"
    content = reply.get("content", {})
    ue = content.get("user_expressions", {}).get("v", {})
    text = ue.get("data", {}).get("text/plain", "") if isinstance(ue, dict) else ""
    value = text.strip("'\"")
    if value == f"ok:{nonce}":
        return True, ""
    if value.startswith("changed:"):
        return False, "comparison functions were changed while the test ran (" + value[8:] + ")"
    if ue.get("status") == "error":
        return False, f"the grader's integrity check could not run ({ue.get('ename')}: {ue.get('evalue')})"
    return False, "the grader's integrity check did not confirm the test environment"

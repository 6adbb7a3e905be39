"""The trusted side of grading: test cells run here, in the grader's process, never in the kernel.

A test cell (its visible checks and its hidden tests) is executed by :func:`run_test_cell` with
Python's ``exec`` in a namespace where

* the student's names (the functions their solution cells define) and the framework modules
  (``torch``, ``tensorflow``, ``keras``, ``genlab.torch``, ``genlab.tf``) are :class:`Remote`
  references into the kernel, reached through the agent (:mod:`genlab.grading.agent`) over a
  Unix socket;
* everything else (NumPy, SciPy, ``genlab.testing``, ``genlab.metrics``, the test's own oracles)
  is this process's own, trusted code.

So expected values are computed here and never enter the kernel, the hidden tests' text never
enters the kernel, and every comparison happens here on plain data: :meth:`Remote.fetch` asks
the kernel for an array and accepts only ``.npy`` bytes of a numeric dtype (no pickle, no object
arrays). The kernel's answers are untrusted data; nothing it sends is executed.

Rules for test authors (what keeps expected values out of the kernel): pass the student's code
*inputs* only; compare results with ``assert_close``/``as_array`` or after ``to_numpy``/
``np.asarray`` (which fetch); arithmetic on a student's result (``out * 2``) is done in the
kernel, so never combine a student's result with an expected value except in a comparison.
Comparisons (``==``, ``<``, ...) on a :class:`Remote` fetch it and compare here.
"""
from __future__ import annotations

import ast
import builtins
import importlib
import math
import socket
import threading
import time
import traceback
import types

import numpy as np

from .agent import MAX_TEXT, ProtocolError, array_to_wire, recv, send, wire_to_array

#: Modules whose objects live in the kernel (imports of them in a test cell become references).
KERNEL_MODULES = ("torch", "tensorflow", "keras", "genlab.torch", "genlab.tf")
#: File name under which test cells are compiled (their frames are found by it).
TEST_FILENAME = "<test cell>"
#: Tensor types whose values a test may judge (module prefix, class names).
TENSOR_TYPES = (("torch", ("Tensor", "Parameter")),
                ("tensorflow", None), ("keras", None))


class JudgeError(Exception):
    """The kernel's side of the conversation broke (no answer, a malformed message, too much data)."""


class StudentCodeError(Exception):
    """The student's code raised ``etype`` with ``message`` in the kernel."""

    def __init__(self, etype: str, message: str):
        super().__init__(f"{message} (raised by your code)" if message else "(raised by your code)")
        self.etype = etype


_ERROR_CLASSES: dict[str, type] = {}


def student_error(etype: str, message: str) -> StudentCodeError:
    """A :class:`StudentCodeError` that is also the builtin exception the student's code raised
    (``AttributeError``, ``ValueError``...), so ``getattr(x, "a", default)`` and a test's
    ``except ValueError`` behave as they would in the kernel."""
    cls = _ERROR_CLASSES.get(etype)
    if cls is None:
        cls = StudentCodeError
        base = getattr(builtins, etype, None)
        if isinstance(base, type) and issubclass(base, Exception) and \
                not issubclass(base, (StopIteration, StopAsyncIteration)):
            try:
                cls = type(etype, (StudentCodeError, base), {"__module__": "builtins"})
            except TypeError:  # incompatible layouts (OSError...)
                cls = StudentCodeError
        _ERROR_CLASSES[etype] = cls
    return cls(etype, message)


def _split_type(type_name: str) -> tuple[str, str]:
    mod, _, name = type_name.rpartition(".")
    return mod, name


def is_tensor_type(type_name: str) -> bool:
    mod, name = _split_type(type_name)
    for prefix, names in TENSOR_TYPES:
        if mod.startswith(prefix) and (names is None or name in names):
            return True
    return False


class Session:
    """One conversation with the kernel's agent (one test cell): requests, replies, callbacks."""

    def __init__(self, sock: socket.socket, deadline: float, max_bytes: int = 512 << 20):
        self.sock = sock
        self.deadline = deadline
        self.bytes_left = max_bytes
        self.callbacks: dict[int, object] = {}
        self._callback_error: BaseException | None = None

    # -- transport --------------------------------------------------------------------------
    def _recv(self):
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError("the cell did not finish within its time limit")
        self.sock.settimeout(left)
        try:
            msg = recv(self.sock, max_bytes=min(self.bytes_left, 64 << 20))
        except socket.timeout:
            raise TimeoutError("the cell did not finish within its time limit") from None
        except (ConnectionError, OSError, ValueError, ProtocolError) as exc:
            raise JudgeError(f"the kernel stopped answering the grader ({exc})") from None
        if not isinstance(msg, dict):
            raise JudgeError("the kernel sent a malformed message")
        return msg

    def _send(self, msg) -> None:
        try:
            send(self.sock, msg)
        except (OSError, ProtocolError) as exc:
            raise JudgeError(f"the kernel stopped listening to the grader ({exc})") from None

    def request(self, op: str, *args, **fields):
        msg = {"op": op, **fields}
        if args:
            msg["args"] = [self.encode(a) for a in args]
        self._send(msg)
        while True:
            reply = self._recv()
            if "ok" in reply:
                return self.decode(reply["ok"])
            if "error" in reply:
                err = reply["error"] if isinstance(reply["error"], dict) else {}
                etype, message = str(err.get("type", "Error"))[:100], str(err.get("message", ""))[:MAX_TEXT]
                if etype == "CallbackError" and self._callback_error is not None:
                    exc, self._callback_error = self._callback_error, None
                    raise exc
                raise student_error(etype, message)
            if "cb" in reply:
                self._run_callback(reply)
                continue
            raise JudgeError("the kernel sent a malformed message")

    def _run_callback(self, msg) -> None:
        fn = self.callbacks.get(msg.get("cb"))
        if fn is None:
            raise JudgeError("the kernel called back an unknown function")
        try:
            args = self.decode(msg.get("args", []))
            kwargs = self.decode(msg.get("kwargs", {"$dict": {}}))
            if not isinstance(args, list) or not isinstance(kwargs, dict):
                raise JudgeError("the kernel sent malformed callback arguments")
            result = fn(*args, **kwargs)
        except (JudgeError, TimeoutError):
            raise
        except BaseException as exc:  # noqa: BLE001 - re-raised where the call returns
            self._callback_error = exc
            self._send({"cb_error": type(exc).__name__})
            return
        self._send({"cb_result": self.encode(result)})

    def close(self) -> None:
        try:
            self._send({"op": "done"})
        except JudgeError:
            pass
        try:
            self.sock.close()
        except OSError:
            pass

    # -- values -----------------------------------------------------------------------------
    def encode(self, obj, depth: int = 0):
        if depth > 20:
            raise TypeError("value nested too deeply to send to the kernel")
        if obj is None or type(obj) in (bool, int, float, str):
            return obj
        if isinstance(obj, Remote):
            if obj._session is not self:
                raise TypeError("a reference from another test cell")
            return {"$ref": obj._id}
        if isinstance(obj, np.ndarray):
            return array_to_wire(np.asarray(obj))
        if isinstance(obj, np.generic):
            return {"$np": array_to_wire(np.asarray(obj))["$nd"]}
        if isinstance(obj, tuple):
            return {"$tuple": [self.encode(v, depth + 1) for v in obj]}
        if isinstance(obj, list):
            return [self.encode(v, depth + 1) for v in obj]
        if isinstance(obj, dict):
            if not all(type(k) is str for k in obj):
                raise TypeError("only dicts with str keys can be sent to the kernel")
            return {"$dict": {k: self.encode(v, depth + 1) for k, v in obj.items()}}
        if isinstance(obj, slice):
            return {"$slice": [self.encode(v, depth + 1) for v in (obj.start, obj.stop, obj.step)]}
        if obj is Ellipsis:
            return {"$ellipsis": 1}
        if isinstance(obj, (types.FunctionType, types.BuiltinFunctionType, types.MethodType, np.ufunc)):
            key = len(self.callbacks) + 1
            self.callbacks[key] = obj
            return {"$cb": key}
        raise TypeError(f"cannot send a {type(obj).__name__} to the kernel")

    def decode(self, obj, depth: int = 0):
        if depth > 50:
            raise JudgeError("the kernel sent a value nested too deeply")
        if obj is None or type(obj) in (bool, int, float, str):
            return obj
        if type(obj) is list:
            return [self.decode(v, depth + 1) for v in obj]
        if type(obj) is not dict or len(obj) == 0:
            raise JudgeError("the kernel sent a malformed value")
        try:
            if "$nd" in obj:
                return wire_to_array(obj)
            if "$np" in obj:
                return wire_to_array({"$nd": obj["$np"]})[()]
        except (ProtocolError, ValueError, TypeError) as exc:
            raise JudgeError(f"the kernel sent a malformed array ({exc})") from None
        if "$tuple" in obj and type(obj["$tuple"]) is list:
            return tuple(self.decode(v, depth + 1) for v in obj["$tuple"])
        if "$dict" in obj and type(obj["$dict"]) is dict:
            return {str(k): self.decode(v, depth + 1) for k, v in obj["$dict"].items()}
        if "$ref" in obj and type(obj["$ref"]) is int:
            return Remote(self, obj["$ref"], str(obj.get("type", "?"))[:200])
        raise JudgeError("the kernel sent a malformed value")


class Remote:
    """A reference to an object in the kernel. Attribute access, calls, indexing and arithmetic
    run there; conversions (``np.asarray``, ``float``, ``bool``, comparisons) fetch its value."""

    __slots__ = ("_session", "_id", "_type")

    def __init__(self, session: Session, ref: int, type_name: str):
        object.__setattr__(self, "_session", session)
        object.__setattr__(self, "_id", ref)
        object.__setattr__(self, "_type", type_name)

    @property
    def remote_type(self) -> str:
        """The kernel's name for the object's type, ``module.Class`` (as the kernel reports it)."""
        return self._type

    def fetch_array(self, name: str = "result") -> np.ndarray:
        """:meth:`fetch`, if the kernel says this is a tensor or an array (what tests may judge)."""
        if not (is_tensor_type(self._type) or self._type.startswith("numpy.")):
            raise AssertionError(f"{name} must be a NumPy array or a framework tensor, got {self._type}")
        return self.fetch()

    def fetch(self) -> np.ndarray:
        """The value as a NumPy array of numbers (converted in the kernel, checked here)."""
        arr = self._session.request("to_array", self)
        if not isinstance(arr, np.ndarray):
            raise JudgeError("the kernel did not send an array")
        return arr

    def __getattr__(self, name):
        if name.startswith("__") and name.endswith("__"):
            raise AttributeError(name)  # never ask the kernel for protocol attributes
        return self._session.request("getattr", self, name=name)

    def __setattr__(self, name, value):
        self._session.request("setattr", self, value, name=name)

    def __call__(self, *args, **kwargs):
        return self._session.request("call", self, *args, kwargs=self._session.encode(kwargs))

    def __getitem__(self, key):
        return self._session.request("getitem", self, key)

    def __setitem__(self, key, value):
        self._session.request("setitem", self, key, value)

    def __len__(self):
        n = self._session.request("len", self)
        if type(n) is not int or n < 0:
            raise JudgeError("len() of a kernel object is not a non-negative int")
        return n

    def __iter__(self):
        items = self._session.request("iter", self)
        if not isinstance(items, list):
            raise JudgeError("iterating a kernel object did not give a list")
        return iter(items)

    def __contains__(self, item):
        return bool(self._session.request("contains", self, item))

    def __str__(self):
        s = self._session.request("str", self)
        return s if isinstance(s, str) else "<?>"

    def __repr__(self):
        try:
            s = self._session.request("repr", self)
        except Exception:  # noqa: BLE001 - a repr must not fail (tracebacks call it)
            return f"<kernel {self._type}>"
        return s if isinstance(s, str) else f"<kernel {self._type}>"

    def __format__(self, spec):
        if not spec:
            return str(self)
        arr = self.fetch()
        return format(arr[()] if arr.ndim == 0 else arr, spec)

    def __array__(self, dtype=None, copy=None):
        arr = self.fetch()
        return arr if dtype is None else arr.astype(dtype)

    def __float__(self):
        return float(self.fetch())

    def __int__(self):
        return int(self.fetch())

    def __index__(self):
        arr = self.fetch()
        if arr.dtype.kind not in "iu" or arr.ndim:
            raise TypeError("only integer scalars can be used as an index")
        return int(arr)

    def __bool__(self):
        return bool(self.fetch())

    __hash__ = object.__hash__

    def _compare(self, other, op):
        other = other.fetch() if isinstance(other, Remote) else other
        return op(self.fetch(), other)

    def __eq__(self, other):
        return self._compare(other, lambda a, b: a == b)

    def __ne__(self, other):
        return self._compare(other, lambda a, b: a != b)

    def __lt__(self, other):
        return self._compare(other, lambda a, b: a < b)

    def __le__(self, other):
        return self._compare(other, lambda a, b: a <= b)

    def __gt__(self, other):
        return self._compare(other, lambda a, b: a > b)

    def __ge__(self, other):
        return self._compare(other, lambda a, b: a >= b)

    def __neg__(self):
        return self._session.request("unop", self, name="neg")

    def __pos__(self):
        return self._session.request("unop", self, name="pos")

    def __abs__(self):
        return self._session.request("unop", self, name="abs")


def _binop(name: str, reflected: bool):
    def op(self, other):
        return self._session.request("binop", self, other, name=name, reflected=reflected)
    return op


for _name in ("add", "sub", "mul", "truediv", "floordiv", "mod", "pow", "matmul"):
    setattr(Remote, f"__{_name}__", _binop(_name, False))
    setattr(Remote, f"__r{_name}__", _binop(_name, True))


# -- running a test cell -----------------------------------------------------------------------
class _Package:
    """``genlab`` as seen by ``import genlab.torch``: the kernel's framework helpers, the rest ours."""

    def __init__(self, trusted, remote_children: dict):
        self._trusted, self._remote = trusted, remote_children

    def __getattr__(self, name):
        if name in self._remote:
            return self._remote[name]
        return getattr(self._trusted, name)


def _is_kernel_module(name: str) -> bool:
    return any(name == m or name.startswith(m + ".") for m in KERNEL_MODULES)


def make_import(session: Session):
    real_import = builtins.__import__

    def judge_import(name, globals=None, locals=None, fromlist=(), level=0):
        if level:
            raise ImportError("relative imports are not allowed in test cells")
        if not _is_kernel_module(name):
            return real_import(name, globals, locals, fromlist, level)
        if fromlist:
            return session.request("import", module=name)
        top = name.split(".")[0]
        if top == "genlab":  # import genlab.torch [as x]: IMPORT_FROM then reads .torch
            child = name.split(".")[1]
            return _Package(importlib.import_module("genlab"),
                            {child: session.request("import", module=f"genlab.{child}")})
        return session.request("import", module=top)

    return judge_import


class _Namespace(dict):
    """Globals of a test cell: names the cell does not define come from the kernel, but only the
    student's names (``kernel_names``); anything else is a NameError (never a kernel object the
    test might mistake for a trusted one)."""

    def __init__(self, session: Session, kernel_names: frozenset):
        super().__init__()
        self._session, self._kernel_names = session, kernel_names

    def __missing__(self, name):
        if name in self._kernel_names:
            value = self._session.request("global", name=name)
            self[name] = value
            return value
        raise KeyError(name)


def run_test_cell(source: str, session: Session, kernel_names) -> None:
    """Execute a test cell's code here against the kernel; raises on failure, returns on success."""
    builtins_ = dict(vars(builtins))
    builtins_["__import__"] = make_import(session)
    ns = _Namespace(session, frozenset(kernel_names))
    ns.update({"__builtins__": builtins_, "__name__": "__test_cell__", "np": np, "math": math})
    code = compile(source, TEST_FILENAME, "exec")
    exec(code, ns)  # noqa: S102 - the instructor's test code, trusted


def defined_names(sources) -> set[str]:
    """Top-level names defined by code cells (functions, classes, assignments, imports)."""
    names: set[str] = set()
    for src in sources:
        try:
            tree = ast.parse(_strip_magics(src))
        except SyntaxError:
            continue
        for node in tree.body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                names.add(node.name)
            elif isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                for t in targets:
                    names.update(n.id for n in ast.walk(t) if isinstance(n, ast.Name))
    return names


def _strip_magics(src: str) -> str:
    return "\n".join("" if line.lstrip().startswith(("%", "!")) else line for line in src.splitlines())


def hidden_line_range(source: str, begin: str, end: str) -> list[tuple[int, int]]:
    """1-based inclusive line ranges of the hidden-test regions in ``source``."""
    ranges, start = [], None
    for i, line in enumerate(source.splitlines(), start=1):
        if begin in line and start is None:
            start = i
        elif end in line and start is not None:
            ranges.append((start, i))
            start = None
    if start is not None:
        ranges.append((start, len(source.splitlines())))
    return ranges


def describe_failure(exc: BaseException, source: str, hidden: list[tuple[int, int]]) -> tuple[str, str, list[str]]:
    """``(ename, evalue, traceback lines)`` for a failed test cell, showing where it failed only
    when that line is visible to the student (never a hidden test's source)."""
    if isinstance(exc, StudentCodeError):
        ename = exc.etype
    elif isinstance(exc, JudgeError):
        ename = "GraderError"
    elif isinstance(exc, TimeoutError):
        ename = "CellTimeoutError"
    else:
        ename = type(exc).__name__
    evalue = str(exc)[:MAX_TEXT]
    line = None
    for frame, lineno in traceback.walk_tb(exc.__traceback__):
        if frame.f_code.co_filename == TEST_FILENAME:
            line = lineno  # the innermost line of the test cell's code
    lines = source.splitlines()
    where = []
    if line is not None and not any(a <= line <= b for a, b in hidden) and 0 < line <= len(lines):
        where = [f"test cell, line {line}: {lines[line - 1].strip()}"]
    elif line is not None:
        where = ["in a hidden test"]
    return ename, evalue, [*where, f"{ename}: {evalue}"]


__all__ = ["JudgeError", "agent_bootstrap", "run_in_process", "Remote", "Session", "StudentCodeError", "defined_names", "describe_failure",
           "hidden_line_range", "run_test_cell"]



def agent_bootstrap(path: str) -> str:
    """The code the grader runs in the kernel in place of a test cell: serve the judge."""
    return f'__import__("genlab.grading.agent", fromlist=["serve"]).serve({path!r})'


def run_in_process(source: str, namespace: dict, kernel_names, timeout: float = 600) -> None:
    """Judge a test cell exactly as the grader does, against ``namespace`` in this process (an
    agent in a thread stands in for the kernel): for the course's own tests of its test cells."""
    from .agent import Agent, _Done

    judge_sock, kernel_sock = socket.socketpair()

    def serve():
        try:
            Agent(kernel_sock, namespace).loop()
        except (_Done, ConnectionError, OSError):
            pass
        finally:
            kernel_sock.close()

    thread = threading.Thread(target=serve, name="in-process agent", daemon=True)
    thread.start()
    session = Session(judge_sock, time.monotonic() + timeout)
    try:
        run_test_cell(source, session, kernel_names)
    finally:
        session.close()
        thread.join(timeout=5)

"""The kernel side of trusted judging: serves the grader's requests over a Unix socket.

Under the grader a test cell never runs in the student's kernel. The grader (the trusted side,
:mod:`genlab.grading.judge`) runs the test cell's code in its own process and reaches the
student's functions through this agent: it asks for a global by name, calls it with plain data
(numbers, NumPy arrays) or with objects the agent already holds, and fetches results as plain
data. The agent runs inside the student's process, so the student can change it at will; that is
fine by design: all it can ever send back is data, and the grader judges that data. No hidden
test text and no expected value is ever sent here, only the inputs that the student's code is
called with.

Wire format (both directions): a 4-byte big-endian length, then UTF-8 JSON. Arrays travel as
``.npy`` bytes in base64 (``{"$nd": ...}``), never as pickles. Objects that are not plain data
stay here and travel as references (``{"$ref": id, "type": "module.Class"}``); a callable of the
grader's travels as ``{"$cb": id}`` and calling it asks the grader to run it (a callback).
"""
from __future__ import annotations

import base64
import importlib
import io
import json
import operator
import socket
import struct

import numpy as np

HEADER = struct.Struct(">I")
#: Largest message either side accepts (the grader enforces its own cap too).
MAX_MESSAGE = 64 << 20
MAX_ITEMS = 100_000  # iteration results, list lengths
MAX_TEXT = 20_000  # str()/repr() results

BINOPS = {name: getattr(operator, name) for name in
          ("add", "sub", "mul", "truediv", "floordiv", "mod", "pow", "matmul")}
UNOPS = {"neg": operator.neg, "pos": operator.pos, "abs": operator.abs}


class ProtocolError(Exception):
    """A malformed or oversized message."""


def send(sock: socket.socket, obj) -> None:
    data = json.dumps(obj, allow_nan=True).encode("utf-8")
    if len(data) > MAX_MESSAGE:
        raise ProtocolError(f"message of {len(data)} bytes is larger than {MAX_MESSAGE}")
    sock.sendall(HEADER.pack(len(data)) + data)


def _recv_exact(sock: socket.socket, n: int) -> bytes:
    chunks, left = [], n
    while left:
        chunk = sock.recv(min(left, 1 << 20))
        if not chunk:
            raise ConnectionError("connection closed")
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def recv(sock: socket.socket, max_bytes: int = MAX_MESSAGE):
    (n,) = HEADER.unpack(_recv_exact(sock, HEADER.size))
    if n > max_bytes:
        raise ProtocolError(f"message of {n} bytes is larger than {max_bytes}")
    return json.loads(_recv_exact(sock, n).decode("utf-8"))


def array_to_wire(arr: np.ndarray) -> dict:
    buf = io.BytesIO()
    np.save(buf, arr, allow_pickle=False)
    return {"$nd": base64.b64encode(buf.getvalue()).decode("ascii")}


def wire_to_array(obj: dict, max_elements: int = 1 << 26) -> np.ndarray:
    """An array from ``{"$nd": ...}``: numeric dtypes only, never a pickle."""
    arr = np.load(io.BytesIO(base64.b64decode(obj["$nd"], validate=True)), allow_pickle=False)
    if type(arr) is not np.ndarray or arr.dtype.kind not in "biufc" or arr.dtype.hasobject:
        raise ProtocolError("an array must hold numbers")
    if arr.size > max_elements:
        raise ProtocolError(f"an array of {arr.size} elements is too large")
    return arr


def _type_name(obj) -> str:
    t = type(obj)
    return f"{t.__module__}.{t.__qualname__}"


def _plain_array(obj) -> bool:
    return type(obj) is np.ndarray and obj.dtype.kind in "biufc" and not obj.dtype.hasobject


class Agent:
    """Serves one session (one test cell) on a connected socket; see the module docstring."""

    def __init__(self, sock: socket.socket, namespace: dict):
        self.sock = sock
        self.ns = namespace
        self.objects: dict[int, object] = {}

    # -- values -----------------------------------------------------------------------------
    def ref(self, obj) -> dict:
        key = id(obj)
        self.objects[key] = obj
        return {"$ref": key, "type": _type_name(obj)}

    def encode(self, obj, depth: int = 0):
        if depth > 20:
            return self.ref(obj)
        if obj is None or type(obj) in (bool, int, str):
            return obj
        if type(obj) is float:
            return obj
        if _plain_array(obj):
            return array_to_wire(obj)
        if isinstance(obj, np.generic) and type(obj).__module__ == "numpy" and obj.dtype.kind in "biufc":
            return {"$np": array_to_wire(np.asarray(obj))["$nd"]}
        if type(obj) in (tuple, list) and len(obj) <= MAX_ITEMS:
            items = [self.encode(v, depth + 1) for v in obj]
            return {"$tuple": items} if type(obj) is tuple else items
        if type(obj) is dict and len(obj) <= MAX_ITEMS and all(type(k) is str for k in obj):
            return {"$dict": {k: self.encode(v, depth + 1) for k, v in obj.items()}}
        return self.ref(obj)

    def decode(self, obj):
        if isinstance(obj, list):
            return [self.decode(v) for v in obj]
        if not isinstance(obj, dict):
            return obj
        if "$nd" in obj:
            return wire_to_array(obj)
        if "$np" in obj:
            return wire_to_array({"$nd": obj["$np"]})[()]
        if "$tuple" in obj:
            return tuple(self.decode(v) for v in obj["$tuple"])
        if "$dict" in obj:
            return {k: self.decode(v) for k, v in obj["$dict"].items()}
        if "$ref" in obj:
            return self.objects[obj["$ref"]]
        if "$cb" in obj:
            return self.callback(obj["$cb"])
        if "$slice" in obj:
            return slice(*obj["$slice"])
        if "$ellipsis" in obj:
            return Ellipsis
        raise ProtocolError(f"unknown value {sorted(obj)!r}")

    def callback(self, cb_id: int):
        def call(*args, **kwargs):
            send(self.sock, {"cb": cb_id, "args": self.encode(list(args)),
                             "kwargs": {"$dict": {k: self.encode(v) for k, v in kwargs.items()}}})
            return self.loop()
        return call

    # -- requests ---------------------------------------------------------------------------
    def handle(self, req: dict):
        op = req["op"]
        if op == "global":
            try:
                return self.ns[req["name"]]
            except KeyError:
                raise NameError(f"name {req['name']!r} is not defined") from None
        if op == "import":
            return importlib.import_module(req["module"])
        args = [self.decode(a) for a in req.get("args", [])]
        if op == "getattr":
            return getattr(args[0], req["name"])
        if op == "setattr":
            setattr(args[0], req["name"], args[1])
            return None
        if op == "call":
            kwargs = self.decode(req.get("kwargs", {"$dict": {}}))
            return args[0](*args[1:], **kwargs)
        if op == "getitem":
            return args[0][args[1]]
        if op == "setitem":
            args[0][args[1]] = args[2]
            return None
        if op == "binop":
            fn = BINOPS[req["name"]]
            return fn(args[1], args[0]) if req.get("reflected") else fn(args[0], args[1])
        if op == "unop":
            return UNOPS[req["name"]](args[0])
        if op in ("str", "repr"):
            return (str if op == "str" else repr)(args[0])[:MAX_TEXT]
        if op == "len":
            return len(args[0])
        if op == "iter":
            out = []
            for item in args[0]:
                out.append(item)
                if len(out) > MAX_ITEMS:
                    raise ValueError("too many items")
            return out
        if op == "contains":
            return args[1] in args[0]
        if op == "to_array":
            return to_array(args[0])
        raise ProtocolError(f"unknown operation {op!r}")

    def receive(self) -> dict:
        return recv(self.sock)

    def loop(self):
        """Serve requests until the grader answers a callback (return its value) or says done."""
        while True:
            msg = self.receive()
            if "cb_result" in msg:
                return self.decode(msg["cb_result"])
            if "cb_error" in msg:
                raise CallbackError(msg["cb_error"])
            if msg.get("op") == "done":
                raise _Done
            try:
                result = self.handle(msg)
                reply = {"ok": array_to_wire(result) if msg["op"] == "to_array" else self.encode(result)}
            except (Exception, SystemExit) as exc:  # the student's code failed: report it as data
                reply = {"error": {"type": type(exc).__name__, "message": str(exc)[:MAX_TEXT]}}
            send(self.sock, reply)


class CallbackError(Exception):
    """The grader's callback failed; unwinds the student's code back to the grader."""


class _Done(BaseException):
    pass


def to_array(obj) -> np.ndarray:
    """A framework tensor, NumPy array or number as a plain NumPy array (the grader checks it)."""
    if hasattr(obj, "detach") and hasattr(obj, "cpu"):  # torch
        obj = obj.detach().cpu()
        if str(getattr(obj, "dtype", "")) == "torch.bfloat16":
            obj = obj.float()
        return np.asarray(obj.numpy())
    if hasattr(obj, "numpy") and callable(obj.numpy):  # TensorFlow / Keras
        return np.asarray(obj.numpy())
    return np.asarray(obj)


def serve(path: str, namespace: dict | None = None) -> None:
    """Connect to the grader's socket at ``path`` and serve its requests until it is done."""
    if namespace is None:
        namespace = get_ipython().user_ns  # noqa: F821 (inside IPython)
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.connect(path)
        agent = Agent(sock, namespace)
        try:
            agent.loop()
        except (_Done, ConnectionError):
            pass
        finally:
            agent.objects.clear()

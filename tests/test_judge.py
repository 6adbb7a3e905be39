"""The trusted judge (genlab/grading/judge.py) and the kernel's agent (genlab/grading/agent.py),
in one process over a socket pair: test cells run on the judge's side, the student's functions on
the agent's, and nothing the agent sends is executed or trusted."""
from __future__ import annotations

import base64
import io
import json
import pickle
import socket
import struct
import threading
import time

import numpy as np
import pytest

from genlab.grading import agent, judge


class Kernel:
    """An agent serving ``namespace`` in a thread; records every message the judge sent it."""

    def __init__(self, namespace: dict, responder=None):
        self.judge_sock, self.kernel_sock = socket.socketpair()
        self.received: list[dict] = []
        self.ns = namespace
        self.responder = responder
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        if self.responder is not None:  # a hostile agent: answers whatever it likes
            try:
                while True:
                    msg = agent.recv(self.kernel_sock)
                    self.received.append(msg)
                    self.responder(self.kernel_sock, msg)
            except (ConnectionError, OSError):
                return
        received = self.received

        class Recording(agent.Agent):
            def receive(self):
                msg = super().receive()
                received.append(msg)
                return msg

        try:
            Recording(self.kernel_sock, self.ns).loop()
        except (agent._Done, ConnectionError, OSError):
            pass

    def run(self, source: str, names=None, timeout: float = 30):
        session = judge.Session(self.judge_sock, time.monotonic() + timeout)
        try:
            judge.run_test_cell(source, session, set(names if names is not None else self.ns))
        finally:
            session.close()


def _torch_ns():
    torch = pytest.importorskip("torch")

    def scale(x, k=2.0):
        return x * k

    def wrong_scale(x, k=2.0):
        return x * k + 1e-3

    return {"scale": scale, "wrong_scale": wrong_scale, "torch": torch}


TEST = '''
import numpy as np
from genlab.testing import assert_close, assert_finite_grads
from genlab.torch import grad_of, to_tensor as T
x = np.array([[1.0, -2.0], [0.5, 3.0]])
assert_close(scale(T(x)), 2 * x, "scale")
### BEGIN HIDDEN TESTS
rng = np.random.default_rng(0)
y = rng.normal(size=(3, 4))
assert_close(scale(T(y), k=-1.5), -1.5 * y, "scale by -1.5")
_, (g,) = grad_of(lambda t: scale(t, 3.0), y)
assert_finite_grads([g], ["x"])
assert_close(g, np.full_like(y, 3.0), "d scale / dx")
### END HIDDEN TESTS
'''


def test_a_correct_answer_passes_and_expected_values_never_reach_the_kernel():
    k = Kernel(_torch_ns())
    k.run(TEST)
    sent = json.dumps(k.received)
    # inputs reach the kernel; the expected values (2x, -1.5y, the gradient 3) never do
    x = np.array([[1.0, -2.0], [0.5, 3.0]])
    y = np.random.default_rng(0).normal(size=(3, 4))
    for expected in (2 * x, -1.5 * y, np.full_like(y, 3.0)):
        assert agent.array_to_wire(expected)["$nd"] not in sent
        assert agent.array_to_wire(expected.astype(np.float32))["$nd"] not in sent
    assert "assert_close" not in sent and "HIDDEN" not in sent and "rng" not in sent


def test_a_wrong_answer_fails_with_the_judges_message():
    k = Kernel(_torch_ns())
    with pytest.raises(AssertionError, match="scale"):
        k.run(TEST.replace("scale(", "wrong_scale("))


def test_errors_in_the_students_code_are_reported_by_type_and_message():
    def broken(x):
        raise ValueError("shapes do not match")

    k = Kernel({**_torch_ns(), "scale": broken})
    with pytest.raises(judge.StudentCodeError, match="shapes do not match") as info:
        k.run(TEST)
    assert info.value.etype == "ValueError"


def test_only_the_students_names_come_from_the_kernel():
    k = Kernel({**_torch_ns(), "np": "a fake numpy", "assert_close": lambda *a, **kw: None})
    # np is the judge's own; a name that is not one of the student's is a NameError, even if
    # the kernel has it (a test must never use a kernel object as a reference)
    k.run("assert np.__name__ == 'numpy'")
    with pytest.raises(NameError):
        k.run("assert_close(1, 1)", names={"scale"})


def test_a_hostile_agent_can_only_send_data():
    class Evil:  # would run code if the judge unpickled it
        def __reduce__(self):
            return (print, ("PWNED",))

    def respond(sock, msg):
        if msg.get("op") == "done":
            return
        if msg.get("op") == "global":
            agent.send(sock, {"ok": {"$ref": 1, "type": "torch.Tensor"}})
        elif msg.get("op") == "call":
            agent.send(sock, {"ok": {"$ref": 2, "type": "torch.Tensor"}})
        elif msg.get("op") == "to_array":  # an object array, then a pickle
            buf = io.BytesIO()
            np.save(buf, np.array([Evil()], dtype=object), allow_pickle=True)
            agent.send(sock, {"ok": {"$nd": base64.b64encode(buf.getvalue()).decode()}})
        else:
            agent.send(sock, {"ok": base64.b64encode(pickle.dumps(Evil())).decode()})

    k = Kernel({}, responder=respond)
    with pytest.raises(judge.JudgeError, match="malformed array"):
        k.run("from genlab.testing import assert_close\nassert_close(scale(1.0), 2.0)", names={"scale"})


def test_the_judge_never_asks_the_kernel_for_protocol_attributes():
    # numpy reads __array_interface__ from objects: from the kernel that would be a pointer
    # into the judge's memory. Remote refuses every dunder attribute locally.
    def respond(sock, msg):
        if msg.get("op") == "done":
            return
        if msg.get("op") == "getattr":
            agent.send(sock, {"ok": {"$dict": {"data": {"$tuple": [0, False]}, "shape": {"$tuple": [10 ** 6]},
                                               "typestr": "<f8", "version": 3}}})
        elif msg.get("op") == "to_array":
            agent.send(sock, {"ok": agent.array_to_wire(np.array([2.0]))})
        else:
            agent.send(sock, {"ok": {"$ref": 7, "type": "torch.Tensor"}})

    k = Kernel({}, responder=respond)
    k.run("import numpy as np\nv = np.asarray(scale)\nassert v.shape == (1,) and v[0] == 2.0", names={"scale"})
    assert all(m.get("name", "").startswith("__") is False for m in k.received)


def test_oversized_messages_are_refused_before_they_are_read():
    def respond(sock, msg):
        if msg.get("op") != "done":
            sock.sendall(struct.pack(">I", 2 ** 31))  # announces 2 GiB
    k = Kernel({}, responder=respond)
    with pytest.raises(judge.JudgeError, match="larger than"):
        k.run("scale", names={"scale"})


def test_a_silent_kernel_runs_into_the_deadline():
    k = Kernel({}, responder=lambda sock, msg: None)
    t0 = time.monotonic()
    with pytest.raises(TimeoutError):
        k.run("scale", names={"scale"}, timeout=1.0)
    assert time.monotonic() - t0 < 5


def test_comparisons_fetch_and_happen_on_the_judges_side():
    k = Kernel(_torch_ns())
    k.run("from genlab.torch import to_tensor as T\nout = scale(T([1.0, 2.0]))\n"
          "assert (out == [2.0, 4.0]).all() and float(out[1]) == 4.0 and len(out) == 2\n"
          "assert 'float32' in str(out.dtype)")
    sent = json.dumps(k.received)
    assert agent.array_to_wire(np.array([2.0, 4.0]))["$nd"] not in sent


def test_failure_descriptions_never_quote_a_hidden_line():
    source = "x = 1\n### BEGIN HIDDEN TESTS\nassert x == 2, 'x should be 2'  # SECRET\n### END HIDDEN TESTS\n"
    hidden = judge.hidden_line_range(source, "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS")
    try:
        exec(compile(source, judge.TEST_FILENAME, "exec"), {})
    except AssertionError as exc:
        ename, evalue, tb = judge.describe_failure(exc, source, hidden)
    assert (ename, evalue) == ("AssertionError", "x should be 2")
    assert "SECRET" not in "".join(tb) and "in a hidden test" in tb[0]
    visible = "assert 1 == 2, 'visible'\n"
    try:
        exec(compile(visible, judge.TEST_FILENAME, "exec"), {})
    except AssertionError as exc:
        assert "line 1: assert 1 == 2" in judge.describe_failure(exc, visible, [])[2][0]


def test_defined_names_are_the_solution_cells_top_level_names():
    names = judge.defined_names(["def f(x):\n    y = 1\n    return y\n", "class C:\n    pass\nz, (w, v) = 1, (2, 3)\n",
                                 "%matplotlib inline\nq = 2", "not python ("])
    assert names == {"f", "C", "z", "w", "v", "q"}


def test_the_students_exceptions_keep_their_builtin_type():
    def picky(x):
        raise ValueError("x must be positive")

    k = Kernel({**_torch_ns(), "picky": picky})
    k.run("try:\n    picky(-1)\nexcept ValueError as e:\n    assert 'positive' in str(e)\nelse:\n    raise AssertionError('no error')\n"
          "import genlab.torch as fw\nassert getattr(fw, 'no_such_name', 7) == 7 and not hasattr(fw, 'tf')")


def test_assert_tensor_accepts_framework_tensors_and_rejects_arrays_lists_and_numbers():
    torch = pytest.importorskip("torch")
    from genlab.testing import assert_tensor

    def as_array(x):
        return x.numpy()

    def as_float(x):
        return float(x.sum())

    ns = {**_torch_ns(), "as_array": as_array, "as_float": as_float}
    Kernel(ns).run("import numpy as np\nfrom genlab.testing import assert_tensor\nfrom genlab.torch import to_tensor as T\n"
                   "assert_tensor(scale(T(np.ones(3))), 'scale')", names={"scale"})
    for name, kind in (("as_array", "numpy.ndarray"), ("as_float", "builtins.float")):
        with pytest.raises(AssertionError, match=f"must be a framework tensor, got {kind}"):
            Kernel(ns).run(f"import numpy as np\nfrom genlab.testing import assert_tensor\nfrom genlab.torch import to_tensor as T\n"
                  f"assert_tensor({name}(T(np.ones(3))), '{name}')", names={name})
    assert_tensor(torch.ones(2))  # in a notebook (no judge): the local types
    for bad in (np.ones(2), [1.0], 1.0):
        with pytest.raises(AssertionError, match="framework tensor"):
            assert_tensor(bad)

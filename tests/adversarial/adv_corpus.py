"""The adversarial corpus: submissions of the fixture chapter (tests/fixtures/grading/course,
01_fixture/fixture.ipynb: test_add 2 points, test_mean 3 points) that try to fool the grader.

Each :class:`Case` names the guarantee it probes (autograder/SECURITY.md) and the exact result it
must get. Attacks are written so that *if the attack worked* the score would differ from the
expected one: e.g. ``add`` returns the right answer only when it managed to read the solutions.
``{pwned}`` in a source is a host path prefix that must never be created, ``{course}`` the course
root, ``{solution}`` the instructor's source notebook, ``{port}`` a TCP port on which the test
listens on the host's loopback, ``{marker}`` a unique ``sleep`` duration (to find leftovers).
"""
from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Callable

ADD_OK = "def add(a, b):\n    return a + b\n"
MEAN_OK = "def mean(xs):\n    return sum(xs) / len(xs)\n"
ADD_WRONG = "def add(a, b):\n    return a - b\n"
MEAN_WRONG = "def mean(xs):\n    return max(xs)\n"


@dataclass
class Case:
    name: str
    probes: str                      # the guarantee (SECURITY.md) this case checks
    score: float                     # expected total (0 when status is not "ok")
    status: str = "ok"               # ok | kernel_died | bad_submission
    add: str = ADD_OK
    mean: str = MEAN_OK
    edit: Callable[[dict], None] | None = None  # changes the notebook JSON
    raw: str | None = None           # the file's text instead of a notebook
    errors: dict = field(default_factory=dict)  # grade_id -> expected error prefix
    reason: str = ""                 # fragment of the failure reason (status != ok)
    timeout: int = 5
    notebook_timeout: int = 60
    max_seconds: float | None = None  # the grading must finish within this
    feedback: bool = False
    max_feedback_bytes: int | None = None
    secret_free: bool = False        # the feedback must not contain any hidden test line
    orphans: bool = False            # no process started by the kernel may outlive the grading
    slow: bool = False
    # (status, score) where no cgroup can be made (prlimit only), or "skip" to skip the case there
    without_cgroup: tuple | str | None = None


def _cells(nb, grade_id):
    return [c for c in nb["cells"] if c.get("metadata", {}).get("nbgrader", {}).get("grade_id") == grade_id]


def _edit_meta(grade_id, **md):
    def f(nb):
        for c in _cells(nb, grade_id):
            c["metadata"]["nbgrader"].update(md)
    return f


def _rename_grade_id(nb):
    _cells(nb, "test_add")[0]["metadata"]["nbgrader"]["grade_id"] = "test_add_renamed"


def _delete_tests(nb):
    nb["cells"] = [c for c in nb["cells"] if c.get("id") not in ("test-add", "test-mean")]


def _duplicate_test(nb):
    cell = copy.deepcopy(_cells(nb, "test_add")[0])
    cell["id"] = "test-add-copy"
    nb["cells"].append(cell)


def _tests_last(nb):
    tests = [c for c in nb["cells"] if c.get("id") in ("test-mean", "test-add")]
    nb["cells"] = [c for c in nb["cells"] if c not in tests] + tests


def _test_to_markdown(nb):
    c = _cells(nb, "test_add")[0]
    c["cell_type"] = "markdown"
    c.pop("outputs", None)
    c.pop("execution_count", None)


def _unlock_and_empty_test(nb):
    c = _cells(nb, "test_add")[0]
    c["metadata"]["nbgrader"]["locked"] = False
    c["source"] = "pass  # my own test"


def _test_becomes_solution(nb):
    c = _cells(nb, "test_add")[0]
    c["metadata"]["nbgrader"].update(grade=False, solution=True, locked=False)
    c["source"] = "pass"


def _drop_cell_ids_and_add_junk_metadata(nb):
    nb["metadata"]["nbgrader"] = {"total_points": 1000}
    for c in nb["cells"]:
        c["metadata"]["genlab"] = {"score": 5}


SPY = (
    "import glob, os\n"
    "print('\\n'.join(str(x) for x in In))\n"
    "print('\\n'.join(str(x) for x in get_ipython().history_manager.input_hist_raw))\n"
    "for cmd in get_ipython().history_manager.get_range(raw=True, output=False):\n    print(cmd)\n"
    "for p in glob.glob(os.path.expanduser('~/.ipython/**/*.sqlite'), recursive=True):\n"
    "    print(open(p, 'rb').read().decode('latin-1'))\n"
    "import gc, types\n"
    "for o in gc.get_objects():\n    if isinstance(o, str) and 'HIDDEN' in o:\n        print(o)\n")


def _append_spy_cell(nb):
    nb["cells"].append({"cell_type": "code", "id": "spy", "metadata": {}, "outputs": [],
                        "execution_count": None, "source": SPY})


# Captures everything that is compiled or executed in the kernel and every string it can reach,
# then prints it encoded (base64, hex, reversed): the hidden tests must never have been there.
ENCODED_SPY_SETUP = (
    "import sys\nCAPTURED = []\n"
    "sys.addaudithook(lambda event, args: CAPTURED.append(repr(args)[:2000]) if event in ('compile', 'exec') else None)\n")
ENCODED_SPY = (
    "import base64, gc\n"
    "texts = CAPTURED + [o for o in gc.get_objects() if isinstance(o, str) and len(o) < 5000]\n"
    "blob = '\\n'.join(texts).encode('utf-8', 'replace')\n"
    "print(base64.b64encode(blob).decode())\nprint(blob.hex())\nprint(blob.decode('utf-8', 'replace')[::-1])\n")


def _append_encoded_spy(nb):
    nb["cells"].insert(0, {"cell_type": "code", "id": "spy-setup", "metadata": {}, "outputs": [],
                           "execution_count": None, "source": ENCODED_SPY_SETUP})
    nb["cells"].append({"cell_type": "code", "id": "spy", "metadata": {}, "outputs": [],
                        "execution_count": None, "source": ENCODED_SPY})


# A look-alike tensor that searches the kernel for the value it is compared with.
LOOKALIKE = '''
import gc, sys

class Tensor:
    __module__ = "torch"

    def __init__(self, wrong):
        self.wrong = wrong

    def detach(self):
        return self

    def cpu(self):
        return self

    def numpy(self):
        import numpy as np
        f = sys._getframe()
        while f is not None:  # the frames of whoever compares us
            for name in ("expected", "want"):
                if name in f.f_locals:
                    return np.asarray(f.f_locals[name], dtype=float)
            f = f.f_back
        return np.asarray(self.wrong, dtype=float)

def add(a, b):
    return Tensor(a - b)
'''

THREAD_REPATCH = '''
import threading, time
import numpy as np
import genlab.testing as T

def _patch():
    while True:
        T.assert_close = lambda *a, **k: None
        T.as_array = lambda v, name="x": np.asarray(3.0)
        np.all = lambda *a, **k: True
        time.sleep(0.001)

threading.Thread(target=_patch, daemon=True).start()
'''

CASES: list[Case] = [
    # --- correct answers keep full marks ---------------------------------------------------
    Case("correct", "a correct answer gets full marks in the sandbox", 5),
    Case("float32", "float32 instead of float64 still gets full marks", 5,
         add="import numpy as np\n\ndef add(a, b):\n    return np.float32(a) + np.float32(b)\n",
         mean="import numpy as np\n\ndef mean(xs):\n    return np.asarray(xs, dtype=np.float32).mean()\n"),
    Case("other_algorithm", "a different but valid algorithm gets full marks", 5,
         add="import operator\n\ndef add(a, b):\n    return operator.add(b, a)\n",
         mean="import statistics\n\ndef mean(xs):\n    return statistics.fmean(xs)\n"),
    Case("warnings", "a correct answer that writes warnings to stderr keeps its points", 5,
         add="import sys, warnings\n\ndef add(a, b):\n    warnings.warn('careful')\n    print('note', file=sys.stderr)\n"
             "    return a + b\n"),
    Case("numpy_array_result", "NumPy arrays and scalars are judged by value", 5,
         add="import numpy as np\n\ndef add(a, b):\n    return np.array(a + b)\n",
         mean="import numpy as np\n\ndef mean(xs):\n    return np.mean(np.array(xs))\n"),
    # --- equality faking and monkeypatching --------------------------------------------------
    Case("eq_always_true", "tests judge values: an object whose __eq__ is always True fails", 3,
         add="class Yes:\n    def __eq__(self, other):\n        return True\n    __hash__ = object.__hash__\n\n"
             "def add(a, b):\n    return Yes()\n", errors={"test_add": "AssertionError"}),
    Case("float_subclass_eq", "tests judge values: a float subclass faking == is judged by its value", 3,
         add="class F(float):\n    def __eq__(self, other):\n        return True\n    __hash__ = float.__hash__\n\n"
             "def add(a, b):\n    return F(0)\n"),
    Case("ndarray_subclass", "tests judge values: an ndarray subclass is not a plain array", 3,
         add="import numpy as np\n\nclass A(np.ndarray):\n    def __eq__(self, o):\n        return np.True_\n\n"
             "def add(a, b):\n    return np.zeros(()).view(A)\n"),
    Case("patch_numpy", "np.all/np.abs/np.allclose patched in the kernel: the tests compare in the grader's process", 0,
         add="import numpy as np\nnp.all = lambda *a, **k: True\nnp.abs = lambda x: 0 * x\nnp.allclose = lambda *a, **k: True\n"
             "np.isfinite = lambda x: True\n\n" + ADD_WRONG, mean=MEAN_WRONG),
    Case("patch_assert_close", "genlab.testing.assert_close/as_array patched in the kernel: the grader's own run", 0,
         add="import numpy as np\nimport genlab.testing as T\nT.assert_close = lambda *a, **k: None\n"
             "T.as_array = lambda v, name='x': np.asarray(3.0)\nassert_close = T.assert_close\n\n" + ADD_WRONG,
         mean=MEAN_WRONG),
    Case("patch_sys_modules", "a fake genlab.testing in the kernel's sys.modules: the grader imports its own", 0,
         add="import sys, types\nfake = types.ModuleType('genlab.testing')\nfake.assert_close = lambda *a, **k: None\n"
             "fake.as_array = lambda v, name='x': 3\nsys.modules['genlab.testing'] = fake\nimport genlab\n"
             "genlab.testing = fake\n\n" + ADD_WRONG, mean=MEAN_WRONG),
    Case("patch_builtins", "patched builtins (abs, all, isinstance, float) in the kernel: the grader's are untouched", 0,
         add="import builtins\nbuiltins.abs = lambda x: 0\nbuiltins.all = lambda x: True\n"
             "builtins.isinstance = lambda *a: True\nbuiltins.float = lambda x=0: 3.0\n\n" + ADD_WRONG,
         mean=MEAN_WRONG),
    Case("custom_exc", "IPython custom exception handlers cannot swallow failing tests (they never run in the kernel)", 0,
         add="get_ipython().set_custom_exc((BaseException,), lambda *a, **k: None)\n\n" + ADD_WRONG,
         mean=MEAN_WRONG),
    Case("input_transformer", "input transformers cannot rewrite the test cells (they never run in the kernel)", 0,
         add="get_ipython().input_transformers_cleanup.append(lambda lines: ['pass\\n'])\n\n" + ADD_WRONG,
         mean=MEAN_WRONG),
    Case("ast_transformer", "AST transformers cannot remove asserts from tests (they never run in the kernel)", 0,
         add="import ast\n\nclass NoAssert(ast.NodeTransformer):\n    def visit_Assert(self, node):\n"
             "        return ast.Pass()\n    def visit_Call(self, node):\n        return ast.Constant(3)\n\n"
             "get_ipython().ast_transformers.append(NoAssert())\n\n" + ADD_WRONG, mean=MEAN_WRONG),
    Case("showtraceback", "hiding tracebacks does not hide a failing test", 0,
         add="ip = get_ipython()\nip.showtraceback = lambda *a, **k: None\nip._showtraceback = lambda *a, **k: None\n"
             "type(ip).showtraceback = lambda *a, **k: None\n\n" + ADD_WRONG, mean=MEAN_WRONG),
    Case("thread_repatch", "a background thread that re-patches during the tests does not help", 0,
         add=THREAD_REPATCH + "\n" + ADD_WRONG, mean=MEAN_WRONG),
    Case("thread_session_send", "a background thread patching the kernel's messaging after a cell ends "
         "does not turn a failure into a pass", 0,
         add="import threading, time\n\ndef _later():\n    time.sleep(0.5)\n    s = get_ipython().kernel.session\n"
             "    orig = s.send\n    def send(stream, msg_or_type, content=None, *a, **k):\n"
             "        if msg_or_type == 'error':\n            return None\n        return orig(stream, msg_or_type, content, *a, **k)\n"
             "    s.send = send\n\nthreading.Thread(target=_later, daemon=True).start()\n\n" + ADD_WRONG,
         mean=MEAN_WRONG),
    # --- judging happens outside the student's process (genlab/grading/judge.py) -------------
    Case("displayhook_text", "nbgrader's execute_result rule: a text result then an error is not credit", 3,
         add="def add(a, b):\n    get_ipython().displayhook('all checks passed')\n    raise RuntimeError('no')\n",
         errors={"test_add": "RuntimeError"}),
    Case("displayhook_number", "a numeric execute_result cannot crash or steer the scoring", 3,
         add="def add(a, b):\n    get_ipython().displayhook(1000.0)\n    return a - b\n",
         errors={"test_add": "AssertionError"}),
    Case("code_object_swap", "swapping assert_close.__code__ in the kernel changes nothing", 0,
         add="import genlab.testing as T\nT.assert_close.__code__ = (lambda *a, **k: None).__code__\n"
             "T.as_array.__code__ = (lambda v, name='x': __import__('numpy').asarray(3.0)).__code__\n\n" + ADD_WRONG,
         mean=MEAN_WRONG),
    Case("audit_hook_patch", "an audit hook that patches numpy whenever code is compiled changes nothing", 0,
         add="import sys\nimport numpy as np\n\ndef _hook(event, args):\n    if event == 'compile':\n"
             "        np.all = lambda *a, **k: True\n        np.abs = lambda x: 0 * np.asarray(x)\n\n"
             "sys.addaudithook(_hook)\n\n" + ADD_WRONG, mean=MEAN_WRONG),
    Case("run_cell_events", "IPython pre/post_run_cell events that patch around cells change nothing", 0,
         add="import numpy as np\nimport genlab.testing as T\n\ndef _pre(info=None):\n"
             "    T.assert_close = lambda *a, **k: None\n    np.all = lambda *a, **k: True\n\n"
             "get_ipython().events.register('pre_run_cell', _pre)\n\n" + ADD_WRONG, mean=MEAN_WRONG),
    Case("transform_cell", "replacing the input transformer (every cell becomes `pass`) scores nothing", 0,
         add="def add(a, b):\n    return a + b\n\ndef mean(xs):\n    return sum(xs) / len(xs)\n\n"
             "get_ipython().input_transformer_manager.transform_cell = lambda cell: 'pass\\n'\n",
         mean="x = 1\n", errors={"test_add": "GraderError"}, max_seconds=60),
    Case("lookalike_tensor", "a look-alike tensor that reads the expected value from its caller gets nothing", 3,
         add=LOOKALIKE, errors={"test_add": "AssertionError"}),
    Case("patch_library_oracle", "patching the library that computes an expected value (np.mean) changes "
         "nothing: the grader computes it", 2,
         mean="import numpy as np\nnp.mean = lambda xs, *a, **k: max(xs)\n\n" + MEAN_WRONG,
         errors={"test_mean": "AssertionError"}),
    Case("encoded_exfiltration", "hidden tests never enter the kernel: nothing to capture, print or encode", 5,
         edit=_append_encoded_spy, feedback=True, secret_free=True),
    # --- reading what the student must not see ------------------------------------------------
    Case("read_solutions", "no view of solutions/: the instructor's source notebook cannot be read", 3,
         add="import os\nSTOLEN = os.path.exists({solution!r}) or os.path.exists({course!r})\n\n"
             "def add(a, b):\n    return a + b if STOLEN else a - b\n"),
    Case("find_hidden_tests", "no hidden tests anywhere on the sandbox's disk (also not the autograded "
         "notebook in the working directory, nor a gradebook)", 3,
         add="import os\nFOUND = []\nfor root, dirs, files in os.walk('/'):\n"
             "    if root.startswith(('/proc', '/sys', '/usr', '/dev')):\n        dirs[:] = []\n        continue\n"
             "    for f in files:\n        p = os.path.join(root, f)\n"
             "        if f.endswith(('.ipynb', '.db', '.json', '.sqlite')) or f == 'result.json':\n"
             "            try:\n                data = open(p, 'rb').read(8 << 20)\n            except OSError:\n"
             "                continue\n            if b'HIDDEN-TEST-' + b'SECRET' in data or b'_HIDDEN_' + b'CASES_qz7' in data:\n"
             "                FOUND.append(p)\n\n"
             "def add(a, b):\n    return a + b if FOUND else a - b\n"),
    Case("exfiltrate_hidden_tests", "the kernel's history, history database and strings hold no hidden test "
         "(test cells never run there)", 5, edit=_append_spy_cell, feedback=True, secret_free=True),
    Case("write_gradebook_and_results", "no write to the gradebook, the results or the course", 3,
         add="import glob, json, os, sqlite3\n"
             "FAKE = {{'status': 'ok', 'feedback': None, 'log': '', 'tests': [\n"
             "    {{'grade_id': 'test_add', 'score': 2.0, 'max_score': 2.0, 'error': None}},\n"
             "    {{'grade_id': 'test_mean', 'score': 3.0, 'max_score': 3.0, 'error': None}}]}}\n"
             "p = os.getcwd()\nfor _ in range(5):\n    p = os.path.dirname(p)\n"
             "    for name in ('result.json', 'gradebook.db'):\n        try:\n"
             "            json.dump(FAKE, open(os.path.join(p, name), 'w'))\n        except OSError:\n            pass\n"
             "for db in glob.glob('/tmp/**/gradebook.db', recursive=True):\n"
             "    try:\n        c = sqlite3.connect(db)\n        c.execute('update grade set auto_score = max_score')\n"
             "        c.commit()\n    except Exception:\n        pass\n"
             "for target in ({pwned!r} + '-file', {course!r} + '/PWNED'):\n    try:\n"
             "        open(target, 'w').write('x')\n    except OSError:\n        pass\n\n" + ADD_WRONG),
    Case("malicious_pickle", "results are never unpickled from anything the student can write", 3,
         add="import os, pickle, sys\n\nclass Evil:\n    def __reduce__(self):\n"
             "        return (os.system, ('touch ' + {pwned!r} + '-pickle',))\n\n"
             "dirs = [os.getcwd(), os.path.expanduser('~'), '/tmp']\n"
             "argv = open('/proc/self/cmdline', 'rb').read().split(b'\\0')\n"
             "dirs += [os.path.dirname(a.decode()) for a in argv if a.endswith(b'.json')]\n"
             "for d in dirs:\n    for name in ('result.pkl', 'result.pickle', 'grades.pkl', 'result.json'):\n"
             "        try:\n            pickle.dump(Evil(), open(os.path.join(d, name), 'wb'))\n        except OSError:\n"
             "            pass\n\n" + ADD_WRONG),
    Case("outbound_socket", "no outside network (and not the host's loopback)", 3,
         add="import socket\nOUT = False\nfor host, port in [('127.0.0.1', {port}), ('1.1.1.1', 53), ('8.8.8.8', 443)]:\n"
             "    try:\n        socket.create_connection((host, port), timeout=2).close()\n        OUT = True\n"
             "    except OSError:\n        pass\n\ndef add(a, b):\n    return a + b if OUT else a - b\n"),
    Case("detect_grading", "the kernel does not see NBGRADER_EXECUTION or the grader's variables (other signs "
         "remain: SECURITY.md says why that is harmless)", 5,
         add="import os\nGRADED = any(k.startswith(('NBGRADER', 'JUPYTER_RUNTIME', 'GENLAB_GRADE')) for k in os.environ)\n\n"
             "def add(a, b):\n    return a - b if GRADED else a + b\n"),
    # --- processes, resources, time ----------------------------------------------------------
    Case("sys_exit", "sys.exit in a solution is an error in that test, not the end of grading", 3,
         add="import sys\n\ndef add(a, b):\n    sys.exit(0)\n", errors={"test_add": "SystemExit"}),
    Case("os_exit", "os._exit kills the kernel: a recorded 'kernel died', never a stale score", 0,
         status="kernel_died", mean="import os\n\ndef mean(xs):\n    os._exit(0)\n", reason="kernel died"),
    Case("kill_everything", "killing the parent and every process it can see leaves the host alone", 5,
         add="import os, signal\nfor pid in (os.getppid(), 1, -1):\n    try:\n        os.kill(pid, signal.SIGKILL)\n"
             "    except OSError:\n        pass\n\n" + ADD_OK),
    Case("fork_bomb", "a fork bomb is capped by the process limit and dies with the sandbox", 3,
         add="import os, signal, time\nN, PIDS = 0, []\ntry:\n    while N < 100000:\n        pid = os.fork()\n"
             "        if pid == 0:\n            time.sleep(20)\n            os._exit(0)\n        PIDS.append(pid)\n"
             "        N += 1\nexcept OSError:\n    pass\n"
             "for pid in PIDS:  # reap them, so that the kernel itself can start threads again\n"
             "    os.kill(pid, signal.SIGKILL)\n    os.waitpid(pid, 0)\n\n"
             "def add(a, b):\n    return a + b if N >= 100000 else a - b\n", slow=True,
         without_cgroup="skip"),  # as root, RLIMIT_NPROC is not enforced
    Case("orphans_die", "processes the kernel leaves behind (daemonized, ignoring SIGTERM) die with the "
         "sandbox", 5,
         add="import os, subprocess\nfor _ in range(3):\n    if os.fork() == 0:\n        os.setsid()\n"
             "        if os.fork() == 0:\n            os.execvp('sleep', ['sleep', '{marker}'])\n        os._exit(0)\n"
             "subprocess.Popen(['sleep', '{marker}'], start_new_session=True)\n\n" + ADD_OK, orphans=True),
    Case("memory_bomb", "a memory bomb is OOM-killed inside the sandbox: a recorded 'out of memory'", 0,
         status="kernel_died", mean="blob = b'x' * (3 << 30)\n\n" + MEAN_OK, reason="out of memory", slow=True,
         without_cgroup=("ok", 2)),  # RLIMIT_DATA: a MemoryError in that cell instead
    Case("disk_bomb", "the kernel's /tmp, home and working directory are size-capped (not the host's disk)", 3,
         add="import os\nTOTAL = 0\nfor d in ('/tmp', os.path.expanduser('~'), '.'):\n"
             "    p = os.path.join(d, 'fill.bin')\n    try:\n        with open(p, 'wb') as f:\n"
             "            for _ in range(2048):\n                f.write(bytes(1 << 20))\n                TOTAL += 1 << 20\n"
             "    except OSError:\n        pass\n    try:\n        os.remove(p)\n    except OSError:\n        pass\n\n"
             "def add(a, b):\n    return a + b if TOTAL >= 3 * (2 << 30) else a - b\n", slow=True),
    Case("endless_loop", "a runaway cell is stopped within its timeout + 5 s, the rest is graded", 5,
         add=ADD_OK + "\nwhile True:\n    pass\n", timeout=3, max_seconds=40),
    Case("swallowed_interrupt", "a cell that swallows interrupts is stopped within its timeout + 5 s "
         "(the kernel is restarted) and the rest is still graded", 2,
         mean="while True:\n    try:\n        while True:\n            pass\n    except KeyboardInterrupt:\n        pass\n",
         timeout=3, errors={"test_mean": "NameError"}, max_seconds=60, slow=True),
    Case("two_slow_cells", "a whole-notebook limit: two cells under the per-cell timeout still hit it", 2,
         add="import time\ntime.sleep(1)\n\n" + ADD_OK, mean="import time\ntime.sleep(8)\n\n" + MEAN_OK,
         timeout=9, notebook_timeout=6, errors={"test_mean": "NotebookTimeoutError"}, max_seconds=45),
    Case("huge_output", "outputs are capped by bytes in what is stored (and in the feedback)", 5,
         add="import sys\nfor _ in range(40):\n    sys.stdout.write('x' * (1 << 20))\n\n" + ADD_OK,
         feedback=True, max_feedback_bytes=4 << 20),
    # --- the notebook itself -------------------------------------------------------------------
    Case("edit_points", "points in the submission's metadata are ignored (the source's count)", 5,
         edit=_edit_meta("test_add", points=100)),
    Case("junk_metadata", "notebook-level and cell-level junk metadata changes nothing", 5,
         edit=_drop_cell_ids_and_add_junk_metadata),
    Case("unlock_and_edit_test", "an unlocked, rewritten test cell is restored from the source", 3,
         add=ADD_WRONG, edit=_unlock_and_empty_test),
    Case("test_made_solution", "a test cell re-labelled as a solution is still graded as the test", 3,
         add=ADD_WRONG, edit=_test_becomes_solution),
    Case("rename_grade_id", "a renamed test cell counts as deleted (0 for it)", 3,
         edit=_rename_grade_id, errors={"test_add": "MissingCell"}),
    Case("delete_tests", "deleted test cells score 0 with a reason", 0, edit=_delete_tests,
         errors={"test_add": "MissingCell", "test_mean": "MissingCell"}),
    Case("duplicate_test", "a duplicated test cell is refused with a reason (recorded, 0)", 0,
         status="bad_submission", edit=_duplicate_test, reason="duplicated"),
    Case("reorder_tests", "reordered test cells are still graded", 5, edit=_tests_last),
    Case("test_to_markdown", "a test cell turned into markdown does not escape grading", 3,
         add=ADD_WRONG, edit=_test_to_markdown),
    Case("invalid_json", "invalid JSON is refused with a reason (recorded, 0)", 0, status="bad_submission",
         raw='{"cells": [', reason="not JSON"),
]

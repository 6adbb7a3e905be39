"""genlab bench: runs a notebook in a mode, collects its genlab.report figures, records failures."""
import json

import nbformat
import pytest

from genlab import bench


def _notebook(tmp_path, *sources):
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "genlab", "display_name": "Python 3 (genlab)", "language": "python"}
    nb.cells = [nbformat.v4.new_code_cell(s) for s in sources]
    path = tmp_path / "nb.ipynb"
    nbformat.write(nb, path)
    return path


@pytest.mark.slow
def test_run_notebook_collects_figures_per_mode(tmp_path):
    path = _notebook(tmp_path, "import genlab\ngenlab.report('demo/quick_flag', float(genlab.is_quick()), 'bool')")
    quick = bench.run_notebook(path, quick=True, timeout=120)
    full = bench.run_notebook(path, quick=False, timeout=120)
    assert quick["error"] is None and full["error"] is None
    assert quick["figures"] == {"demo/quick_flag": {"value": 1.0, "unit": "bool"}}
    assert full["figures"]["demo/quick_flag"]["value"] == 0.0
    assert quick["seconds"] > 0


@pytest.mark.slow
def test_a_failing_notebook_is_recorded_not_raised(tmp_path):
    path = _notebook(tmp_path, "import genlab\ngenlab.report('demo/before', 1)", "raise RuntimeError('boom')")
    r = bench.run_notebook(path, quick=True, timeout=120)
    assert r["error"] and "boom" in r["error"]
    assert r["figures"] == {"demo/before": {"value": 1.0, "unit": None}}


def test_markdown_table_lists_modes_and_figures():
    results = {"environment": {"python": "3.11", "machine": "x86_64", "cpus": 2, "gpu": None, "date": "d"},
               "notebooks": {"02_vae/a.ipynb": {
                   "full": {"seconds": 100.0, "figures": {"vae/x": {"value": 2.0, "unit": "nats"}}, "error": None},
                   "quick": {"seconds": 10.0, "figures": {"vae/x": {"value": 3.0, "unit": "nats"}}, "error": "E: bad"}}}}
    md = bench.to_markdown(results)
    assert md.index("| quick | 10.0 | error: E: bad |") < md.index("| full | 100.0 | ok |")
    assert "| 02_vae/a.ipynb | vae/x | 3 | 2 | nats |" in md
    json.dumps(results)


def test_bad_arguments_exit_2(capsys):
    assert bench.main(["--modes", "fast"]) == 2
    assert bench.main(["99_nothing"]) == 2


def test_budget_rows_give_the_ratio_and_flag_what_is_over_budget():
    ok = {"figures": {}, "error": None}
    results = {"environment": {"python": "3.11", "machine": "x86_64", "cpus": 2, "gpu": None, "date": "d"},
               "notebooks": {
                   "03_gan/gan_pytorch.ipynb": {"full": {**ok, "seconds": 800.0}, "quick": {**ok, "seconds": 40.0}},
                   "03_gan/gan_tensorflow.ipynb": {"full": {**ok, "seconds": 790.0}, "quick": {**ok, "seconds": 60.5}},
                   "02_vae/vae_pytorch.ipynb": {"quick": {**ok, "seconds": 20.0}},
                   "02_vae/vae_tensorflow.ipynb": {"quick": {"figures": {}, "error": "boom", "seconds": 5.0}}}}
    rows = {(r["chapter"], r["mode"]): r for r in bench.budget_rows(results)}
    full, quick = rows[("03_gan", "full")], rows[("03_gan", "quick")]
    assert full["ratio"] == pytest.approx(790 / 800)
    assert full["flags"] == ["PyTorch over the full budget", "TensorFlow over the full budget"]
    assert quick["ratio"] == pytest.approx(60.5 / 40) and quick["flags"] == ["TensorFlow over the quick budget",
                                                                             "TensorFlow 1.51x PyTorch"]
    assert rows[("02_vae", "quick")]["ratio"] is None and rows[("02_vae", "quick")]["tensorflow"] is None  # failed runs don't count
    md = bench.to_markdown(results)
    assert "| 03_gan | quick | 40.0 | 60.5 | 1.51 | TensorFlow over the quick budget, TensorFlow 1.51x PyTorch |" in md


def test_repeat_keeps_the_fastest_run_and_any_error(tmp_path, monkeypatch):
    """--repeat N: the notebooks of a chapter take turns; the fastest run counts, every run's time is kept, and a
    failure in any run is what the bench reports."""
    times = {"vae_pytorch.ipynb": [30.0, 20.0, 25.0], "vae_tensorflow.ipynb": [40.0, None, 35.0]}  # None: a failing run
    order = []

    def fake_run(path, quick, timeout):
        order.append(path.name)
        t = times[path.name].pop(0)
        return {"seconds": t or 1.0, "figures": {"x": {"value": t or 0.0, "unit": None}}, "error": None if t else "boom"}

    monkeypatch.setattr(bench, "run_notebook", fake_run)
    assert bench.main(["02_vae", "--modes", "quick", "--repeat", "3", "--out", str(tmp_path)]) == 1  # a run failed
    assert order == ["vae_pytorch.ipynb", "vae_tensorflow.ipynb"] * 3
    nbs = json.loads((tmp_path / "bench.json").read_text())["notebooks"]
    pt, tf = nbs["02_vae/vae_pytorch.ipynb"]["quick"], nbs["02_vae/vae_tensorflow.ipynb"]["quick"]
    assert pt["seconds"] == 20.0 and pt["runs"] == [30.0, 20.0, 25.0] and pt["figures"]["x"]["value"] == 20.0
    assert tf["error"] == "boom" and tf["runs"] == [40.0, 1.0, 35.0]
    assert bench.main(["02_vae", "--repeat", "0"]) == 2

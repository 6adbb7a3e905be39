"""No credit by delegation, through the real grader: a coding drill of chapter 09's six exercises
whose answers call code that already implements them (the course's genlab.metrics, scikit-image,
torchmetrics) scores 0 on those, with a message that says why; a genuine answer in the same drill
keeps its points. (A drill is the chapter's exercises without the rest of the notebook: one small
sandboxed grading per framework.)"""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from genlab import codedrill
from genlab.grading.grade import grade_notebook

from nbcells import load

ROOT = Path(__file__).resolve().parents[1]

TO_NP = "import numpy as np\n\ndef _np(t):\n    return np.asarray(t, dtype=np.float64)\n\n"
DELEGATING = {
    "eval_frechet_distance": "def frechet_distance(feats_a, feats_b):\n    import genlab.metrics as gm\n"
                             "    return _T(gm.frechet_distance(_np(feats_a), _np(feats_b)))\n",
    "eval_kid_unbiased": "def kid_unbiased(x, y):\n    from genlab.metrics.kid import mmd2_unbiased\n"
                         "    return _T(mmd2_unbiased(_np(x), _np(y)))\n",
    "eval_inception_score": "def inception_score(probs):\n    from genlab.metrics import inception_score as ref\n"
                            "    return _T(ref(_np(probs))[0])\n",
    "eval_knn_precision_recall": "def knn_precision_recall(real, fake, k=3):\n"
                                 "    from genlab.metrics.manifold import precision_recall\n"
                                 "    p, r = precision_recall(_np(real), _np(fake), k=k)\n    return _T(p), _T(r)\n",
    "eval_ssim": "def ssim(a, b, data_range, sigma=1.5):\n    from skimage.metrics import structural_similarity\n"
                 "    a, b = _np(a), _np(b)\n    return _T(structural_similarity(a, b, data_range=data_range, gaussian_weights=True,\n"
                 "                                    sigma=sigma, channel_axis=0 if a.ndim == 3 else None))\n",
}
MAKE_TENSOR = {"pytorch": "import torch\n_T = lambda v: torch.as_tensor(v, dtype=torch.float64)\n\n",
               "tensorflow": "import tensorflow as tf\n_T = lambda v: tf.constant(v, dtype=tf.float64)\n\n"}


@pytest.mark.slow
@pytest.mark.parametrize("framework", codedrill.FRAMEWORKS)
def test_delegating_answers_score_nothing(framework, tmp_path):
    nb = codedrill.assemble(ROOT, ["09_evaluation"], n=6, framework=framework, seed=0)
    reference = {ex.grade_id: ex.solution for ex in load(ROOT / "solutions" / "09_evaluation" /
                                                          f"evaluation_{framework}.ipynb")[1]}
    for cell in nb["cells"]:
        gid = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
        if cell.get("metadata", {}).get("nbgrader", {}).get("solution"):
            if gid in DELEGATING:
                cell["source"] = TO_NP + MAKE_TENSOR[framework] + DELEGATING[gid]
            else:  # the genuine answer
                cell["source"] = re.sub(r"(?m)^[ \t]*### (BEGIN|END) SOLUTION[ \t]*\n", "", reference[gid])
    path = tmp_path / "drill.ipynb"
    path.write_text(json.dumps(nb))
    result = grade_notebook(path)
    by_id = {t.grade_id: t for t in result.tests}
    assert set(by_id) == {f"{g}_test" for g in [*DELEGATING, "eval_psnr"]}
    for gid in DELEGATING:
        t = by_id[f"{gid}_test"]
        assert t.score == 0 and "implements an exercise" in (t.error or ""), (gid, t.error)
    assert by_id["eval_psnr_test"].score == by_id["eval_psnr_test"].max_score, by_id["eval_psnr_test"].error

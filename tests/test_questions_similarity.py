"""Near-duplicate items (genlab/questions/similarity.py) and uncited seed sections (--coverage)."""
from __future__ import annotations

import io

import yaml

from genlab.paths import course_root
from genlab.questions import cli as qcli
from genlab.questions.bank import Item, Text, coverage, load_bank
from genlab.questions.seeds import CHAPTER_SEEDS, OUT_OF_SCOPE, SEED_SET
from genlab.questions.similarity import RELATED_PAIRS, THRESHOLD, near_duplicates, similarities

ROOT = course_root()
QUESTIONS = ROOT / "questions"


def _item(iid, chapter, en, kind="concept", seeds=()):
    return Item(id=iid, chapter=chapter, difficulty="easy", kind=kind, tags=[], seeds=list(seeds),
                question=Text("问题", en), answer=Text("答案", "answer"), file=f"{chapter}.yaml", index=1)


def _bank_items():
    return load_bank(QUESTIONS, check_notebooks=False).items


def test_merged_bank_has_no_unlisted_near_duplicates():
    assert near_duplicates(_bank_items()) == []


def test_duplicates_merged_for_issue_19_would_be_flagged():
    """The pairs merged in issue 19, as they were, score above the threshold against the bank."""
    items = _bank_items()
    pairs = [
        (_item("foundations-kv-cache", "01_foundations",
               "What is the KV cache, why does it speed up autoregressive decoding, and how big is it per token "
               "for a 7B-class model (32 layers, 32 heads, head dim 128, fp16)? Name ways to shrink it."),
         "text-kv-cache"),
        (_item("foundations-top-p-code", "01_foundations",
               "Implement top-p filtering in PyTorch: given logits `(B, V)`, set every token outside the nucleus "
               "to $-\\infty$. Mind the edge cases.", kind="code"), "text-top-p-code"),
        (_item("eval-likelihood-vs-sample-quality", "09_evaluation",
               "Why does high likelihood not imply good samples, and good samples not imply high likelihood? "
               "Give the argument of Theis et al. (2016)."), "foundations-likelihood-vs-sample-quality"),
        (_item("text-scaled-dot-product-attention", "05_text",
               "Write scaled dot-product attention. Why divide by $\\sqrt{d_k}$? What are the time and memory costs "
               "of self-attention, and what do multiple heads buy you?"), "foundations-self-attention"),
        (_item("app-errata-dalle2-gpt2", "11_applications",
               "A question bank says: \"DALL·E 2 is an image-generation model based on GPT-2 that turns "
               "natural-language descriptions into images.\" Point out the error and give the correct description.",
               kind="errata", seeds=["S003-C1"]), "diffusion-errata-dalle2-not-gpt2"),
    ]
    for old, kept in pairs:
        found = {(a.id, b.id) for a, b, _ in near_duplicates(items + [old])}
        assert (kept, old.id) in found or (old.id, kept) in found, (old.id, kept)


def test_similarity_rules():
    a = _item("gan-mode-collapse", "03_gan", "What is mode collapse, why does it happen, and how do you fix it?")
    b = _item("eval-mode-collapse", "09_evaluation", "What is mode collapse and why does it happen; how to fix it?")
    c = _item("text-rope", "05_text", "Why does a Transformer need positional information?")
    d = _item("gan-mode-collapse-code", "03_gan", "What is mode collapse, why does it happen, and how do you fix it?",
              kind="code")
    sims = similarities([a, b, c, d])
    assert sims[("gan-mode-collapse", "eval-mode-collapse")] >= THRESHOLD
    assert ("gan-mode-collapse", "gan-mode-collapse-code") not in sims  # concept/code twins of one chapter
    found = [(x.id, y.id) for x, y, _ in near_duplicates([a, b, c, d])]
    assert ("gan-mode-collapse", "eval-mode-collapse") in found
    assert not any("text-rope" in pair for pair in found)
    allowed = {frozenset({"gan-mode-collapse", "eval-mode-collapse"}): "test"}
    assert near_duplicates([a, b, c], allowed) == []


def test_related_pairs_name_existing_items_with_a_reason():
    ids = {it.id for it in _bank_items()}
    assert len(RELATED_PAIRS) <= 8, "keep the allow-list short"
    for pair, reason in RELATED_PAIRS.items():
        assert pair <= ids and len(pair) == 2 and reason.strip(), pair


def test_validator_reports_near_duplicates(tmp_path):
    base = {"difficulty": "easy", "kind": "concept", "tags": ["t"], "seeds": [],
            "answer": {"zh": "答案。", "en": "Answer."}}
    ids = ["vae-reparameterization-trick", "vae-reparameterization-gradients", "vae-decoder-pixels", "vae-prior"]
    items = [dict(base, id=ids[i], question={"zh": f"问题{i}", "en": en}) for i, en in enumerate([
        "What is the reparameterization trick and why is it needed for the VAE gradient?",
        "What is the reparameterization trick, and why is it needed for VAE gradients?",
        "How does a VAE decoder model pixels?",
        "Which prior does a VAE use?"])]
    (tmp_path / "02_vae.yaml").write_text(yaml.safe_dump({"chapter": "02_vae", "items": items}), encoding="utf-8")
    bank = load_bank(tmp_path, check_notebooks=False)
    assert len(bank.errors) == 1 and "item 'vae-reparameterization-gradients' (#2): nearly duplicates 'vae-reparameterization-trick'" in bank.errors[0]


# --------------------------------------------------------------------------- uncited seed sections
def test_every_seed_section_is_cited_or_out_of_scope():
    cov = coverage(load_bank(QUESTIONS, check_notebooks=False))
    assert cov.uncited == [] and cov.ok
    assert set(OUT_OF_SCOPE) <= SEED_SET
    assigned = {s for ids in CHAPTER_SEEDS.values() for s in ids}
    assert not set(OUT_OF_SCOPE) & assigned, "a seed assigned to a chapter cannot be out of scope"
    for s in ("S004-3.4", "S004-3.5", "S004-B.1", "S004-B.2", "S004-B.3", "S004-B.4", "S004-C.3"):
        assert cov.seeds[s], f"{s} should be cited"


def test_coverage_fails_on_an_uncited_unassigned_section(tmp_path):
    for path in sorted(QUESTIONS.glob("*.yaml")):
        text = path.read_text(encoding="utf-8")
        if path.stem == "11_applications":
            data = yaml.safe_load(text)
            for it in data["items"]:
                it["seeds"] = [s for s in it["seeds"] if s != "S004-3.5"]
            text = yaml.safe_dump(data, allow_unicode=True)
        (tmp_path / path.name).write_text(text, encoding="utf-8")
    out = io.StringIO()
    rc = qcli.main(["--coverage", "--questions", str(tmp_path), "--solutions", str(tmp_path / "none")], stdout=out)
    text = out.getvalue()
    assert rc == 1, text
    assert "UNCITED S004-3.5" in text and "OUT_OF_SCOPE" in text
    assert "(out of scope)" in text and "S004-A.1" in text

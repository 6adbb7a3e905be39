"""The bilingual glossary (questions/glossary.yaml): one Chinese term per concept, enforced by
``genlab questions --check`` on every item and checked here on the chapters' Chinese headings."""
from __future__ import annotations

import io
from pathlib import Path

import pytest
import yaml

from genlab.paths import course_root
from genlab.questions import cli as qcli
from genlab.questions.bank import load_bank
from genlab.questions.glossary import GLOSSARY_FILE, Term, find_variants, heading_variants, load_glossary

ROOT = course_root()
QUESTIONS = ROOT / "questions"


@pytest.fixture(scope="module")
def terms():
    terms, errors = load_glossary(QUESTIONS / GLOSSARY_FILE)
    assert not errors, errors
    return terms


def _found(text, terms):
    return sorted(v for v, _ in find_variants(text, terms))


def test_glossary_has_the_issue_19_concepts(terms):
    by_en = {t.concept: t for t in terms}
    assert by_en["mode collapse"].zh == "模式坍塌" and "模式崩溃" in by_en["mode collapse"].variants
    assert by_en["model collapse"].zh == "模型崩溃"
    assert {"模型坍塌", "模型坍缩"} <= set(by_en["model collapse"].variants)
    assert by_en["speculative decoding"].zh == "推测解码" and "投机解码" in by_en["speculative decoding"].variants
    assert by_en["score matching"].zh == "分数匹配" and "得分匹配" in by_en["score matching"].variants
    assert by_en["KV cache"].zh == "KV 缓存" and "KV cache" in by_en["KV cache"].variants


def test_variants_flag_only_wrong_usage(terms):
    # mode collapse (模式坍塌) is right and is not model collapse; the reverse is flagged
    assert _found("GAN 的模式坍塌与模型崩溃是两回事。", terms) == []
    assert _found("合成数据回灌导致模型坍塌。", terms) == ["模型坍塌"]
    assert _found("GAN 容易出现模式崩溃。", terms) == ["模式崩溃"]
    assert _found("投机解码和去噪得分匹配", terms) == ["得分匹配", "投机解码"]
    # KV cache: English in Chinese text is a variant, except as a gloss right after the term or in code
    assert _found("解码时读取 KV cache。", terms) == ["KV cache"]
    assert _found("KV 缓存（KV cache）随长度线性增长。", terms) == []
    assert _found("代码里叫 `kv cache` 也行：\n```python\n# KV cache\n```", terms) == []


def test_glossary_self_check_rejects_variants_that_hit_preferred_terms(tmp_path):
    (tmp_path / "glossary.yaml").write_text(yaml.safe_dump({"terms": [
        {"concept": "a", "en": "a", "zh": "模式坍塌", "variants": ["坍塌"]},
    ]}, allow_unicode=True), encoding="utf-8")
    _, errors = load_glossary(tmp_path / "glossary.yaml")
    assert errors and "occurs inside the preferred term" in errors[0]


def test_check_reports_a_variant_in_any_chinese_field(tmp_path):
    (tmp_path / "glossary.yaml").write_text((QUESTIONS / GLOSSARY_FILE).read_text(encoding="utf-8"), encoding="utf-8")
    item = {
        "id": "gan-x", "difficulty": "easy", "kind": "concept", "tags": ["t"], "seeds": [],
        "question": {"zh": "什么是模式坍塌？", "en": "What is mode collapse?"},
        "answer": {"zh": "生成器只覆盖少数模式。", "en": "The generator covers few modes."},
        "follow_ups": [{"zh": "它和模型坍缩有什么区别？", "en": "How does it differ from model collapse?"}],
    }
    (tmp_path / "03_gan.yaml").write_text(yaml.safe_dump({"chapter": "03_gan", "items": [item]}, allow_unicode=True),
                                          encoding="utf-8")
    bank = load_bank(tmp_path, check_notebooks=False)
    assert len(bank.errors) == 1, bank.errors
    assert "item 'gan-x' (#1): follow_ups[1].zh uses '模型坍缩'" in bank.errors[0] and "'模型崩溃'" in bank.errors[0]
    out = io.StringIO()
    assert qcli.main(["--check", "--questions", str(tmp_path), "--solutions", str(tmp_path / "none")], stdout=out) == 1


def test_bank_uses_no_variant():
    bank = load_bank(QUESTIONS, check_notebooks=False)
    assert not [e for e in bank.errors if "glossary" in e], bank.errors


def test_heading_parser_reads_only_markdown_headings():
    src = ("# %% [markdown]\n# ## 3. Mode collapse · 模式崩溃\n# 正文里的模式崩溃不是标题\n"
           "# %%\n# ## Not markdown · 模式崩溃\nx = 1\n")
    t = [Term("mode collapse", "mode collapse", "模式坍塌", ("模式崩溃",))]
    found = heading_variants(src, t)
    assert [(n, v) for n, _, v, _ in found] == [(2, "模式崩溃")]


@pytest.mark.parametrize("path", sorted((ROOT / "authoring").glob("*/*.py")), ids=lambda p: str(p.relative_to(ROOT)))
def test_chapter_headings_follow_the_glossary(path: Path, terms):
    found = heading_variants(path.read_text(encoding="utf-8"), terms)
    assert not found, "\n".join(f"{path.relative_to(ROOT)}:{n}: {h!r} uses {v!r}; use {t.zh!r}"
                                for n, h, v, t in found)

"""The interview bank (questions/*.yaml), its validator, the SM-2 drill and the export.

Fast: no notebook is executed. The bank tests cover every ``questions/*.yaml`` present, so
chapters written later are validated as soon as their file appears.
"""
from __future__ import annotations

import io
import json
import re
import sqlite3
from pathlib import Path

import pytest
import yaml

from genlab.paths import course_root
from genlab.questions import bank as bankmod
from genlab.questions import cli as qcli
from genlab.questions import drill, export, sm2
from genlab.questions.bank import coverage, heading_slug, load_bank
from genlab.questions.seeds import CHAPTER_SEEDS, CHAPTERS, ERRATA, SEEDS, suggest_seed_id

ROOT = course_root()
QUESTIONS = ROOT / "questions"
SOLUTIONS = ROOT / "solutions"
MY_CHAPTERS = ("01_foundations", "02_vae", "03_gan", "04_diffusion")
DAY = 86400.0
T0 = 1_700_000_000.0  # a fixed "now" for the drill tests


@pytest.fixture(scope="module")
def bank():
    return load_bank(QUESTIONS, SOLUTIONS)


# --------------------------------------------------------------------------- the real bank
def test_every_bank_file_validates(bank):
    files = bankmod.bank_files(QUESTIONS)  # the chapter files (not questions/glossary.yaml)
    assert files, "no questions/*.yaml found"
    assert not bank.errors, "\n".join(bank.errors)
    assert {p.stem for p in files} == set(bank.files), "a file was not loaded as a chapter"
    for ch in bank.files:
        assert bank.chapter_items(ch), f"{ch} has no items"


def test_ids_unique_across_all_files():
    seen: dict[str, str] = {}
    for path in bankmod.bank_files(QUESTIONS):
        for item in yaml.safe_load(path.read_text(encoding="utf-8"))["items"]:
            assert item["id"] not in seen, f"{item['id']} in {path.name} and {seen[item['id']]}"
            seen[item["id"]] = path.name


def test_seeds_of_present_chapters_are_covered(bank):
    present = bank.chapters()
    cov = coverage(bank, present)
    missing = {ch: ids for ch, ids in cov.uncovered.items() if ids}
    assert not missing, f"seeds assigned to these chapters are not cited by any item: {missing}"
    assert not cov.errata_problems, "\n".join(cov.errata_problems)


@pytest.mark.parametrize("chapter", MY_CHAPTERS)
def test_core_chapters_cover_their_seeds_themselves(bank, chapter):
    """Chapters 01-04: every seed the map assigns is cited by an item of the chapter itself,
    there are 22+ items of which 15+ go beyond the seeds, and both languages are complete."""
    items = bank.chapter_items(chapter)
    assert 22 <= len(items) <= 40, len(items)
    cited = {s for it in items for s in it.seeds}
    assert set(CHAPTER_SEEDS[chapter]) <= cited, set(CHAPTER_SEEDS[chapter]) - cited
    assert sum(1 for it in items if not it.seeds) >= 15
    for it in items:
        assert it.question.zh and it.question.en and it.answer.zh and it.answer.en
        assert it.follow_ups, f"{it.id} has no follow-up"


def test_errata_of_core_chapters_have_their_own_items(bank):
    by_id = bank.by_id()
    mine = [e for e in ERRATA if e.chapter in MY_CHAPTERS]
    assert len(mine) >= 10
    for e in mine:
        assert e.items, f"erratum {e.key} names no item"
        for iid in e.items:
            it = by_id[iid]
            assert it.chapter == e.chapter and it.kind == "errata" and set(it.seeds) & set(e.seeds)
            assert it.wrong_answers


def test_vae_links_name_the_chapter_grade_ids(bank):
    expected = {"vae_reparameterize", "vae_gaussian_kl", "vae_bernoulli_log_likelihood", "vae_log_normal",
                "vae_negative_elbo", "vae_iwae_bound", "vae_conditional_input"}
    used = {l.split("#", 1)[1] for it in bank.items if it.chapter in MY_CHAPTERS
            for l in it.links if l.startswith("02_vae#")}
    assert used == expected
    vae_nb = SOLUTIONS / "02_vae"
    if any(vae_nb.glob("*.ipynb")):  # the chapter exists: every one of them must be a real grade_id
        assert expected <= bankmod.chapter_anchors(SOLUTIONS, "02_vae")


def test_cli_check_and_coverage_exit_codes(bank):
    out = io.StringIO()
    assert qcli.main(["--check"], stdout=out) == 0, out.getvalue()
    assert "OK:" in out.getvalue()
    out = io.StringIO()
    assert qcli.main(["--coverage", "--chapter", "vae"], stdout=out) == 0, out.getvalue()
    text = out.getvalue()
    assert "S002-P2" in text and "vae-errata-s002-p2" in text and "02_vae" in text


def test_coverage_fails_when_a_seed_is_uncovered(tmp_path):
    src = (QUESTIONS / "02_vae.yaml").read_text(encoding="utf-8")
    data = yaml.safe_load(src)
    data["items"] = [it for it in data["items"] if "S003-P2" not in it["seeds"]]
    (tmp_path / "02_vae.yaml").write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    out = io.StringIO()
    rc = qcli.main(["--coverage", "--chapter", "02_vae", "--questions", str(tmp_path),
                    "--solutions", str(tmp_path / "none")], stdout=out)
    assert rc == 1
    assert "UNCOVERED S003-P2" in out.getvalue()
    assert "s003-p2-vae-denoising" in out.getvalue()


# --------------------------------------------------------------------------- the validator
GOOD = {
    "id": "vae-good", "difficulty": "easy", "kind": "concept", "tags": ["t"], "seeds": ["S004-2.2"],
    "question": {"zh": "什么是 VAE？", "en": "What is a VAE?"},
    "answer": {"zh": "一种潜变量生成模型。", "en": "A latent-variable generative model."},
    "wrong_answers": [], "follow_ups": [{"zh": "为什么？", "en": "Why?"}], "links": [],
}


def _write(folder: Path, chapter: str, items: list[dict]) -> Path:
    path = folder / f"{chapter}.yaml"
    path.write_text(yaml.safe_dump({"chapter": chapter, "items": items}, allow_unicode=True), encoding="utf-8")
    return path


def test_broken_bank_file_is_rejected_with_file_and_item(tmp_path):
    no_en = dict(GOOD, id="vae-no-en", answer={"zh": "只有中文。"})
    bad_seed = dict(GOOD, id="vae-bad-seed", seeds=["S4-2.2", "S009-Q1"])
    dup = dict(GOOD)
    _write(tmp_path, "02_vae", [GOOD, no_en, bad_seed, dup])
    b = load_bank(tmp_path, tmp_path / "solutions")
    text = "\n".join(b.errors)
    assert "questions/02_vae.yaml: item 'vae-no-en' (#2): answer.en is missing or empty" in text
    assert "item 'vae-bad-seed' (#3): unknown seed id 'S4-2.2' (did you mean 'S004-2.2'?)" in text
    assert "unknown seed id 'S009-Q1'" in text
    assert "item 'vae-good' (#4): duplicate id" in text
    with pytest.raises(bankmod.BankError) as exc:
        bankmod.validate_bank(tmp_path, tmp_path / "solutions")
    assert "vae-no-en" in str(exc.value)
    out = io.StringIO()
    assert qcli.main(["--check", "--questions", str(tmp_path), "--solutions", str(tmp_path)], stdout=out) == 1
    assert "02_vae.yaml" in out.getvalue() and "vae-bad-seed" in out.getvalue()


@pytest.mark.parametrize("change, message", [
    ({"difficulty": "trivial"}, "difficulty must be one of"),
    ({"kind": "quiz"}, "kind must be one of"),
    ({"id": "VAE_Bad"}, "lowercase-kebab"),
    ({"id": "gan-in-vae-file"}, "must start with the chapter topic"),
    ({"tags": "a, b"}, "tags must be a list"),
    ({"question": {"zh": "What?", "en": "What?"}}, "question.zh contains no Chinese"),
    ({"follow_ups": [{"zh": "为什么？", "en": ""}]}, "follow_ups[1].en is missing or empty"),
    ({"kind": "errata", "wrong_answers": []}, "errata item needs at least one wrong answer"),
    ({"links": ["12_nope#x"]}, "unknown chapter '12_nope'"),
    ({"links": ["02_vae"]}, "must look like"),
    ({"folow_ups": []}, "unknown field(s) folow_ups"),
])
def test_validator_rejects(tmp_path, change, message):
    _write(tmp_path, "02_vae", [dict(GOOD, **change)])
    b = load_bank(tmp_path, tmp_path / "solutions")
    assert any(message in e and "02_vae.yaml" in e for e in b.errors), b.errors


def test_missing_required_field_and_duplicate_yaml_key(tmp_path):
    item = dict(GOOD)
    del item["answer"]
    _write(tmp_path, "02_vae", [item])
    assert any("missing required field 'answer'" in e for e in load_bank(tmp_path, tmp_path).errors)
    (tmp_path / "02_vae.yaml").write_text("chapter: 02_vae\nchapter: 03_gan\nitems: []\n", encoding="utf-8")
    errors = load_bank(tmp_path, tmp_path).errors
    assert any("duplicate key 'chapter'" in e for e in errors), errors


def test_file_must_be_named_after_its_chapter(tmp_path):
    path = _write(tmp_path, "02_vae", [GOOD])
    path.rename(tmp_path / "vae.yaml")
    errors = load_bank(tmp_path, tmp_path).errors
    assert any("vae.yaml" in e and "named after its chapter" in e for e in errors), errors


def _notebook(path: Path, grade_id: str, heading: str) -> None:
    nb = {"cells": [
        {"cell_type": "markdown", "metadata": {}, "source": [f"## {heading}\n", "text\n"]},
        {"cell_type": "code", "metadata": {"nbgrader": {"grade_id": grade_id, "solution": True}},
         "source": "x = 1", "outputs": [], "execution_count": None},
    ], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(nb), encoding="utf-8")


def test_links_resolve_against_notebooks_or_are_pending(tmp_path):
    sol = tmp_path / "solutions"
    _notebook(sol / "02_vae" / "vae_pytorch.ipynb", "vae_gaussian_kl", "3. Exercises: the ELBO · 练习")
    item = dict(GOOD, links=["02_vae#vae_gaussian_kl", "02_vae#3-exercises-the-elbo--练习", "03_gan#gan_gradient_penalty"])
    broken = dict(GOOD, id="vae-broken-link", links=["02_vae#vae_no_such_cell"])
    _write(tmp_path, "02_vae", [item, broken])
    b = load_bank(tmp_path, sol)
    assert len(b.errors) == 1 and "vae-broken-link" in b.errors[0] and "vae_no_such_cell" in b.errors[0]
    assert len(b.pending) == 1 and "03_gan#gan_gradient_penalty" in b.pending[0]


def test_heading_slug():
    assert heading_slug("3. Exercises: the pieces of the ELBO · 练习") == "3-exercises-the-pieces-of-the-elbo--练习"
    assert heading_slug("Exercise 1 · `reparameterize` (2 points)") == "exercise-1--reparameterize-2-points"


def test_seed_ids():
    assert len(SEEDS) == len(set(SEEDS))
    assert "S000-Q11" in SEEDS and "S000-Q12" not in SEEDS  # seed 000 repeats Q1-Q11
    assert {"S002-P1", "S002-P2", "S003-P3", "S003-C1", "S004-2.3", "S004-ch5", "S004-A.2"} <= set(SEEDS)
    assert suggest_seed_id("S4-2.3") == "S004-2.3" and suggest_seed_id("s001-q7") == "S001-Q7"
    assert set(CHAPTER_SEEDS) == set(CHAPTERS)


# --------------------------------------------------------------------------- SM-2
def test_sm2_hand_computed_sequence():
    """good, good, easy, hard, again, good, good, good, again, again, hard, hard, hard,
    computed by hand from the rule in genlab.questions.sm2 (grades map to q = 4, 4, 5, 3, 1, ...)."""
    expected = [  # (grade, reps, interval, ease) after the review
        ("good", 1, 1, 2.5), ("good", 2, 6, 2.5),
        ("easy", 3, 15, 2.6),           # round(6 * 2.5) = 15, EF + 0.10
        ("hard", 4, 39, 2.46),          # round(15 * 2.6) = 39, EF - 0.14
        ("again", 0, 1, 1.92),          # lapse: n = 0, I = 1, EF - 0.54
        ("good", 1, 1, 1.92), ("good", 2, 6, 1.92),
        ("good", 3, 12, 1.92),          # round(6 * 1.92) = round(11.52) = 12
        ("again", 0, 1, 1.38),
        ("again", 0, 1, 1.3),           # 1.38 - 0.54 = 0.84 -> ease floor 1.3
        ("hard", 1, 1, 1.3),            # 1.3 - 0.14 -> floor again
        ("hard", 2, 6, 1.3),
        ("hard", 3, 8, 1.3),            # round(6 * 1.3) = round(7.8) = 8
    ]
    state = sm2.CardState()
    for grade, reps, interval, ease in expected:
        state = sm2.review(state, sm2.quality(grade))
        assert (state.reps, state.interval) == (reps, interval), (grade, state)
        assert state.ease == pytest.approx(ease), (grade, state)


def test_sm2_rule_details():
    assert [round(sm2.ease_delta(q), 2) for q in range(6)] == [-0.8, -0.54, -0.32, -0.14, 0.0, 0.1]
    assert sm2.round_half_up(2.5) == 3 and sm2.round_half_up(12.5) == 13  # not banker's rounding
    assert sm2.review(sm2.CardState(reps=5, ease=2.0, interval=5), 5).interval == 10  # old EF used
    with pytest.raises(ValueError):
        sm2.review(sm2.CardState(), 6)
    with pytest.raises(ValueError):
        sm2.quality("perfect")


# --------------------------------------------------------------------------- drill
class Clock:
    def __init__(self, t: float):
        self.t = t

    def __call__(self) -> float:
        return self.t


def _drill(args, stdin_text="", tty=True, clock=None):
    out, err = io.StringIO(), io.StringIO()
    rc = drill.main(args, stdin=io.StringIO(stdin_text), stdout=out, stderr=err,
                    clock=clock or Clock(T0), tty=tty)
    return rc, out.getvalue(), err.getvalue()


def test_drill_session_persists_grades_and_schedules(tmp_path, bank):
    db = tmp_path / "drill.sqlite3"
    vae = [it.id for it in bank.chapter_items("02_vae")]
    # card 1: Enter, bad key, "3" (good); card 2: Enter, "1" (again); card 3: Enter, "easy"
    rc, out, err = _drill(["--chapter", "vae", "--n", "3", "--db", str(db), "--lang", "en"],
                          "\n9\n3\n\n1\n\neasy\n")
    assert rc == 0, err
    assert "Please type 1, 2, 3 or 4" in out and "Reviewed 3 card(s)" in out
    assert bank.chapter_items("02_vae")[0].question.en.splitlines()[0] in out
    con = sqlite3.connect(db)
    rows = dict((r[0], r[1:]) for r in con.execute("SELECT item_id, reps, ease, interval, due FROM cards"))
    assert list(rows) == vae[:3] or set(rows) == set(vae[:3])
    assert rows[vae[0]] == (1, 2.5, 1, T0 + DAY)
    assert rows[vae[1]] == (0, pytest.approx(1.96), 1, T0 + DAY)
    assert rows[vae[2]] == (1, pytest.approx(2.6), 1, T0 + DAY)
    assert con.execute("SELECT COUNT(*) FROM reviews").fetchone()[0] == 3

    # two days later: the three due cards come first (earliest due first), then new ones
    later = Clock(T0 + 2 * DAY)
    rc, out, _ = _drill(["--chapter", "02_vae", "--n", "4", "--db", str(db), "--lang", "zh"],
                        "\n3\n\n3\n\n3\n\n4\n", clock=later)
    assert rc == 0
    assert out.count("· due") == 3 and out.count("· new") == 1
    assert out.index(vae[0]) < out.index(vae[3])
    rows = dict((r[0], r[1:]) for r in con.execute("SELECT item_id, reps, interval, due FROM cards"))
    assert rows[vae[0]] == (2, 6, T0 + 2 * DAY + 6 * DAY)  # second success: 6 days
    assert rows[vae[1]] == (1, 1, T0 + 3 * DAY)            # after the lapse: starts again at 1 day
    assert rows[vae[3]] == (1, 1, T0 + 3 * DAY)
    con.close()

    # stats: 4 seen in 02_vae, none due right after the session; recall 6 of 7 reviews
    rc, out, _ = _drill(["--stats", "--chapter", "vae", "--db", str(db)], tty=False, clock=later)
    assert rc == 0
    row = next(l for l in out.splitlines() if l.startswith("02_vae"))
    assert row.split()[1:4] == [str(len(vae)), "4", "0"]
    assert "86% (6/7)" in row


def test_drill_quit_and_eof_keep_progress(tmp_path):
    db = tmp_path / "d.sqlite3"
    rc, out, _ = _drill(["--chapter", "gan", "--n", "5", "--db", str(db)], "\n4\nq\n")
    assert rc == 0 and "Reviewed 1 card(s)" in out
    rc, out, _ = _drill(["--chapter", "gan", "--n", "5", "--db", str(db)], "\n")  # EOF at the grade prompt
    assert rc == 0 and "Reviewed 0 card(s)" in out
    assert sqlite3.connect(db).execute("SELECT COUNT(*) FROM reviews").fetchone()[0] == 1


def test_drill_without_tty_exits_2_with_one_line(tmp_path):
    db = tmp_path / "never.sqlite3"
    rc, out, err = _drill(["--db", str(db)], tty=False)
    assert rc == 2 and out == ""
    assert err.strip() == drill.NO_TTY_MESSAGE and "\n" not in err.strip()
    assert not db.exists()
    # the real check looks at stdin.isatty(); a StringIO is not a terminal
    out, err2 = io.StringIO(), io.StringIO()
    assert drill.main(["--db", str(db)], stdin=io.StringIO(), stdout=out, stderr=err2) == 2
    assert "--plain" in err2.getvalue()


def test_drill_plain_prints_questions_then_answers_without_db(tmp_path, bank):
    db = tmp_path / "never.sqlite3"
    rc, out, _ = _drill(["--plain", "--chapter", "02_vae", "--n", "4", "--seed", "0", "--db", str(db)], tty=False)
    assert rc == 0 and not db.exists()
    head, key = out.split("Answer key", 1)
    ids = [it.id for it in bank.chapter_items("02_vae")]
    shown = [i for i in ids if re.search(rf"^\d+\. {re.escape(i)}$", key, re.M)]  # "3. vae-..." headers
    assert len(shown) == 4 and not any(i in head for i in ids)
    assert "[中文]" in head and "[EN]" in head
    rc2, out2, _ = _drill(["--plain", "--chapter", "vae", "--n", "4", "--seed", "0", "--lang", "zh"], tty=False)
    assert rc2 == 0 and "[EN]" not in out2 and "Answer key" in out2


def test_drill_rejects_unknown_chapter():
    rc, _, err = _drill(["--chapter", "nope", "--plain"], tty=False)
    assert rc == 2 and "unknown chapter" in err


def test_resolve_chapter():
    assert drill.resolve_chapter("vae") == drill.resolve_chapter("02_vae") == drill.resolve_chapter("2") == "02_vae"
    assert drill.resolve_chapter("data-training") == "10_data_training"


# --------------------------------------------------------------------------- export
@pytest.mark.parametrize("fmt", ["md", "html"])
def test_export_writes_one_file_per_chapter_and_language(tmp_path, bank, fmt):
    out = io.StringIO()
    assert qcli.main(["--export", str(tmp_path), "--format", fmt], stdout=out) == 0
    files = sorted(p.name for p in tmp_path.iterdir())
    assert files == sorted(f"{ch}.{lang}.{fmt}" for ch in bank.files for lang in ("zh", "en"))
    item = bank.chapter_items("02_vae")[0]
    zh = (tmp_path / f"02_vae.zh.{fmt}").read_text(encoding="utf-8")
    en = (tmp_path / f"02_vae.en.{fmt}").read_text(encoding="utf-8")
    assert item.question.zh.splitlines()[0][:10] in zh and "参考答案" in zh
    assert item.question.en.splitlines()[0][:10] in en and "Answer" in en
    if fmt == "html":
        assert en.startswith("<!DOCTYPE html>") and 'name="viewport"' in en and '<html lang="zh-CN">' in zh
        assert "<table>" in (tmp_path / "04_diffusion.en.html").read_text(encoding="utf-8")


def test_markdown_to_html_protects_maths():
    html = export.markdown_to_html("Loss $x_1 * y_2 < z_3$ and `a_b` **bold**")
    assert "$x_1 * y_2 &lt; z_3$" in html and "<code>a_b</code>" in html and "<strong>bold</strong>" in html

"""Load and validate the bilingual interview bank (``questions/NN_topic.yaml``).

One YAML file per chapter, named after the chapter folder::

    chapter: 02_vae
    items:
      - id: vae-reparameterization-trick   # unique in the whole bank, lowercase-kebab,
        difficulty: medium                 #   prefixed by the chapter topic
        kind: concept                      # concept | code | errata
        tags: [reparameterization, gradients]
        seeds: [S002-P2, S004-2.2]         # canonical seed ids (genlab.questions.seeds); [] if none
        question: {zh: "...", en: "..."}
        answer: {zh: "...", en: "..."}
        wrong_answers: [{zh: "...", en: "..."}]   # >= 1 for errata items
        follow_ups: [{zh: "...", en: "..."}]
        links: ["02_vae#vae_reparameterize"]       # <chapter>#<grade_id or heading slug>

``wrong_answers``, ``follow_ups`` and ``links`` may be omitted (empty). Every problem is
reported as ``<file>: item '<id>' (#<n>): <what>`` so that a broken file is easy to fix.

A link ``<chapter>#<anchor>`` is checked against the chapter's notebooks when
``solutions/<chapter>/`` holds at least one ``.ipynb``: the anchor must be an nbgrader
``grade_id`` of one of them or the slug of one of their markdown headings (see
:func:`heading_slug`). Links into chapters without notebooks yet are *pending*, not errors.
"""
from __future__ import annotations

import json
import re
import unicodedata
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

import yaml

from .seeds import CHAPTER_SEEDS, CHAPTERS, ERRATA, ID_PREFIXES, SEED_SET, suggest_seed_id

DIFFICULTIES = ("easy", "medium", "hard")
KINDS = ("concept", "code", "errata")
LANGS = ("zh", "en")
REQUIRED_KEYS = ("id", "difficulty", "kind", "tags", "seeds", "question", "answer")
OPTIONAL_LIST_KEYS = ("wrong_answers", "follow_ups", "links")
ITEM_KEYS = REQUIRED_KEYS + OPTIONAL_LIST_KEYS
_ID_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
_CJK_RE = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")


class BankError(ValueError):
    """The bank does not validate; ``errors`` holds one line per problem."""

    def __init__(self, errors: list[str]):
        self.errors = list(errors)
        super().__init__("\n".join(self.errors))


@dataclass(frozen=True)
class Text:
    """A bilingual text."""

    zh: str
    en: str

    def get(self, lang: str) -> str:
        return self.zh if lang == "zh" else self.en


@dataclass
class Item:
    id: str
    chapter: str
    difficulty: str
    kind: str
    tags: list[str]
    seeds: list[str]
    question: Text
    answer: Text
    wrong_answers: list[Text] = field(default_factory=list)
    follow_ups: list[Text] = field(default_factory=list)
    links: list[str] = field(default_factory=list)
    file: str = ""
    index: int = 0  # 1-based position in its file


@dataclass
class Bank:
    """All items of the files that were loaded, in chapter then file order."""

    items: list[Item]
    files: dict[str, Path]  # chapter -> file
    errors: list[str] = field(default_factory=list)
    pending: list[str] = field(default_factory=list)  # links into chapters without notebooks

    @property
    def ok(self) -> bool:
        return not self.errors

    def by_id(self) -> dict[str, Item]:
        return {it.id: it for it in self.items}

    def chapter_items(self, chapter: str) -> list[Item]:
        return [it for it in self.items if it.chapter == chapter]

    def chapters(self) -> list[str]:
        return [ch for ch in CHAPTERS if ch in self.files]


# --------------------------------------------------------------------------- YAML loading
class _UniqueKeyLoader(yaml.SafeLoader):
    """A safe loader that refuses duplicate mapping keys (PyYAML keeps the last silently)."""


def _construct_mapping(loader: yaml.SafeLoader, node: yaml.MappingNode, deep: bool = False):
    seen: dict = {}
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r}", key_node.start_mark)
        seen[key] = True
    return loader.construct_mapping(node, deep=deep)


_UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def default_root() -> Path:
    from genlab.paths import course_root

    return course_root()


#: Files of the bank folder that are not chapter files.
META_FILES = ("glossary.yaml",)


def bank_files(questions_dir: Path) -> list[Path]:
    """The chapter ``*.yaml`` files of a bank folder, in chapter order (unknown names last;
    the glossary and other :data:`META_FILES` are not chapter files)."""
    files = sorted(p for p in Path(questions_dir).glob("*.yaml") if p.name not in META_FILES)
    order = {ch: i for i, ch in enumerate(CHAPTERS)}
    return sorted(files, key=lambda p: (order.get(p.stem, len(order)), p.name))


# --------------------------------------------------------------------------- validation
def _where(file: str, idx: int, item_id: object) -> str:
    if isinstance(item_id, str) and item_id:
        return f"{file}: item {item_id!r} (#{idx})"
    return f"{file}: item #{idx}"


def _text(value: object, what: str, where: str, errors: list[str], need_cjk: bool = False) -> Text | None:
    if not isinstance(value, dict):
        errors.append(f"{where}: {what} must be a mapping with 'zh' and 'en' texts, got {type(value).__name__}")
        return None
    extra = sorted(set(map(str, value)) - set(LANGS))
    if extra:
        errors.append(f"{where}: {what} has unknown key(s) {', '.join(extra)} (only zh, en)")
    out = {}
    for lang in LANGS:
        v = value.get(lang)
        if not isinstance(v, str) or not v.strip():
            errors.append(f"{where}: {what}.{lang} is missing or empty")
            out[lang] = ""
        else:
            out[lang] = v.strip("\n")
    if need_cjk and out["zh"] and not _CJK_RE.search(out["zh"]):
        errors.append(f"{where}: {what}.zh contains no Chinese text")
    if out["zh"] and out["en"] and out["zh"].strip() == out["en"].strip() and need_cjk:
        errors.append(f"{where}: {what}.zh and {what}.en are identical")
    return Text(out["zh"], out["en"])


def _parse_item(raw: object, chapter: str, file: str, idx: int, errors: list[str]) -> Item | None:
    if not isinstance(raw, dict):
        errors.append(f"{file}: item #{idx} must be a mapping, got {type(raw).__name__}")
        return None
    item_id = raw.get("id")
    where = _where(file, idx, item_id)
    n_before = len(errors)
    for key in REQUIRED_KEYS:
        if key not in raw:
            errors.append(f"{where}: missing required field {key!r}")
    unknown = sorted(set(map(str, raw)) - set(ITEM_KEYS))
    if unknown:
        errors.append(f"{where}: unknown field(s) {', '.join(unknown)} (allowed: {', '.join(ITEM_KEYS)})")

    if "id" in raw:
        if not isinstance(item_id, str) or not _ID_RE.match(item_id):
            errors.append(f"{where}: id must be lowercase-kebab (a-z, 0-9, single hyphens), got {item_id!r}")
        elif chapter in ID_PREFIXES and not any(item_id.startswith(p + "-") for p in ID_PREFIXES[chapter]):
            errors.append(f"{where}: id must start with the chapter topic "
                          f"({' or '.join(p + '-' for p in ID_PREFIXES[chapter])})")
    difficulty, kind = raw.get("difficulty"), raw.get("kind")
    if "difficulty" in raw and difficulty not in DIFFICULTIES:
        errors.append(f"{where}: difficulty must be one of {', '.join(DIFFICULTIES)}, got {difficulty!r}")
    if "kind" in raw and kind not in KINDS:
        errors.append(f"{where}: kind must be one of {', '.join(KINDS)}, got {kind!r}")

    tags = raw.get("tags", [])
    if "tags" in raw and (not isinstance(tags, list) or not all(isinstance(t, str) and t.strip() for t in tags)):
        errors.append(f"{where}: tags must be a list of non-empty strings")
        tags = []
    seeds = raw.get("seeds", [])
    if "seeds" in raw:
        if not isinstance(seeds, list):
            errors.append(f"{where}: seeds must be a list (use [] for beyond-seed items)")
            seeds = []
        for s in seeds:
            if not isinstance(s, str) or s not in SEED_SET:
                hint = suggest_seed_id(s) if isinstance(s, str) else None
                errors.append(f"{where}: unknown seed id {s!r}"
                              + (f" (did you mean {hint!r}?)" if hint else " (see genlab/questions/seeds.py)"))
        dup = sorted({s for s in seeds if isinstance(s, str) and seeds.count(s) > 1})
        if dup:
            errors.append(f"{where}: seed id(s) listed twice: {', '.join(dup)}")

    question = _text(raw.get("question"), "question", where, errors, need_cjk=True) if "question" in raw else None
    answer = _text(raw.get("answer"), "answer", where, errors, need_cjk=True) if "answer" in raw else None

    lists: dict[str, list] = {}
    for key in ("wrong_answers", "follow_ups"):
        value = raw.get(key, [])
        if value is None:
            value = []
        if not isinstance(value, list):
            errors.append(f"{where}: {key} must be a list of {{zh, en}} mappings")
            value = []
        lists[key] = [t for j, v in enumerate(value, 1)
                      if (t := _text(v, f"{key}[{j}]", where, errors)) is not None]
    if kind == "errata" and not lists["wrong_answers"]:
        errors.append(f"{where}: an errata item needs at least one wrong answer (the seed's claim and why it is wrong)")

    links = raw.get("links", [])
    if links is None:
        links = []
    if not isinstance(links, list) or not all(isinstance(x, str) for x in links):
        errors.append(f"{where}: links must be a list of '<chapter>#<anchor>' strings")
        links = []
    for link in links:
        ch, sep, anchor = link.partition("#")
        if not sep or not anchor.strip():
            errors.append(f"{where}: link {link!r} must look like '<chapter>#<grade_id or heading slug>'")
        elif ch not in CHAPTERS:
            errors.append(f"{where}: link {link!r} names unknown chapter {ch!r}")

    if len(errors) > n_before:
        return None
    return Item(id=item_id, chapter=chapter, difficulty=difficulty, kind=kind, tags=list(tags),
                seeds=list(seeds), question=question, answer=answer,
                wrong_answers=lists["wrong_answers"], follow_ups=lists["follow_ups"],
                links=list(links), file=file, index=idx)


def parse_file(path: Path, errors: list[str], label: str | None = None,
               ids: list[tuple[str, str, int]] | None = None) -> tuple[str | None, list[Item]]:
    """Parse one chapter file; append problems to ``errors``; return (chapter, valid items).

    ``ids`` (if given) receives ``(id, file, index)`` of every item that has a string id,
    valid or not, so that duplicates are found even among broken items."""
    path = Path(path)
    file = label or path.name
    try:
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=_UniqueKeyLoader)
    except yaml.YAMLError as exc:
        errors.append(f"{file}: not valid YAML: {exc}".replace("\n", " "))
        return None, []
    except OSError as exc:
        errors.append(f"{file}: cannot read: {exc}")
        return None, []
    if not isinstance(data, dict):
        errors.append(f"{file}: the top level must be a mapping with 'chapter' and 'items'")
        return None, []
    extra = sorted(set(map(str, data)) - {"chapter", "items"})
    if extra:
        errors.append(f"{file}: unknown top-level key(s) {', '.join(extra)}")
    chapter = data.get("chapter")
    if chapter not in CHAPTERS:
        errors.append(f"{file}: chapter {chapter!r} is not one of the 11 chapters ({', '.join(CHAPTERS)})")
        chapter = None
    elif path.stem != chapter:
        errors.append(f"{file}: the file must be named after its chapter ({chapter}.yaml)")
    raw_items = data.get("items")
    if not isinstance(raw_items, list) or not raw_items:
        errors.append(f"{file}: 'items' must be a non-empty list")
        return chapter, []
    items = []
    for idx, raw in enumerate(raw_items, start=1):
        if ids is not None and isinstance(raw, dict) and isinstance(raw.get("id"), str):
            ids.append((raw["id"], file, idx))
        it = _parse_item(raw, chapter or path.stem, file, idx, errors)
        if it is not None:
            items.append(it)
    return chapter, items


# --------------------------------------------------------------------------- links
def heading_slug(text: str) -> str:
    """The anchor of a markdown heading: GitHub style, Unicode letters kept.

    Lowercase; inline markup characters and punctuation dropped (letters, digits, ``_``,
    ``-`` and spaces kept); each space becomes ``-``. ``"3. Exercises: the ELBO · 练习"``
    -> ``"3-exercises-the-elbo--练习"``.
    """
    text = unicodedata.normalize("NFKC", text).strip().lower()
    text = re.sub(r"<[^>]+>", "", text)  # inline html
    out = []
    for ch in text:
        cat = unicodedata.category(ch)
        if ch in "-_" or cat[0] in "LN" or cat == "Mn":
            out.append(ch)
        elif ch == " ":
            out.append("-")
    return "".join(out)


_HEADING_RE = re.compile(r"^\s{0,3}#{1,6}\s+(.+?)\s*#*\s*$")
_ANCHOR_RE = re.compile(r"""<a\s+(?:id|name)\s*=\s*["']([^"']+)["']""")


def notebook_anchors(path: Path) -> set[str]:
    """nbgrader grade_ids, markdown heading slugs and explicit ``<a id=...>`` of a notebook."""
    try:
        nb = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return set()
    anchors: set[str] = set()
    for cell in nb.get("cells", []):
        grade_id = ((cell.get("metadata") or {}).get("nbgrader") or {}).get("grade_id")
        if grade_id:
            anchors.add(str(grade_id))
        if cell.get("cell_type") == "markdown":
            src = cell.get("source", "")
            src = "".join(src) if isinstance(src, list) else str(src)
            in_fence = False
            for line in src.splitlines():
                if line.lstrip().startswith(("```", "~~~")):
                    in_fence = not in_fence
                    continue
                m = _HEADING_RE.match(line)
                if m and not in_fence:
                    anchors.add(heading_slug(m.group(1)))
                anchors.update(_ANCHOR_RE.findall(line))
    return anchors


def chapter_anchors(solutions_dir: Path, chapter: str) -> set[str] | None:
    """All anchors of ``solutions/<chapter>/*.ipynb``, or None if the chapter has no notebooks."""
    folder = Path(solutions_dir) / chapter
    notebooks = sorted(folder.glob("*.ipynb")) if folder.is_dir() else []
    notebooks = [p for p in notebooks if ".ipynb_checkpoints" not in p.parts]
    if not notebooks:
        return None
    anchors: set[str] = set()
    for nb in notebooks:
        anchors |= notebook_anchors(nb)
    return anchors


def check_links(items: Iterable[Item], solutions_dir: Path | None) -> tuple[list[str], list[str]]:
    """(errors, pending): unresolved links into written chapters; links into unwritten ones."""
    errors, pending = [], []
    cache: dict[str, set[str] | None] = {}
    for it in items:
        for link in it.links:
            ch, _, anchor = link.partition("#")
            if ch not in cache:
                cache[ch] = chapter_anchors(solutions_dir, ch) if solutions_dir else None
            anchors = cache[ch]
            if anchors is None:
                pending.append(f"{it.file}: item {it.id!r}: {link} (chapter {ch} has no notebooks yet)")
            elif anchor not in anchors:
                close = sorted(a for a in anchors if anchor.split("_")[0] in a)[:6]
                errors.append(f"{it.file}: item {it.id!r} (#{it.index}): link {link!r} does not resolve to a "
                              f"grade_id or heading in solutions/{ch}/*.ipynb"
                              + (f" (similar: {', '.join(close)})" if close else ""))
    return errors, pending


# --------------------------------------------------------------------------- the bank
def load_bank(questions_dir: Path | str | None = None, solutions_dir: Path | str | None = None,
              files: Iterable[Path] | None = None, check_notebooks: bool = True) -> Bank:
    """Load and validate every ``*.yaml`` of ``questions_dir`` (default: the course's).

    Returns a :class:`Bank` whose ``errors`` lists every problem (empty when the bank is
    valid) and whose ``items`` holds the items that parsed. ``solutions_dir`` (default: the
    course's ``solutions/``) is where links are resolved.
    """
    if questions_dir is None or (solutions_dir is None and check_notebooks):
        root = default_root()
        questions_dir = Path(questions_dir) if questions_dir is not None else root / "questions"
        if solutions_dir is None and check_notebooks:
            solutions_dir = root / "solutions"
    questions_dir = Path(questions_dir)
    paths = list(files) if files is not None else bank_files(questions_dir)
    errors: list[str] = []
    items: list[Item] = []
    chapter_files: dict[str, Path] = {}
    ids: list[tuple[str, str, int]] = []
    for path in paths:
        path = Path(path)
        label = _label(path, questions_dir)
        chapter, its = parse_file(path, errors, label, ids)
        if chapter:
            if chapter in chapter_files:
                errors.append(f"{label}: chapter {chapter} is already defined in {chapter_files[chapter].name}")
            chapter_files.setdefault(chapter, path)
        items.extend(its)
    # unique ids across the bank
    first: dict[str, tuple[str, int]] = {}
    for item_id, file, idx in ids:
        if item_id in first:
            f0, i0 = first[item_id]
            errors.append(f"{file}: item {item_id!r} (#{idx}): duplicate id (first defined in {f0}, item #{i0})")
        else:
            first[item_id] = (file, idx)
    link_errors, pending = check_links(items, Path(solutions_dir) if (check_notebooks and solutions_dir) else None)
    errors.extend(link_errors)
    order = {ch: i for i, ch in enumerate(CHAPTERS)}
    items.sort(key=lambda it: (order.get(it.chapter, 99), it.index))
    # one Chinese term per concept (questions/glossary.yaml), and no near-duplicate items
    from .glossary import GLOSSARY_FILE, check_items, load_glossary
    from .similarity import duplicate_errors

    terms, glossary_errors = load_glossary(questions_dir / GLOSSARY_FILE)
    errors.extend(glossary_errors)
    errors.extend(check_items(items, terms))
    errors.extend(duplicate_errors(items))
    return Bank(items=items, files=chapter_files, errors=errors, pending=pending)


def _label(path: Path, questions_dir: Path) -> str:
    try:
        return str(Path("questions") / path.resolve().relative_to(questions_dir.resolve()))
    except ValueError:
        return str(path)


def validate_bank(questions_dir: Path | str | None = None, solutions_dir: Path | str | None = None) -> Bank:
    """Like :func:`load_bank` but raises :class:`BankError` (one line per problem) if invalid."""
    bank = load_bank(questions_dir, solutions_dir)
    if bank.errors:
        raise BankError(bank.errors)
    return bank


# --------------------------------------------------------------------------- coverage
@dataclass
class Coverage:
    seeds: dict[str, list[str]]  # seed id -> item ids citing it (every canonical id)
    uncovered: dict[str, list[str]]  # chapter -> its assigned seeds no item cites
    errata: dict[str, list[str]]  # erratum key -> errata item ids covering it
    errata_problems: list[str]  # errata not covered (or named items missing)
    uncited: list[str] = field(default_factory=list)  # seeds cited by no item, not assigned, not out of scope

    @property
    def ok(self) -> bool:
        return not any(self.uncovered.values()) and not self.errata_problems and not self.uncited


def coverage(bank: Bank, chapters: Iterable[str] | None = None) -> Coverage:
    """Seed and errata coverage of ``bank``, judged for ``chapters`` (default: all 11).

    A seed is covered when any item of the bank cites it; an erratum when an item of kind
    ``errata`` cites one of its seeds (and, where the erratum names items, each named item is
    such an item).
    """
    chapters = list(CHAPTERS) if chapters is None else list(chapters)
    cited: dict[str, list[str]] = defaultdict(list)
    for it in bank.items:
        for s in it.seeds:
            cited[s].append(it.id)
    from .seeds import SEEDS

    seeds = {s: cited.get(s, []) for s in SEEDS}
    uncovered = {ch: [s for s in CHAPTER_SEEDS[ch] if not cited.get(s)] for ch in chapters}
    by_id = bank.by_id()
    errata: dict[str, list[str]] = {}
    problems: list[str] = []
    for e in ERRATA:
        covering = [it.id for it in bank.items if it.kind == "errata" and set(it.seeds) & set(e.seeds)]
        errata[e.key] = covering
        if e.chapter not in chapters:
            continue
        if e.items:
            for iid in e.items:
                it = by_id.get(iid)
                if it is None:
                    problems.append(f"erratum {e.key} ({', '.join(e.seeds)}): item {iid!r} is missing")
                elif it.kind != "errata" or not set(it.seeds) & set(e.seeds):
                    problems.append(f"erratum {e.key}: item {iid!r} must be kind: errata and cite "
                                    f"{' or '.join(e.seeds)}")
        elif not covering:
            problems.append(f"erratum {e.key} ({', '.join(e.seeds)}, {e.chapter}): no errata item cites it")
    # a seed section assigned to no chapter must be cited somewhere or recorded as out of scope
    # (judged only for the whole bank: such a seed belongs to no chapter)
    from .seeds import OUT_OF_SCOPE

    assigned = {s for ids in CHAPTER_SEEDS.values() for s in ids}
    uncited = ([s for s in SEEDS if not cited.get(s) and s not in assigned and s not in OUT_OF_SCOPE]
               if set(chapters) == set(CHAPTERS) else [])
    return Coverage(seeds=seeds, uncovered=uncovered, errata=errata, errata_problems=problems, uncited=uncited)

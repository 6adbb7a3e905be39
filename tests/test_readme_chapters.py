"""The README's chapter table says ready exactly for the chapters that exist (authoring/NN_topic/
with its built notebooks in solutions/ and chapters/), and lists every chapter once."""
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_readme_chapter_table_matches_the_chapters():
    rows = re.findall(r"^\| `(\d\d_[a-z_]+)` \| [^|]+ \| (\*\*ready\*\*|planned) \|$", (ROOT / "README.md").read_text(), re.M)
    table = dict(rows)
    assert len(rows) == len(table) == 11, rows
    built = {p.name for p in (ROOT / "authoring").glob("[0-9][0-9]_*") if p.is_dir()}
    assert {name for name, status in table.items() if status == "**ready**"} == built
    for name in built:
        topic = name[3:]
        for folder in ("solutions", "chapters"):
            for fw in ("pytorch", "tensorflow"):
                assert (ROOT / folder / name / f"{topic}_{fw}.ipynb").is_file(), (folder, name, fw)

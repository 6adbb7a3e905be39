"""Drill progress in SQLite: one row per card (SM-2 state, due time) and a review log.

The default database is ``platformdirs.user_data_path("genlab") / "drill.sqlite3"``;
``genlab drill --db PATH`` overrides it. Times are Unix seconds (float, UTC).
"""
from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path

from .sm2 import CardState, DAY, INITIAL_EASE

SCHEMA = """
CREATE TABLE IF NOT EXISTS cards (
    item_id      TEXT PRIMARY KEY,
    chapter      TEXT NOT NULL,
    reps         INTEGER NOT NULL,
    ease         REAL NOT NULL,
    interval     INTEGER NOT NULL,
    due          REAL NOT NULL,
    last_review  REAL NOT NULL,
    lapses       INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS reviews (
    id        INTEGER PRIMARY KEY AUTOINCREMENT,
    item_id   TEXT NOT NULL,
    chapter   TEXT NOT NULL,
    ts        REAL NOT NULL,
    grade     TEXT NOT NULL,
    quality   INTEGER NOT NULL,
    interval  INTEGER NOT NULL,
    ease      REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS reviews_ts ON reviews (ts);
"""


def default_db_path() -> Path:
    import platformdirs

    return Path(platformdirs.user_data_path("genlab")) / "drill.sqlite3"


@dataclass(frozen=True)
class Card:
    item_id: str
    chapter: str
    state: CardState
    due: float
    last_review: float
    lapses: int


class Store:
    """A drill database; use as a context manager or call :meth:`close`."""

    def __init__(self, path: Path | str):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.conn = sqlite3.connect(str(self.path))
        self.conn.executescript(SCHEMA)
        self.conn.commit()

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        self.conn.close()

    def cards(self) -> dict[str, Card]:
        rows = self.conn.execute(
            "SELECT item_id, chapter, reps, ease, interval, due, last_review, lapses FROM cards")
        return {r[0]: Card(r[0], r[1], CardState(r[2], r[3], r[4]), r[5], r[6], r[7]) for r in rows}

    def card(self, item_id: str) -> Card | None:
        return self.cards().get(item_id)

    def record(self, item_id: str, chapter: str, grade: str, quality: int, new: CardState, now: float) -> Card:
        """Store a review and the card's new SM-2 state (due ``new.interval`` days after ``now``)."""
        old = self.card(item_id)
        lapses = (old.lapses if old else 0) + (1 if quality < 3 else 0)
        due = now + new.interval * DAY
        with self.conn:
            self.conn.execute(
                "INSERT INTO cards (item_id, chapter, reps, ease, interval, due, last_review, lapses) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(item_id) DO UPDATE SET chapter=excluded.chapter, "
                "reps=excluded.reps, ease=excluded.ease, interval=excluded.interval, due=excluded.due, "
                "last_review=excluded.last_review, lapses=excluded.lapses",
                (item_id, chapter, new.reps, new.ease, new.interval, due, now, lapses))
            self.conn.execute(
                "INSERT INTO reviews (item_id, chapter, ts, grade, quality, interval, ease) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (item_id, chapter, now, grade, quality, new.interval, new.ease))
        return Card(item_id, chapter, new, due, now, lapses)

    def reviews_since(self, since: float) -> list[tuple[str, str, float, int]]:
        """(item_id, chapter, ts, quality) of the reviews at or after ``since``."""
        return list(self.conn.execute(
            "SELECT item_id, chapter, ts, quality FROM reviews WHERE ts >= ? ORDER BY ts", (since,)))


def initial_state() -> CardState:
    return CardState(reps=0, ease=INITIAL_EASE, interval=0)

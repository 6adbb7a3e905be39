"""The SM-2 spaced-repetition scheduler used by ``genlab drill``.

Source: P. A. Woźniak, *Optimization of learning* (1990), "Application of a computer to
improve the results obtained in working with the SuperMemo method", algorithm SM-2
(https://super-memory.com/english/ol/sm2.htm); the step order follows the widely used
pseudo-code in the Wikipedia article "SuperMemo" (section "Description of SM-2 algorithm").

State of a card: repetition number ``n`` (successful reviews in a row), easiness factor
``EF`` (starts at 2.5) and interval ``I`` in days. After a review graded ``q`` in 0..5::

    if q >= 3:                       # correct response
        if n == 0:   I = 1
        elif n == 1: I = 6
        else:        I = round(I * EF)          # the EF *before* this review's update
        n = n + 1
    else:                            # lapse: start the repetitions again
        n = 0
        I = 1
    EF = EF + (0.1 - (5 - q) * (0.08 + (5 - q) * 0.02))
    EF = max(EF, 1.3)                # the ease floor
    next review = time of this review + I days

The EF change per grade is q=5: +0.10, q=4: 0, q=3: -0.14, q=2: -0.32, q=1: -0.54,
q=0: -0.80. ``round`` is round-half-up (``floor(x + 0.5)``), and EF is kept rounded to
4 decimals so that float noise never moves an interval (every EF change is a multiple of
0.02, so this loses nothing).

The drill's four self-grades map onto SM-2 qualities as follows::

    1 again -> q = 1  ("incorrect response; the correct one remembered" once shown)
    2 hard  -> q = 3  ("correct response recalled with serious difficulty")
    3 good  -> q = 4  ("correct response after a hesitation")
    4 easy  -> q = 5  ("perfect response")

Not implemented: SM-2's optional step 7 (re-drilling, on the same day, every item graded
below 4 until it scores at least 4); a lapsed card simply becomes due again the next day.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

INITIAL_EASE = 2.5
MIN_EASE = 1.3
DAY = 86400.0

#: self-grade name -> SM-2 quality
GRADES: dict[str, int] = {"again": 1, "hard": 3, "good": 4, "easy": 5}
#: key the user presses -> self-grade name
GRADE_KEYS: dict[str, str] = {"1": "again", "2": "hard", "3": "good", "4": "easy"}


@dataclass(frozen=True)
class CardState:
    reps: int = 0  # n: successful reviews in a row
    ease: float = INITIAL_EASE  # EF
    interval: int = 0  # I in days (0: never reviewed)


def round_half_up(x: float) -> int:
    return int(math.floor(x + 0.5))


def ease_delta(q: int) -> float:
    """SM-2's change of EF for quality ``q``."""
    return 0.1 - (5 - q) * (0.08 + (5 - q) * 0.02)


def review(state: CardState, q: int) -> CardState:
    """The card's state after a review of quality ``q`` (0..5), by the SM-2 rule above."""
    if not isinstance(q, int) or not 0 <= q <= 5:
        raise ValueError(f"SM-2 quality must be an int in 0..5, got {q!r}")
    if q >= 3:
        if state.reps == 0:
            interval = 1
        elif state.reps == 1:
            interval = 6
        else:
            interval = round_half_up(state.interval * state.ease)
        reps = state.reps + 1
    else:
        reps, interval = 0, 1
    ease = max(MIN_EASE, round(state.ease + ease_delta(q), 4))
    return CardState(reps=reps, ease=ease, interval=interval)


def quality(grade: str) -> int:
    """The SM-2 quality of a self-grade name (``again``/``hard``/``good``/``easy``)."""
    try:
        return GRADES[grade]
    except KeyError:
        raise ValueError(f"unknown grade {grade!r} (one of {', '.join(GRADES)})") from None

"""One call to record a chapter's figure: ``genlab.report("vae/test_nll_nats", 15.8)``.

The value is printed for the reader. When ``GENLAB_REPORT`` names a file (``make bench``
sets it), a JSON line ``{"key", "value", "unit", "quick"}`` is appended to it, so every
chapter's numbers land in the same table.
"""
from __future__ import annotations

import json
import math
import os
import re

from genlab.config import is_quick

_KEY = re.compile(r"^[a-z0-9_]+(/[a-z0-9_.@-]+)+$")


def report(key: str, value, unit: str | None = None) -> float:
    """Print and record one figure; returns it as a float.

    ``key`` is ``chapter/name`` in lower case (``vae/iwae_nll_nats``). ``value`` must be a
    finite real number (NumPy, torch and TF scalars are accepted).
    """
    if not isinstance(key, str) or not _KEY.match(key):
        raise ValueError(f"report key must look like 'chapter/name', got {key!r}")
    try:
        number = float(value)
    except (TypeError, ValueError) as err:
        raise TypeError(f"report value for {key!r} must be a real number, got {value!r}") from err
    if not math.isfinite(number):
        raise ValueError(f"report value for {key!r} is not finite: {number}")
    suffix = f" {unit}" if unit else ""
    print(f"[report] {key} = {number:.6g}{suffix}")
    path = os.environ.get("GENLAB_REPORT")
    if path:
        with open(path, "a", encoding="utf-8") as fh:
            fh.write(json.dumps({"key": key, "value": number, "unit": unit, "quick": is_quick()}) + "\n")
    return number

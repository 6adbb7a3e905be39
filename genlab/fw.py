"""``genlab.fw``: how chapter sources (``authoring/``) name ``genlab.torch`` / ``genlab.tf``, for editors only.

``genlab release`` rewrites every ``genlab.fw`` in a code cell to ``genlab.torch`` or ``genlab.tf``, so no
notebook imports this module. Type checkers and editors read the PyTorch twin's names through it (the two
twins have the same names and signatures: tests/test_twins.py); importing it at run time is an error.
"""
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from genlab.torch import *  # noqa: F403
else:
    raise ImportError("genlab.fw is a placeholder for chapter sources: `genlab release` turns it into "
                      "genlab.torch or genlab.tf; import one of those")

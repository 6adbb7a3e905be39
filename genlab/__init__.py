"""GenAI Interview Lab: plumbing shared by the notebooks, the grader and the tests.

Importing ``genlab`` imports neither PyTorch nor TensorFlow; framework helpers live in
``genlab.torch`` and ``genlab.tf`` (same names and signatures in both).
"""
from genlab.config import QUICK, is_quick, pick, seed_everything
from genlab.report import report

__all__ = ["QUICK", "is_quick", "pick", "seed_everything", "report"]
__version__ = "0.1.0"

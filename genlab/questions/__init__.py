"""The bilingual (中文 / English) interview bank: schema, loader, validator, drills, export.

* :mod:`genlab.questions.bank`: load ``questions/*.yaml`` and validate them
  (:func:`load_bank`, :func:`validate_bank`, :func:`coverage`);
* :mod:`genlab.questions.seeds`: canonical seed ids, the seed map and the seed errata;
* :mod:`genlab.questions.sm2`: the SM-2 scheduler; :mod:`genlab.questions.store`: SQLite;
* :mod:`genlab.questions.drill`: ``genlab drill``; :mod:`genlab.questions.cli`:
  ``genlab questions``; :mod:`genlab.questions.export`: Markdown / HTML export;
* :mod:`genlab.questions.glossary`: one Chinese term per concept (``questions/glossary.yaml``);
  :mod:`genlab.questions.similarity`: near-duplicate items; :mod:`genlab.questions.render`:
  Markdown and LaTeX for the terminal.

See ``questions/README.md`` for the file format and how to add an item.
"""
from .bank import Bank, BankError, Item, Text, coverage, load_bank, validate_bank
from .seeds import CHAPTER_SEEDS, CHAPTERS, ERRATA, SEEDS

__all__ = ["Bank", "BankError", "Item", "Text", "coverage", "load_bank", "validate_bank",
           "CHAPTER_SEEDS", "CHAPTERS", "ERRATA", "SEEDS"]

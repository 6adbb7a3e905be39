"""Adversarial corpus, part 2 of 3 (adv_corpus.CASES[1::3]); see adv_corpus.py and adv_harness.corpus_part."""
from adv_harness import corpus_part

outcomes, test_case = corpus_part(1)

"""Adversarial corpus, part 3 of 3 (adv_corpus.CASES[2::3]); see adv_corpus.py and adv_harness.corpus_part."""
from adv_harness import corpus_part

outcomes, test_case = corpus_part(2)

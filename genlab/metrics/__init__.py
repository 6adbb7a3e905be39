"""Generative-model metrics built from scratch (NumPy, float64), proven against reference implementations.

Importing this package imports neither PyTorch nor TensorFlow; only :func:`digits_features` and
:func:`digits_probs` load a framework (the one already imported, else PyTorch), lazily.

Sample quality from features (use the same extractor and sample sizes for every number you compare):

- :func:`frechet_distance`, :func:`frechet_distance_from_stats`  FID-style Frechet distance
- :func:`kid`                                   KID: unbiased polynomial-kernel MMD^2 over subsets
- :func:`inception_score`                       Inception-style score from class probabilities
- :func:`precision_recall`                      k-NN manifold precision / recall (Kynkaanniemi et al.)
- :func:`density_coverage`                      density / coverage (Naeem et al.)
- :func:`digits_features`, :func:`digits_probs` the shipped digits classifier (features / p(y|x))

Reconstructions and other modalities:

- :func:`psnr`, :func:`ssim`                    images
- :func:`perplexity`, :func:`bits_per_character`, :func:`corpus_bleu`   text
- :func:`si_sdr`                                audio

Every function validates its input and raises ``ValueError`` for mismatched shapes, too few
samples, NaN or infinite values instead of returning NaN. Tests: ``tests/test_metrics.py``
(closed forms, errors) and ``tests/test_metrics_references.py`` (scipy, scikit-image, torchmetrics,
sacrebleu).
"""
from genlab.metrics.audio import si_sdr
from genlab.metrics.digits import digits_features, digits_probs
from genlab.metrics.frechet import feature_stats, frechet_distance, frechet_distance_from_stats
from genlab.metrics.image import psnr, ssim
from genlab.metrics.kid import kid, mmd2_unbiased
from genlab.metrics.manifold import density_coverage, precision_recall
from genlab.metrics.scores import inception_score
from genlab.metrics.text import bits_per_character, corpus_bleu, perplexity

__all__ = [
    "frechet_distance", "frechet_distance_from_stats", "feature_stats", "kid", "mmd2_unbiased",
    "inception_score", "precision_recall", "density_coverage", "psnr", "ssim", "perplexity",
    "bits_per_character", "corpus_bleu", "si_sdr", "digits_features", "digits_probs",
]

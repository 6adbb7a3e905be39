"""The canonical seed ids, which chapter must answer each one, and the seed errata.

Everything here is derived from ``SEED_MAP.md`` (the seed map that the course was planned
from). The five seed documents are Chinese interview Q&A collections; the interview bank
cites the seed questions it covers so that coverage can be checked mechanically.

Seed id convention
------------------
``S<file>-<part>`` where ``<file>`` is the first three digits of the seed file name
(``000`` ... ``004``) and ``<part>`` is:

* ``Q<n>``: the n-th interview question of the file, counted in the order the questions
  appear (``S001-Q14``). Seed 000 repeats its first 11 questions three times; only
  ``S000-Q1`` ... ``S000-Q11`` exist.
* ``P<n>``: the n-th *programming* task of a file that separates them from its questions
  (``S002-P1`` GAN, ``S002-P2`` VAE; ``S003-P1`` super-resolution GAN, ``S003-P2`` VAE
  denoising, ``S003-P3`` GPT-2 text generation).
* ``C<n>``: the n-th case study of seed 003's section 4 ("应用案例"): ``S003-C1`` DALL-E 2,
  ``S003-C2`` Stable Diffusion, ``S003-C3`` ChatGLM, ``S003-C4`` StyleGAN3.
* Seed 004 is a book and is cited by section number as the book numbers it:
  ``S004-1.1`` ... ``S004-1.4`` (chapter 1), ``S004-2.1`` ... ``S004-2.6``,
  ``S004-3.1`` ... ``S004-3.5``; the later chapters are cited whole as ``S004-ch4`` ...
  ``S004-ch8``; the appendices as ``S004-A.1`` ... ``S004-A.3``, ``S004-B.1`` ...
  ``S004-B.4``, ``S004-C.1`` ... ``S004-C.4``.

``SEEDS`` is the set of valid ids; ``CHAPTER_SEEDS`` lists, per chapter, the ids the seed
map says that chapter must answer (a seed can be assigned to more than one chapter). A few
valid ids (``S004-3.4``, ``S004-3.5`` and the appendices) are assigned to no chapter: they
may be cited but need not be covered.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

#: The eleven chapters, in course order, with their Chinese and English titles.
CHAPTERS: dict[str, tuple[str, str]] = {
    "01_foundations": ("生成模型基础", "Foundations of generative models"),
    "02_vae": ("变分自编码器（VAE）", "Variational autoencoders (VAE)"),
    "03_gan": ("生成对抗网络（GAN）", "Generative adversarial networks (GAN)"),
    "04_diffusion": ("扩散模型", "Diffusion models"),
    "05_text": ("文本生成", "Text generation"),
    "06_audio": ("音频生成", "Audio generation"),
    "07_video": ("视频生成", "Video generation"),
    "08_privacy": ("隐私、安全与责任", "Privacy, security and responsibility"),
    "09_evaluation": ("评估与优化", "Evaluation and optimisation"),
    "10_data_training": ("数据与训练", "Data and training"),
    "11_applications": ("行业应用与趋势", "Applications and trends"),
}

#: Item id prefixes accepted per chapter (``<prefix>-...``): the chapter's topic and the
#: obvious short forms of it.
ID_PREFIXES: dict[str, tuple[str, ...]] = {
    "01_foundations": ("foundations", "found", "basics"),
    "02_vae": ("vae",),
    "03_gan": ("gan",),
    "04_diffusion": ("diffusion", "diff"),
    "05_text": ("text", "nlp", "llm"),
    "06_audio": ("audio", "speech", "music"),
    "07_video": ("video",),
    "08_privacy": ("privacy", "security", "ethics"),
    "09_evaluation": ("evaluation", "eval", "metrics"),
    "10_data_training": ("data-training", "data", "training", "train"),
    "11_applications": ("applications", "application", "apps", "app"),
}


def _q(file: str, *numbers: int) -> list[str]:
    return [f"S{file}-Q{n}" for n in numbers]


def _r(first: int, last: int) -> range:
    return range(first, last + 1)


#: Every valid seed id, in a stable order.
SEEDS: tuple[str, ...] = tuple(
    _q("000", *_r(1, 11))
    + _q("001", *_r(1, 30))
    + _q("002", *_r(1, 10)) + ["S002-P1", "S002-P2"]
    + _q("003", *_r(1, 9)) + ["S003-P1", "S003-P2", "S003-P3"]
    + ["S003-C1", "S003-C2", "S003-C3", "S003-C4"]
    + [f"S004-1.{i}" for i in _r(1, 4)]
    + [f"S004-2.{i}" for i in _r(1, 6)]
    + [f"S004-3.{i}" for i in _r(1, 5)]
    + [f"S004-ch{i}" for i in _r(4, 8)]
    + [f"S004-A.{i}" for i in _r(1, 3)]
    + [f"S004-B.{i}" for i in _r(1, 4)]
    + [f"S004-C.{i}" for i in _r(1, 4)]
)
SEED_SET = frozenset(SEEDS)

#: Short descriptions (English) of what each seed id asks, for the coverage table.
SEED_TOPICS: dict[str, str] = {
    "S000-Q1": "ML algorithms in generative AI (GAN, VAE, RNN/LSTM, self-attention)",
    "S000-Q2": "NLP applications", "S000-Q3": "computer-vision applications",
    "S000-Q4": "audio applications", "S000-Q5": "video applications",
    "S000-Q6": "data processing and feature extraction", "S000-Q7": "training and optimisation",
    "S000-Q8": "evaluation and optimisation", "S000-Q9": "privacy and security",
    "S000-Q10": "business challenges and opportunities", "S000-Q11": "future trends",
    "S001-Q1": "evaluating GANs/VAEs", "S001-Q14": "image-generation applications",
    "S001-Q28": "computer-vision applications", "S002-Q1": "what is generative AI",
    "S002-Q3": "core techniques", "S002-Q4": "generative AI vs reinforcement learning",
    "S002-Q7": "generation diversity", "S002-P1": "implement a GAN", "S002-P2": "implement a VAE",
    "S003-Q1": "generative vs traditional AI", "S003-Q2": "generative models you know",
    "S003-Q5": "image-processing applications", "S003-P1": "GAN image super-resolution",
    "S003-P2": "VAE image denoising", "S003-P3": "GPT-2 text generation",
    "S003-C1": "case: DALL-E 2", "S003-C2": "case: Stable Diffusion", "S003-C3": "case: ChatGLM",
    "S003-C4": "case: StyleGAN3",
    "S004-1.1": "definition, generative vs discriminative", "S004-1.2": "history and key techniques",
    "S004-1.3": "application scenarios", "S004-1.4": "challenges and outlook",
    "S004-2.1": "probability distributions, maximum likelihood", "S004-2.2": "VAE",
    "S004-2.3": "GAN, cGAN, DCGAN, PGGAN", "S004-2.4": "model selection, hyper-parameters",
    "S004-2.5": "implementation and tuning", "S004-2.6": "evaluation metrics",
    "S004-3.1": "image generation and super-resolution", "S004-3.2": "style transfer, art",
    "S004-3.3": "inpainting and denoising", "S004-3.4": "image generation/enhancement in practice",
    "S004-3.5": "image generation trends", "S004-ch4": "NLP chapter", "S004-ch5": "audio chapter",
    "S004-ch6": "projects", "S004-ch7": "industry, medicine, education", "S004-ch8": "ethics",
    "S004-A.1": "deep-learning frameworks", "S004-A.2": "generative-AI tools and libraries",
    "S004-A.3": "development environment (CUDA, Docker, cloud)", "S004-B.1": "project: image GAN",
    "S004-B.2": "project: news-article generation", "S004-B.3": "project: music GAN",
    "S004-B.4": "project: video GAN", "S004-C.1": "FAQ: training problems", "S004-C.2": "FAQ: optimisation, tuning",
    "S004-C.3": "FAQ: deployment, compression", "S004-C.4": "FAQ: case notes",
}

#: Seed sections that no item needs to cite, with the reason. ``--coverage`` fails when a seed
#: section assigned to no chapter is cited by no item and is not listed here.
OUT_OF_SCOPE: dict[str, str] = {
    "S004-A.1": "a list of frameworks (TensorFlow, PyTorch, Keras) with one-line descriptions; nothing to ask "
                "beyond what every chapter's code already uses",
    "S004-A.3": "environment set-up (CUDA/cuDNN, Docker, cloud scheduling): course set-up material "
                "(README, environment.yml), not an interview topic of this bank",
    "S004-C.4": "three generic case notes ('use a GAN super-resolution model', 'use a Transformer', 'tune the "
                "learning rate'); the methods are asked properly by gan-srgan, the 05_text items and "
                "data-hyperparameter-search",
}

#: What the seed map says each chapter must answer.
CHAPTER_SEEDS: dict[str, tuple[str, ...]] = {
    "01_foundations": (
        "S000-Q1", "S002-Q1", "S002-Q3", "S002-Q4", "S003-Q1", "S003-Q2",
        "S004-1.1", "S004-1.2", "S004-1.3", "S004-1.4", "S004-2.1",
    ),
    "02_vae": ("S002-P2", "S003-P2", "S004-2.2", "S004-3.3"),
    "03_gan": (
        "S002-P1", "S003-P1", "S000-Q3", "S001-Q14", "S001-Q28", "S003-Q5",
        "S004-2.3", "S004-3.1", "S004-3.2", "S002-Q7",
    ),
    "04_diffusion": ("S003-C1", "S003-C2"),
    "05_text": ("S000-Q2", "S001-Q8", "S001-Q25", "S003-Q4", "S003-P3", "S004-ch4"),
    "06_audio": ("S000-Q4", "S001-Q15", "S003-Q6", "S001-Q24", "S004-ch5"),
    "07_video": ("S000-Q5", "S001-Q16"),
    "08_privacy": ("S000-Q9", "S004-ch8"),
    "09_evaluation": ("S000-Q8", "S001-Q1", "S002-Q5", "S001-Q13", "S004-2.6", "S004-3.1"),
    "10_data_training": (
        "S000-Q6", "S000-Q7", *_q("001", 2, 3, 4, 5, 6, 7, 9, 10, 11, 12), "S001-Q18",
        "S004-2.4", "S004-2.5",
    ),
    "11_applications": (
        "S000-Q10", "S000-Q11", *_q("001", 17, 19, 20, 21, 22, 23, 26, 27, 29, 30),
        *_q("002", 2, 6, 8, 9, 10), *_q("003", 3, 7, 8, 9),
        "S003-C1", "S003-C2", "S003-C3", "S003-C4", "S004-ch6", "S004-ch7", "S004-ch8",
    ),
}


@dataclass(frozen=True)
class Erratum:
    """A real mistake in a seed that the bank must teach as a ``kind: errata`` item.

    It is covered by an item of kind ``errata`` whose ``seeds`` cite at least one of
    ``seeds``. When ``items`` is not empty, each of those item ids must exist and be such an
    item (the errata of chapters 01-04 name their items; the other chapters' helpers may
    name theirs, otherwise any matching errata item covers the erratum).
    """

    key: str
    chapter: str
    seeds: tuple[str, ...]
    summary: str
    items: tuple[str, ...] = ()


#: The "Seed errata" section of the seed map, one entry per mistake.
ERRATA: tuple[Erratum, ...] = (
    Erratum("s000-q8-gan-code", "03_gan", ("S000-Q8",),
            "GAN code labels real samples 0, feeds data instead of noise to the generator, and "
            "gives the discriminator an input width the generator never produces",
            ("gan-errata-s000-q8-training-code",)),
    Erratum("s000-generator-of-image", "03_gan", ("S000-Q1", "S000-Q3", "S000-Q4", "S000-Q5"),
            "GAN loops call generator(image): a generator maps noise (or a condition) to data",
            ("gan-errata-generator-of-image",)),
    Erratum("s000-q9-dp", "08_privacy", ("S000-Q9",),
            "'differential privacy' code only shrinks a number each epoch: no clipping, no "
            "noise, no accountant"),
    Erratum("s001-q1-q13-metrics", "09_evaluation", ("S001-Q1", "S001-Q13"),
            "imports non-existent keras_contrib FID/IS metrics; IS/FID are not training losses"),
    Erratum("s002-p1-gan", "03_gan", ("S002-P1",),
            "label shape (B, 1) against outputs (B,); fake images not detached for the D step",
            ("gan-errata-s002-p1",)),
    Erratum("s002-p2-vae", "02_vae", ("S002-P2",),
            "loss computed outside the gradient tape, sigmoid output called logits, one image per "
            "step, 1000 images on a 10x10 grid",
            ("vae-errata-s002-p2",)),
    Erratum("s003-p1-srgan", "03_gan", ("S003-P1",),
            "SR generator gets noise instead of the LR image, keras.preprocessing.image.resize "
            "does not exist, discriminator built for 32x32 fed 64x64",
            ("gan-errata-s003-p1-super-resolution",)),
    Erratum("s003-p2-vae-denoising", "02_vae", ("S003-P2",),
            "'VAE' without sampling or KL (a plain autoencoder); decoder outputs 56x56 for 28x28",
            ("vae-errata-s003-p2-denoising",)),
    Erratum("s004-2.3-metric-names", "03_gan", ("S004-2.3",),
            "Inception Score called '反事实损失', FID called '弗雷歇辛普森距离'",
            ("gan-errata-s004-metric-names",)),
    Erratum("s004-2.3-pggan", "03_gan", ("S004-2.3",),
            "PGGAN is Progressive Growing of GANs, not a 'per-pixel loss GAN'",
            ("gan-errata-s004-pggan",)),
    Erratum("s004-3.1-espcn", "03_gan", ("S004-3.1",),
            "ESPCN is the efficient sub-pixel convolution network, not a ResNet",
            ("gan-errata-s004-espcn",)),
    Erratum("s004-audio-models", "06_audio", ("S004-ch5", "S004-A.2"),
            "WaveNet is a dilated causal CNN; MusicGen/AudioGen are autoregressive transformers "
            "over codec tokens; the 'Tacotron 2' code is an unrelated CNN"),
    Erratum("s003-dalle2", "04_diffusion", ("S003-C1",),
            "DALL-E 2 is not based on GPT-2 (CLIP embeddings + diffusion prior + diffusion decoder)",
            ("diffusion-errata-dalle2-not-gpt2",)),
    Erratum("s001-q16-q17-audio-input", "07_video", ("S001-Q16", "S001-Q17"),
            "video and medical 'models' built on an audio_input tensor that does not exist"),
    Erratum("s004-a2-gan-lab", "03_gan", ("S004-A.2",),
            "GAN Lab is an interactive in-browser visualisation (TensorFlow.js), not a PyTorch toolkit",
            ("gan-errata-gan-lab",)),
    Erratum("s004-ch5-invented-models", "06_audio", ("S004-ch5",),
            "invented model names (Wav2LSTM, EDSpeech, SonicAI, a GAN-based 'WaveNet Voice Cloning'); "
            "'Multi-band WaveGAN' conflates WaveGAN with Multi-band MelGAN",
            ("audio-errata-invented-model-names",)),
    Erratum("s004-3.3-invented-methods", "02_vae", ("S004-3.3",),
            "'DCGAN-based Denoising' and 'SRGAN-based Denoising' are not established methods",
            ("vae-errata-s004-denoising-method-names",)),
    Erratum("s000-dlsr", "03_gan", ("S000-Q3", "S000-Q5"),
            "'DLSR (deep-learning super-resolution) model' is not a model; name SRCNN, EDSR, ESRGAN, ...",
            ("gan-errata-dlsr",)),
    Erratum("s003-q2-gan-code", "01_foundations", ("S003-Q2",),
            "S003-Q2's GAN code: syntax error, nothing compiled, the generator trained on labels, "
            "undefined names, one fixed real batch",
            ("foundations-errata-s003-q2-gan-code",)),
)

_SEED_RE = re.compile(r"^S(00[0-4])-(Q\d+|P\d+|C\d+|\d\.\d|ch\d|[ABC]\.\d)$")


def is_seed_id(text: str) -> bool:
    """True when ``text`` is one of the canonical seed ids."""
    return text in SEED_SET


def suggest_seed_id(text: str) -> str | None:
    """A likely intended id for a malformed one (``S4-2.3`` -> ``S004-2.3``), or None."""
    t = str(text).strip()
    m = re.match(r"^S0*(\d)[-_ ]?(.*)$", t, flags=re.IGNORECASE)
    if not m:
        return None
    rest = m.group(2).strip()
    rest = re.sub(r"^(q|p|c)(\d+)$", lambda g: g.group(1).upper() + g.group(2), rest, flags=re.I)
    rest = re.sub(r"^ch\.?\s*(\d)$", r"ch\1", rest, flags=re.I)
    cand = f"S00{m.group(1)}-{rest}"
    return cand if cand in SEED_SET else None


def chapter_of_seed(seed: str) -> list[str]:
    """The chapters the seed map assigns ``seed`` to (possibly none)."""
    return [ch for ch, ids in CHAPTER_SEEDS.items() if seed in ids]


def _self_check() -> None:
    for ch, ids in CHAPTER_SEEDS.items():
        assert ch in CHAPTERS, ch
        for s in ids:
            assert s in SEED_SET, (ch, s)
    for e in ERRATA:
        assert e.chapter in CHAPTERS, e
        for s in e.seeds:
            assert s in SEED_SET, (e.key, s)
    for s in SEEDS:
        assert _SEED_RE.match(s), s


_self_check()

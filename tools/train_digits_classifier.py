"""Train the digits feature extractor and write ``datasets/digits_classifier.npz`` (deterministic).

    .venv/bin/python tools/train_digits_classifier.py            # train, print accuracy, write the file
    .venv/bin/python tools/train_digits_classifier.py --check    # train, compare with the shipped file

PyTorch on the CPU with one thread, deterministic algorithms and fixed seeds: the same versions
give the same bytes (the printed sha256 must equal the one in ``datasets/digits_classifier.md``
and ``genlab.metrics.digits.WEIGHTS_SHA256``). Training data: the 1,500-image training split of
``genlab.data.load_digits``, augmented by random shifts of at most one pixel (zero fill); the 297
test digits are only used to report the accuracy. After training the features are rescaled by
a power of two to about unit standard deviation (exact; the logits do not change).
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from genlab.data import load_digits  # noqa: E402
from genlab.metrics import digits as spec  # noqa: E402
from genlab.torch.features import DigitsClassifier, get_weights  # noqa: E402

SEED = 0
EPOCHS = 40
BATCH = 32
LR = 2e-3
WEIGHT_DECAY = 1e-4


def shift(x: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    """Shift each (8, 8) image by dy, dx in {-1, 0, 1} (zero fill)."""
    n = x.shape[0]
    padded = torch.nn.functional.pad(x, (1, 1, 1, 1))
    d = torch.randint(0, 3, (n, 2), generator=gen)
    return torch.stack([padded[i, d[i, 0]:d[i, 0] + 8, d[i, 1]:d[i, 1] + 8] for i in range(n)])


@torch.no_grad()
def rescale_features(model: DigitsClassifier, x: np.ndarray) -> int:
    """Scale the features (fc pre-activations) to a mean std in (0.5, 1] without changing the classifier.

    ReLU is positively homogeneous, so fc -> fc * 2^-k and out.kernel -> out.kernel * 2^k leave the
    logits unchanged; with a power of two the products are exact in float32 (bitwise-equal logits).
    Unit-scale features suit KID's kernel (x.y/d + 1)^3, which is not scale-invariant, and keep
    float32 round-off (PyTorch vs Keras) well under 1e-5. Returns k.
    """
    std = float(model.features(x).astype(np.float64).std(axis=0).mean())
    k = int(np.ceil(np.log2(std)))  # mean std ends in (0.5, 1]
    model.fc.weight.mul_(2.0 ** -k)
    model.fc.bias.mul_(2.0 ** -k)
    model.out.weight.mul_(2.0 ** k)
    print(f"mean feature std {std:.3f}: features scaled by 2^{-k}")
    return k


def train() -> tuple[DigitsClassifier, float, float]:
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    torch.manual_seed(SEED)
    gen = torch.Generator().manual_seed(SEED)
    tr, te = load_digits("train"), load_digits("test")
    x, y = torch.as_tensor(tr.x), torch.as_tensor(tr.y)
    model = DigitsClassifier()
    opt = torch.optim.AdamW(model.parameters(), lr=LR, weight_decay=WEIGHT_DECAY)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=EPOCHS)
    for epoch in range(EPOCHS):
        model.train()
        perm = torch.randperm(len(x), generator=gen)
        total = 0.0
        for s in range(0, len(x), BATCH):
            idx = perm[s:s + BATCH]
            loss = torch.nn.functional.cross_entropy(model(shift(x[idx], gen)), y[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += loss.item() * len(idx)
        sched.step()
        if (epoch + 1) % 10 == 0:
            print(f"epoch {epoch + 1:3d}  train loss {total / len(x):.4f}")
    model.eval()
    rescale_features(model, tr.x)
    train_acc = float((model.probs(tr.x).argmax(1) == tr.y).mean())
    test_acc = float((model.probs(te.x).argmax(1) == te.y).mean())
    return model, train_acc, test_acc


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true", help="do not overwrite; compare with the shipped file")
    ap.add_argument("--out", default=str(spec.WEIGHTS_PATH))
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    model, train_acc, test_acc = train()
    print(f"train accuracy {train_acc:.4f}   test accuracy {test_acc:.4f} "
          f"({round(test_acc * 297)}/297)   {time.perf_counter() - t0:.1f} s")
    weights = get_weights(model)
    if args.check:
        with tempfile.TemporaryDirectory() as tmp:
            digest = spec.save_weights(weights, Path(tmp) / "w.npz")
        shipped = spec.sha256_file(spec.WEIGHTS_PATH)
        print(f"sha256 retrained {digest}\nsha256 shipped   {shipped}")
        return 0 if digest == shipped else 1
    digest = spec.save_weights(weights, args.out)
    print(f"wrote {args.out} ({Path(args.out).stat().st_size} bytes)\nsha256 {digest}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

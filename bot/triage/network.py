"""The small networks of triage's classifiers: what they read of a message (its MiniLM
vector and hashed words), one network's weights, and fitting one (torch, at build time
only; numpy reads the weights at run time). classifier.py (the crisis classifier) and
own_care.py (the own-care head) train and use them."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from itertools import pairwise
from typing import Any

import numpy as np

from bot.text.normalise import fold, words

WORD_DIMS = 4096  # hashed words and word pairs, beside the 384 of the vector
HIDDEN = 64


def word_features(text: str) -> list[int]:
    """The hashed columns of a text's words and word pairs (folded as every stage folds):
    the vector reads the gist, these the words that carry it ("pills", "saved", "tonight")."""
    found = words(fold(text))
    grams = set(found) | {f"{a} {b}" for a, b in pairwise(found)}
    return sorted(
        {
            int.from_bytes(hashlib.blake2b(g.encode(), digest_size=8).digest(), "little")
            % WORD_DIMS
            for g in grams
        }
    )


@dataclass(frozen=True)
class Member:
    """One network: vector and hashed words -> HIDDEN ReLU units -> class logits."""

    dense: np.ndarray  # dims x HIDDEN
    hashed: np.ndarray  # WORD_DIMS x HIDDEN
    bias1: np.ndarray
    out: np.ndarray  # HIDDEN x classes
    bias2: np.ndarray


def fit(
    vectors: np.ndarray,
    texts: Sequence[str],
    labels: Sequence[str],
    seed: int,
    classes: tuple[str, ...],
    either: Mapping[str, tuple[str, ...]] | None = None,
) -> Member:
    """One network, classes weighted to count alike, dropout and weight decay against
    learning one writer's words, full batch from a seed: torch for the training (a
    build-time tool), numpy at run time. `either`: labels that name several classes
    without saying which (a row's loss is then on their summed probability)."""
    import torch

    if either:
        return _fit_either(vectors, texts, labels, seed, classes, either)

    torch.manual_seed(seed)
    x = _inputs(vectors, texts)
    y = torch.tensor([classes.index(lab) for lab in labels])
    counts = torch.bincount(y, minlength=len(classes)).clamp(min=1).float()
    net = _network(x.shape[1], len(classes))
    # Smoothed labels keep probabilities from reaching 1.0 on the training words, so a
    # threshold still means something on words the corpus never had.
    loss = torch.nn.CrossEntropyLoss(weight=len(y) / (len(classes) * counts), label_smoothing=0.1)
    return _train_network(net, lambda out: loss(out, y), x, np.asarray(vectors).shape[1])


def _inputs(vectors: np.ndarray, texts: Sequence[str]) -> Any:
    import torch

    dense = torch.tensor(np.asarray(vectors), dtype=torch.float32)
    hashed = torch.zeros((len(texts), WORD_DIMS))
    for i, text in enumerate(texts):
        cols = word_features(text)
        if cols:
            hashed[i, cols] = 1.0 / float(np.sqrt(len(cols)))
    return torch.cat([dense, hashed], dim=1)


def _network(inputs: int, outputs: int) -> Any:
    import torch

    return torch.nn.Sequential(
        torch.nn.Dropout(0.5),
        torch.nn.Linear(inputs, HIDDEN),
        torch.nn.ReLU(),
        torch.nn.Dropout(0.5),
        torch.nn.Linear(HIDDEN, outputs),
    )


def _train_network(net: Any, loss: Callable[[Any], Any], x: Any, dims: int) -> Member:
    import torch

    optimiser = torch.optim.AdamW(net.parameters(), lr=3e-3, weight_decay=1e-2)
    for _ in range(200):
        net.train()
        optimiser.zero_grad()
        loss(net(x)).backward()
        optimiser.step()
    first, second = net[1], net[4]
    w1 = first.weight.detach().numpy().T
    return Member(
        w1[:dims].copy(),
        w1[dims:].copy(),
        first.bias.detach().numpy().copy(),
        second.weight.detach().numpy().T.copy(),
        second.bias.detach().numpy().copy(),
    )


def _fit_either(
    vectors: np.ndarray,
    texts: Sequence[str],
    labels: Sequence[str],
    seed: int,
    classes: tuple[str, ...],
    either: Mapping[str, tuple[str, ...]],
) -> Member:
    """fit() where some labels stand for several classes: each row's loss is minus the log
    of its classes' summed probability (smoothed as fit's), rows weighted so that each
    label counts alike."""
    import torch

    torch.manual_seed(seed)
    x = _inputs(vectors, texts)
    allowed = torch.zeros((len(labels), len(classes)), dtype=torch.bool)
    for i, lab in enumerate(labels):
        for c in either.get(lab, (lab,)):
            allowed[i, classes.index(c)] = True
    names = sorted(set(labels))
    counts = {n: sum(1 for lab in labels if lab == n) for n in names}
    weight = torch.tensor([len(labels) / (len(names) * counts[lab]) for lab in labels])
    net = _network(x.shape[1], len(classes))
    smoothing = 0.1

    def loss(out: Any) -> Any:
        logp = torch.log_softmax(out, dim=1)
        hit = torch.logsumexp(logp.masked_fill(~allowed, float("-inf")), dim=1)
        per_row = -(1 - smoothing) * hit - smoothing * logp.mean(dim=1)
        return (weight * per_row).sum() / weight.sum()

    return _train_network(net, loss, x, np.asarray(vectors).shape[1])

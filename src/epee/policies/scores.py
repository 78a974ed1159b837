"""Per-sample scores that exit policies threshold: predictions, entropy, confidence, divergences.

Every function takes the logits of one exit, ``[batch, classes]``, and a ``multi_label`` flag:
single-label logits go through a softmax over classes; multi-label logits are independent
per-label sigmoid logits, i.e. one Bernoulli distribution per label. To treat both alike, a
distribution is represented by its log-probabilities over *outcomes* on the last dimension:
``[batch, classes]`` for a softmax, ``[batch, labels, 2]`` (label on / off) for sigmoids.

All scores are computed in float32 in the log domain, so they stay finite for saturated logits.
"""

from __future__ import annotations

import math

import torch

from epee.errors import EpeeError

LOG_EPSILON = math.log(1e-12)
"""Floor of every log-probability: the epsilon clamp that keeps divergences finite (p = 0 -> 1e-12)."""

DIVERGENCES = ("kl", "reverse_kl", "symmetric_kl", "js")
"""Divergences between consecutive exits that F-PABEE may threshold."""


def log_distribution(logits: torch.Tensor, multi_label: bool) -> torch.Tensor:
    """Clamped log-probabilities over outcomes: ``[batch, classes]`` or ``[batch, labels, 2]``."""
    logits = logits.float()
    if multi_label:
        # log sigmoid(+-x) = min(+-x, 0) - log(1 + exp(-|x|)); F.logsigmoid opens a thread pool even for tiny inputs
        shared = torch.log1p(torch.exp(-logits.abs()))
        log_probs = torch.stack((logits.clamp_max(0) - shared, (-logits).clamp_max(0) - shared), dim=-1)
    else:
        log_probs = logits - logits.logsumexp(dim=-1, keepdim=True)  # log-softmax; ~3x faster on few classes
    return log_probs.clamp_min(LOG_EPSILON)


def predictions(logits: torch.Tensor, multi_label: bool) -> torch.Tensor:
    """Class id ``[batch]`` (argmax), or the 0/1 label vector ``[batch, labels]`` (p > 0.5, i.e. logit > 0)."""
    if multi_label:
        return (logits > 0).long()
    return logits.argmax(dim=-1)


def same_prediction(previous: torch.Tensor, current: torch.Tensor, multi_label: bool) -> torch.Tensor:
    """Whether two exits predict the same thing ``[batch]``; multi-label needs the whole label vector equal."""
    if multi_label:
        return (previous == current).all(dim=-1)
    return previous == current


def entropy(logits: torch.Tensor, multi_label: bool, normalized: bool) -> torch.Tensor:
    """Prediction entropy in nats ``[batch]``, as DeeBERT thresholds it (Xin et al., 2020).

    Multi-label: the mean over labels of each label's Bernoulli entropy. ``normalized`` divides by
    the maximum entropy (ln C for a softmax over C classes, ln 2 for a Bernoulli), giving a score
    in [0, 1] whose thresholds mean the same for any number of classes (EPEE, Zhan et al. 2025).
    """
    log_probs = log_distribution(logits, multi_label)
    per_distribution = -(log_probs.exp() * log_probs).sum(dim=-1)  # [batch] or [batch, labels]
    if multi_label:
        per_sample, max_entropy = per_distribution.mean(dim=-1), math.log(2)
    else:
        per_sample, max_entropy = per_distribution, math.log(logits.shape[-1])
    if not normalized:
        return per_sample
    if max_entropy == 0:
        raise EpeeError("Normalised entropy needs at least 2 classes (it divides by ln C); got logits with 1.")
    return per_sample / max_entropy


def max_probability(logits: torch.Tensor, multi_label: bool) -> torch.Tensor:
    """Confidence ``[batch]``: the top softmax probability; multi-label, the least sure label's max(p, 1 - p)."""
    if multi_label:
        return torch.sigmoid(logits.float().abs()).amin(dim=-1)
    return log_distribution(logits, multi_label=False).amax(dim=-1).exp()


def margin(logits: torch.Tensor, multi_label: bool) -> torch.Tensor:
    """Top-1 minus top-2 probability ``[batch]``; multi-label, the least sure label's |2p - 1|."""
    if multi_label:
        return (2 * torch.sigmoid(logits.float().abs()) - 1).amin(dim=-1)
    if logits.shape[-1] < 2:
        raise EpeeError(f"The margin needs at least 2 classes; got logits with {logits.shape[-1]}.")
    top_two = log_distribution(logits, multi_label=False).topk(2, dim=-1).values.exp()  # [batch, 2]
    return top_two[:, 0] - top_two[:, 1]


def _kl(log_p: torch.Tensor, log_q: torch.Tensor) -> torch.Tensor:
    """KL(p || q) over the last dimension."""
    return (log_p.exp() * (log_p - log_q)).sum(dim=-1)


def divergence(log_p: torch.Tensor, log_q: torch.Tensor, kind: str) -> torch.Tensor:
    """Divergence ``[batch]`` between two distributions given by :func:`log_distribution`.

    ``kl`` is KL(p || q), ``reverse_kl`` KL(q || p), ``symmetric_kl`` their sum (Jeffreys), ``js``
    the Jensen-Shannon divergence 1/2 KL(p || m) + 1/2 KL(q || m) with m = (p + q) / 2, all in nats.
    These are the true divergences; F-PABEE's released "KL" was a cross-entropy (Xu et al., 2022).
    Multi-label distributions are per-label Bernoullis, whose divergences are summed over labels.
    Divergences are never negative; float rounding makes that of two identical distributions come
    out near -1e-8 (JS), which would let ``tau = 0`` fire, so the result is clamped at 0 (for any
    tau > 0 the clamp changes no comparison).
    """
    if kind == "kl":
        per_distribution = _kl(log_p, log_q)
    elif kind == "reverse_kl":
        per_distribution = _kl(log_q, log_p)
    elif kind == "symmetric_kl":
        per_distribution = _kl(log_p, log_q) + _kl(log_q, log_p)
    elif kind == "js":
        log_m = torch.logaddexp(log_p, log_q) - math.log(2)
        per_distribution = 0.5 * _kl(log_p, log_m) + 0.5 * _kl(log_q, log_m)
    else:
        raise EpeeError(f"Unknown divergence {kind!r}; choose one of {DIVERGENCES}.")
    per_sample = per_distribution.sum(dim=-1) if per_distribution.dim() > 1 else per_distribution  # sum over labels
    return per_sample.clamp_min(0.0)

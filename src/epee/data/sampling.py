"""Seeded, stratified splits and subsets, so every run of a benchmark sees the same examples.

Splits carved here (dev from train, or train/dev/test for corpora without an official split) are
stratified by label per class and keep at least one example of every class in the larger part, so
a rare class never ends up only in dev or test. Subsets (``max_examples``, for CPU-sized runs) give
each label combination its proportional share of the budget, so the class balance of a subset
matches the full split, and then make sure every label keeps at least one example.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import TypeVar

import numpy as np

from epee.data.examples import AnyExample
from epee.errors import EpeeError

ExampleT = TypeVar("ExampleT", bound=AnyExample)
SPLIT_NAMES = ("train", "dev", "test")


def stratified_split(
    examples: Sequence[ExampleT], held_out_fraction: float, *, seed: int
) -> tuple[list[ExampleT], list[ExampleT]]:
    """Split into (kept, held_out), holding out ``held_out_fraction`` of each label combination.

    Each class keeps at least one example in the first part; both parts keep the original order.
    """
    if not 0.0 < held_out_fraction < 1.0:
        raise EpeeError(f"A held-out fraction must lie strictly between 0 and 1, got {held_out_fraction}.")
    rng = np.random.default_rng(seed)
    held_out: set[int] = set()
    for indices in _strata(examples).values():
        count = min(round(len(indices) * held_out_fraction), len(indices) - 1)
        held_out.update(rng.permutation(indices)[:count].tolist())
    kept = [example for position, example in enumerate(examples) if position not in held_out]
    return kept, [example for position, example in enumerate(examples) if position in held_out]


def subsample(
    examples: Sequence[ExampleT], max_examples: int | None, *, seed: int, whole_groups: bool = False
) -> list[ExampleT]:
    """At most ``max_examples`` examples (all of them when ``None`` or fewer exist), in the original order.

    With ``whole_groups`` the unit of sampling is an ``Example.group`` (a HoC abstract), so
    group-level scoring sees complete groups; groups that show every label come first, the rest
    of the budget goes to random groups rather than to proportional shares.
    """
    if max_examples is None or len(examples) <= max_examples:
        return list(examples)
    if max_examples < 1:
        raise EpeeError(f"max_examples must be a positive number of examples, got {max_examples}.")
    rng = np.random.default_rng(seed)
    subset = _group_subset if whole_groups else _stratified_subset
    positions = subset(examples, max_examples, rng)
    return [examples[position] for position in sorted(positions)]


def subsample_splits(
    splits: Mapping[str, list[ExampleT] | None],
    max_examples: int | Mapping[str, int] | None,
    *,
    seed: int,
    whole_groups: bool = False,
) -> dict[str, list[ExampleT] | None]:
    """Apply :func:`subsample` to each split.

    ``max_examples`` is one cap for every split, or per split names such as ``{"train": 2000, "dev": 500}``
    (splits not named stay whole). Subsetting happens after any splitting, so which examples are in
    dev or test never depends on ``max_examples``.
    """
    if max_examples is None or isinstance(max_examples, int):
        caps: Mapping[str, int | None] = dict.fromkeys(splits, max_examples)
    else:
        unknown = sorted(set(max_examples) - set(SPLIT_NAMES))
        if unknown:
            raise EpeeError(f"max_examples names unknown splits {unknown}; use {list(SPLIT_NAMES)}.")
        caps = max_examples
    return {
        name: None if examples is None else subsample(examples, caps.get(name), seed=seed, whole_groups=whole_groups)
        for name, examples in splits.items()
    }


def _strata(examples: Sequence[AnyExample]) -> dict[tuple[str, ...], list[int]]:
    strata: dict[tuple[str, ...], list[int]] = defaultdict(list)
    for position, example in enumerate(examples):
        strata[tuple(sorted(example.labels))].append(position)
    return strata


def _stratified_subset(examples: Sequence[AnyExample], budget: int, rng: np.random.Generator) -> list[int]:
    """Positions of ``budget`` examples: each label combination gets its proportional share
    (largest remainder), then labels left without any example take one from the largest share."""
    strata: dict[tuple[str, ...], list[int]] = defaultdict(list)
    for position in rng.permutation(len(examples)).tolist():
        strata[tuple(sorted(examples[position].labels))].append(position)
    keys = list(strata)
    sizes = np.array([len(strata[key]) for key in keys])
    shares = sizes * budget / sizes.sum()
    quotas = np.floor(shares).astype(int)
    for index in np.argsort(-(shares - quotas), kind="stable")[: budget - quotas.sum()]:
        quotas[index] += 1
    for label in _labels_rarest_first(examples):
        carriers = [index for index, key in enumerate(keys) if label in key]
        if quotas[carriers].sum() > 0:
            continue
        donor = int(np.argmax(quotas))
        if quotas[donor] < 2:
            break  # the budget is smaller than the number of labels
        quotas[donor] -= 1
        quotas[max(carriers, key=lambda index: sizes[index])] += 1
    return [position for key, quota in zip(keys, quotas, strict=True) for position in strata[key][:quota]]


def _group_subset(examples: Sequence[AnyExample], budget: int, rng: np.random.Generator) -> list[int]:
    """Positions of whole groups totalling at most ``budget`` examples: first, greedily, the groups
    that cover the most labels not yet covered per example spent, then random groups while they fit."""
    groups: dict[object, list[int]] = {}
    for position, example in enumerate(examples):
        group = getattr(example, "group", None)
        groups.setdefault(position if group is None else group, []).append(position)
    units = list(groups.values())
    order = [units[index] for index in rng.permutation(len(units))]
    unit_labels = [{label for position in unit for label in examples[position].labels} for unit in order]
    chosen: set[int] = set()
    uncovered = set().union(*unit_labels)
    while uncovered:
        gains = [
            (len(labels & uncovered) / len(unit), index)
            for index, (unit, labels) in enumerate(zip(order, unit_labels, strict=True))
            if index not in chosen and len(unit) <= budget and labels & uncovered
        ]
        if not gains:
            break  # the budget is too small to show every label
        _, best = max(gains, key=lambda gain: (gain[0], -gain[1]))
        chosen.add(best)
        uncovered -= unit_labels[best]
        budget -= len(order[best])
    for index, unit in enumerate(order):
        if index not in chosen and len(unit) <= budget:
            chosen.add(index)
            budget -= len(unit)
    return [position for index in chosen for position in order[index]]


def _labels_rarest_first(examples: Sequence[AnyExample]) -> list[str]:
    counts: dict[str, int] = defaultdict(int)
    for example in examples:
        for label in example.labels:
            counts[label] += 1
    return sorted(counts, key=lambda label: (counts[label], label))

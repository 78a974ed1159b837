"""The contract every exit policy keeps, as public checks, in the spirit of scikit-learn's ``check_estimator``.

Check your own policy in one call (it raises ``AssertionError`` naming the policy and the check)::

    from epee.policies.testing import check_policy
    check_policy(MyPolicy)                        # points of its default grid, on random logits
    check_policy(MyPolicy(MyParams(tau=0.2)))     # one setting
    check_policy(MyPolicy, dynamic=runner)        # and the runtime on a model (see DynamicRunner)

or run each check as its own test::

    @pytest.mark.parametrize(("policy", "check"), policy_checks([MyPolicy]))
    def test_my_policy(policy, check):
        check(policy)

The checks (:data:`CHECKS`): the parameter dataclass declares a constraint on every field; values
generated from those constraints are refused with a ``ValueError`` naming the parameter; the
default grid builds; parameters survive JSON; a row decides the same alone as in a batch; the
runtime's streaming loop (rows in any order, finished rows dropped by index) equals
:func:`~epee.policies.simulate`; every row exits by the last exit and no decision depends on a
later exit; the optional table rule of fast calibration equals simulation. Given a model,
:func:`check_dynamic` checks that dynamic inference equals simulation on its cached logits.

The points a class is checked at are the few points of its default grid under which the check
logits leave at the most different exits, plus every option of its choice and flag fields.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, fields, is_dataclass
from functools import cache
from typing import Any, Protocol

import torch

from epee.policies.base import ExitPolicy, step_with_fallback
from epee.policies.exit_result import ExitResult
from epee.policies.params import PolicyParams, constraints_of
from epee.policies.registry import POLICIES, policy_class, policy_from_params, policy_params
from epee.policies.simulate import fast_exit_index, simulate
from epee.policies.tables import ExitTables

NUM_EXITS, BATCH, CLASSES = 6, 24, 4


def error_rates(num_exits: int) -> tuple[float, ...]:
    """Validation error rates the checks build default grids for: 0.5 at the first exit, 0.07 less per exit."""
    return tuple(0.5 - 0.07 * index for index in range(num_exits))


def check_logits(multi_label: bool) -> torch.Tensor:
    """Random logits ``[exits=6, batch=24, classes=4]`` with every kind of row a policy meets.

    Rows go from unsure (scale 0.3) to saturated (scale 20: probabilities round to 1 in float32),
    and deeper exits are surer; row 0 repeats the same logits at every exit (zero divergence,
    unchanged predictions).
    """
    generator = torch.Generator().manual_seed(7 + multi_label)
    sureness = torch.logspace(math.log10(0.3), math.log10(20.0), BATCH)[None, :, None]
    depth = torch.linspace(0.6, 1.4, NUM_EXITS)[:, None, None]
    layer_logits = torch.randn(NUM_EXITS, BATCH, CLASSES, generator=generator) * sureness * depth
    layer_logits[:, 0] = layer_logits[0, 0]
    return layer_logits


class DynamicRunner(Protocol):
    """A model and its inputs as :func:`check_dynamic` sees them; :class:`epee.runtime.testing.ModelRunner` is one."""

    multi_label: bool

    def all_exit_logits(self) -> torch.Tensor:
        """Every exit's logits for every row ``[exits, rows, classes]``, from one pass with all exits."""

    def early_exit(self, policy: ExitPolicy, rows: slice) -> ExitResult:
        """The runtime's early-exit loop under ``policy`` on ``rows`` of the inputs, as one batch."""


@dataclass(frozen=True)
class _Subject:
    """What a check runs on: the policy class, the points the checks try, and every valid point of its grid."""

    policy_type: type[ExitPolicy]
    points: tuple[Any, ...]  # parameter dataclass instances
    grid: tuple[Any, ...] = ()

    @property
    def label(self) -> str:
        return f"the {getattr(self.policy_type, 'name', '?')} policy ({self.policy_type.__qualname__})"

    def policies(self) -> list[ExitPolicy]:
        return [self.policy_type(params) for params in self.points]


def _fail(subject: _Subject, check: str, detail: str) -> None:
    raise AssertionError(f"check_policy: {subject.label} fails {check!r}: {detail}")


def _buildable(policy_type: type[ExitPolicy], grid: Iterable[Mapping[str, Any]]) -> list[Any]:
    """The parameter instances of the grid points that build (check_default_grid reports the others)."""
    built = []
    for point in grid:
        try:
            built.append(policy_type.params_type(**point))
        except Exception:  # noqa: BLE001, S112 - reported by check_default_grid
            continue
    return built


def _spread(exit_index: torch.Tensor) -> tuple[int, float]:
    """(number of different exits used, entropy of the exit counts): higher means a more telling point."""
    counts = torch.bincount(exit_index).float()
    shares = counts[counts > 0] / counts.sum()
    return int((counts > 0).sum()), float(-(shares * shares.log()).sum())


def informative_points(
    policy_type: type[ExitPolicy], grid: Sequence[Any], layer_logits: torch.Tensor, multi_label: bool, count: int
) -> list[Any]:
    """Up to ``count`` parameter instances of ``grid`` that tell the most, chosen one after the other.

    Each next point is the one that brings the most parameter values not chosen yet (so a grid of
    tau x patience is checked at several of each), then under which ``layer_logits`` leave at the
    most different exits, then most evenly. The first is thus the most telling point of the grid.
    """
    spreads = [
        _spread(simulate(policy_type(params), layer_logits, multi_label=multi_label).exit_index) for params in grid
    ]
    values = [{(name, repr(value)) for name, value in asdict(params).items()} for params in grid]
    chosen: list[int] = []
    while len(chosen) < min(count, len(grid)):
        seen = set().union(*(values[index] for index in chosen))
        merits = {
            index: (len(values[index] - seen), *spreads[index], -index)
            for index in range(len(grid))
            if index not in chosen
        }
        chosen.append(max(merits, key=merits.__getitem__))
    return [grid[index] for index in chosen]


def _option_variants(policy_type: type[ExitPolicy], params: Any) -> list[Any]:
    """``params`` with each other option of every choice or flag field, where that builds (e.g. every divergence)."""
    variants = []
    for name, constraint in constraints_of(policy_type.params_type).items():
        options = getattr(constraint, "options", None)
        if options is None and isinstance(getattr(params, name), bool):
            options = (True, False)
        for option in options or ():
            if option != getattr(params, name):
                variants += _buildable(policy_type, [{**asdict(params), name: option}])
    return variants


def _grid_subject(policy_type: type[ExitPolicy], grid: Sequence[Mapping[str, Any]], max_points: int) -> _Subject:
    built = _buildable(policy_type, grid)
    if not built:
        _fail(_Subject(policy_type, ()), "default_grid", f"no point of its grid builds its parameters: {grid!r}.")
    if not policy_type.deployable:
        return _Subject(policy_type, tuple(built[:max_points]), tuple(built))
    points = informative_points(policy_type, built, check_logits(multi_label=False), False, max_points)
    points += [variant for variant in _option_variants(policy_type, points[0]) if variant not in points]
    return _Subject(policy_type, tuple(points), tuple(built))


@cache
def _class_subject(policy_type: type[ExitPolicy], max_points: int) -> _Subject:
    grid = policy_type.default_grid(error_rates(NUM_EXITS))
    if grid is None:
        if policy_type.deployable:
            _fail(
                _Subject(policy_type, ()),
                "default_grid",
                "it has no default grid, so calibration cannot search it; give the class a default_grid "
                "classmethod (or pass grid=[...] to check_policy).",
            )
        grid = [{}]  # an analysis bound without a grid: its default parameters
    return _grid_subject(policy_type, grid, max_points)


def _subject(
    policy: type[ExitPolicy] | ExitPolicy, grid: Sequence[Mapping[str, Any]] | None, max_points: int
) -> _Subject:
    if isinstance(policy, ExitPolicy):
        return _Subject(type(policy), (policy.params,), (policy.params,))
    if not (isinstance(policy, type) and issubclass(policy, ExitPolicy)):
        raise TypeError(f"check_policy takes an ExitPolicy subclass or instance; got {policy!r}.")
    if grid is None:
        return _class_subject(policy, max_points)
    return _grid_subject(policy, grid, max_points)


# The checks: each takes the subject and raises AssertionError (through _fail) on the first finding.


def check_declares_constraints(subject: _Subject) -> None:
    """The parameters are a frozen PolicyParams dataclass whose every field declares its constraint."""
    params_type = getattr(subject.policy_type, "params_type", None)
    if not (isinstance(params_type, type) and is_dataclass(params_type) and issubclass(params_type, PolicyParams)):
        _fail(subject, "declares_constraints", f"params_type must be a PolicyParams dataclass; got {params_type!r}.")
    if not params_type.__dataclass_params__.frozen:
        _fail(subject, "declares_constraints", f"{params_type.__name__} must be @dataclass(frozen=True).")
    undeclared = [name for name, constraint in constraints_of(params_type).items() if constraint is None]
    if undeclared:
        _fail(
            subject,
            "declares_constraints",
            f"the fields {undeclared} of {params_type.__name__} declare no constraint; declare each with "
            "epee.policies.parameter(Number(...)), parameter(Choice(...)), ...",
        )


def check_rejects_invalid_parameters(subject: _Subject) -> None:
    """Each field, set to values generated from its constraint, is refused with a ValueError naming the field."""
    params_type = subject.policy_type.params_type
    base = {item.name: getattr(subject.points[0], item.name) for item in fields(params_type)}
    for name, constraint in constraints_of(params_type).items():
        for bad in constraint.invalid_examples() if constraint is not None else ():
            try:
                params_type(**{**base, name: bad})
            except ValueError as error:
                if name not in str(error):
                    _fail(
                        subject,
                        "rejects_invalid_parameters",
                        f"{name}={bad!r} is refused, but the message does not name {name!r}: {error}",
                    )
            except Exception as error:  # noqa: BLE001 - the wrong kind of error is the finding
                _fail(
                    subject,
                    "rejects_invalid_parameters",
                    f"{name}={bad!r} raised {type(error).__name__} ({error}); raise ValueError naming {name!r}.",
                )
            else:
                _fail(
                    subject,
                    "rejects_invalid_parameters",
                    f"{name}={bad!r} is accepted, although its constraint requires {constraint.requirement}.",
                )


def check_json_round_trip(subject: _Subject) -> None:
    """Parameters survive JSON (as checkpoints store them) and rebuild an equal policy."""
    for policy in subject.policies():
        stored = json.loads(json.dumps(policy_params(policy)))
        rebuilt = subject.policy_type(subject.policy_type.params_type(**stored["params"]))
        if rebuilt != policy:
            _fail(subject, "json_round_trip", f"{policy!r} comes back from JSON as {rebuilt!r}.")
        if POLICIES.get(policy.name) is subject.policy_type and policy_from_params(stored) != policy:
            _fail(subject, "json_round_trip", f"policy_from_params does not rebuild {policy!r}.")


def check_default_grid(subject: _Subject) -> None:
    """The default grid, for models of 1, 3 and 6 exits, is a non-empty list of points that all build."""
    for num_exits in (1, 3, NUM_EXITS):
        grid = subject.policy_type.default_grid(error_rates(num_exits))
        if not grid:
            _fail(subject, "default_grid", f"its default grid for {num_exits} exits is empty ({grid!r}).")
        for point in grid:
            try:
                subject.policy_type.params_type(**point)
            except Exception as error:  # noqa: BLE001 - any failure is the finding
                _fail(subject, "default_grid", f"the grid point {point!r} ({num_exits} exits) is refused: {error}")


def _settings(subject: _Subject) -> Iterable[tuple[ExitPolicy, bool, torch.Tensor, str]]:
    for policy in subject.policies():
        for multi_label in (False, True):
            where = f"(params {policy.params!r}, {'multi' if multi_label else 'single'}-label)"
            yield policy, multi_label, check_logits(multi_label), where


def check_batch_equals_rows(subject: _Subject) -> None:
    """A row exits where, and with the logits, it would alone: its decision ignores the other rows."""
    for policy, multi_label, layer_logits, where in _settings(subject):
        batched = simulate(policy, layer_logits, multi_label=multi_label)
        for row in range(layer_logits.shape[1]):
            alone = simulate(policy, layer_logits[:, row : row + 1], multi_label=multi_label)
            if alone.exit_index.item() != batched.exit_index[row].item():
                _fail(
                    subject,
                    "batch_equals_rows",
                    f"row {row} exits at exit {alone.exit_index.item()} alone but at exit "
                    f"{batched.exit_index[row].item()} in a batch of {layer_logits.shape[1]} {where}; "
                    "a row's decision must not depend on the other rows of its batch.",
                )
            if not torch.equal(alone.logits[0], batched.logits[row]):
                _fail(subject, "batch_equals_rows", f"row {row} gets other logits alone than in a batch {where}.")


def stream(policy: ExitPolicy, layer_logits: torch.Tensor, multi_label: bool) -> torch.Tensor:
    """A runtime-like loop: rows held in a shuffled order, finished rows dropped by index after every exit."""
    num_exits, batch_size, _ = layer_logits.shape
    running = torch.randperm(batch_size, generator=torch.Generator().manual_seed(0))
    exit_index = torch.full((batch_size,), -1)
    state = policy.start(batch_size, multi_label=multi_label)
    for index in range(num_exits):
        exits_now = step_with_fallback(policy, state, index, num_exits, layer_logits[index, running])
        exit_index[running[exits_now]] = index
        keep = torch.nonzero(~exits_now).squeeze(1)
        running, state = running[keep], state.select(keep)
    return exit_index


def check_streaming_equals_offline(subject: _Subject) -> None:
    """The runtime's loop (rows shuffled, state compacted by index) gives the exits of simulate()."""
    for policy, multi_label, layer_logits, where in _settings(subject):
        streamed = stream(policy, layer_logits, multi_label)
        simulated = simulate(policy, layer_logits, multi_label=multi_label).exit_index
        if not torch.equal(streamed, simulated):
            rows = torch.nonzero(streamed != simulated).squeeze(1).tolist()
            _fail(
                subject,
                "streaming_equals_offline",
                f"rows {rows} exit at {streamed[rows].tolist()} when streamed but at {simulated[rows].tolist()} "
                f"offline {where}; keep every per-row tensor in PolicyState.tensors so select() carries it.",
            )


def check_falls_back_to_last_exit(subject: _Subject) -> None:
    """Every row exits by the last exit, for models of 1 to 6 exits, and no decision depends on a later exit."""
    for policy, multi_label, layer_logits, where in _settings(subject):
        full = simulate(policy, layer_logits, multi_label=multi_label).exit_index
        for num_exits in range(1, layer_logits.shape[0] + 1):
            truncated = simulate(policy, layer_logits[:num_exits], multi_label=multi_label).exit_index
            if not ((truncated >= 0) & (truncated <= num_exits - 1)).all():
                _fail(subject, "falls_back_to_last_exit", f"a row exits past the last of {num_exits} exits {where}.")
            decided_earlier = full < num_exits - 1
            if not torch.equal(truncated[decided_earlier], full[decided_earlier]):
                _fail(
                    subject,
                    "falls_back_to_last_exit",
                    f"with {num_exits} exits rows exit elsewhere than with {layer_logits.shape[0]} {where}: "
                    "a decision at one exit must not depend on the exits after it.",
                )


def check_fire_table_equals_simulate(subject: _Subject) -> None:
    """The optional table rule of fast calibration gives simulate()'s exits on every grid point."""
    for multi_label in (False, True):
        layer_logits = check_logits(multi_label)
        tables = ExitTables(layer_logits, multi_label)
        for params in subject.grid + subject.points:
            policy = subject.policy_type(params)
            if policy.fire_table(tables) is None:
                return  # no table rule: calibration simulates this policy
            fast = fast_exit_index(policy, tables)
            simulated = simulate(policy, layer_logits, multi_label=multi_label).exit_index
            if not torch.equal(fast, simulated):
                rows = torch.nonzero(fast != simulated).squeeze(1).tolist()
                _fail(
                    subject,
                    "fire_table_equals_simulate",
                    f"fire_table puts rows {rows} at exits {fast[rows].tolist()} where stepping puts them at "
                    f"{simulated[rows].tolist()} (params {params!r}, {'multi' if multi_label else 'single'}-label).",
                )


@dataclass(frozen=True)
class PolicyCheck:
    """One named check, callable on a policy class or instance; ``deployable_only`` ones skip analysis bounds."""

    name: str
    run: Callable[[_Subject], None]
    deployable_only: bool = True

    def __call__(
        self,
        policy: type[ExitPolicy] | ExitPolicy,
        *,
        grid: Sequence[Mapping[str, Any]] | None = None,
        max_points: int = 4,
    ) -> None:
        subject = _subject(policy, grid, max_points)
        try:
            self.run(subject)
        except AssertionError:
            raise
        except Exception as error:  # noqa: BLE001 - a crash inside the policy is a failed check, said as one
            raise AssertionError(
                f"check_policy: {subject.label} fails {self.name!r}: it raised {type(error).__name__}: {error}"
            ) from error

    def __repr__(self) -> str:
        return self.name


CHECKS: tuple[PolicyCheck, ...] = (
    PolicyCheck("declares_constraints", check_declares_constraints, deployable_only=False),
    PolicyCheck("rejects_invalid_parameters", check_rejects_invalid_parameters, deployable_only=False),
    PolicyCheck("json_round_trip", check_json_round_trip, deployable_only=False),
    PolicyCheck("default_grid", check_default_grid),
    PolicyCheck("batch_equals_rows", check_batch_equals_rows),
    PolicyCheck("streaming_equals_offline", check_streaming_equals_offline),
    PolicyCheck("falls_back_to_last_exit", check_falls_back_to_last_exit),
    PolicyCheck("fire_table_equals_simulate", check_fire_table_equals_simulate),
)
"""Every check that needs no model, in the order :func:`check_policy` runs them."""


def _policy_type(policy: type[ExitPolicy] | ExitPolicy) -> type[ExitPolicy]:
    return type(policy) if isinstance(policy, ExitPolicy) else policy


def check_policy(
    policy: type[ExitPolicy] | ExitPolicy,
    *,
    grid: Sequence[Mapping[str, Any]] | None = None,
    max_points: int = 4,
    dynamic: DynamicRunner | None = None,
) -> None:
    """Run every check on ``policy``: a class at its ``max_points`` most informative grid points, an instance as is.

    ``grid`` replaces the class's default grid as the source of points. With ``dynamic`` (a model
    and inputs, see :class:`DynamicRunner`) the runtime is also checked against simulation. Raises
    ``AssertionError`` whose message names the policy, the check and what went wrong.
    """
    for check in CHECKS:
        if check.deployable_only and not _policy_type(policy).deployable:
            continue
        check(policy, grid=grid, max_points=max_points)
    if dynamic is not None and _policy_type(policy).deployable:
        check_dynamic(policy, dynamic, grid=grid)


def check_dynamic(
    policy: type[ExitPolicy] | ExitPolicy,
    runner: DynamicRunner,
    *,
    grid: Sequence[Mapping[str, Any]] | None = None,
    max_points: int = 1,
    batch_sizes: Sequence[int] = (1, 7, 32),
) -> set[int]:
    """Dynamic inference equals simulation on ``runner``'s cached logits; returns the exits the rows left at.

    Exit indices must be equal and logits equal to float tolerance (the runtime computes rows in
    smaller batches), at every batch size. A class is run at the ``max_points`` points of its grid
    (built for the model's number of exits) under which the model's rows leave at the most exits.
    """
    cached = runner.all_exit_logits()  # [exits, rows, classes]
    if isinstance(policy, ExitPolicy):
        subject = _Subject(type(policy), (policy.params,))
    else:
        if grid is None:
            grid = policy.default_grid(error_rates(cached.shape[0])) or []
        built = _buildable(policy, grid)
        subject = _Subject(policy, tuple(informative_points(policy, built, cached, runner.multi_label, max_points)))
        if not subject.points:
            _fail(subject, "dynamic_equals_simulation", "no grid point to run; give it a default grid or pass grid=.")
    try:
        return _dynamic_equals_simulation(subject, runner, cached, batch_sizes)
    except AssertionError:
        raise
    except Exception as error:  # noqa: BLE001 - a crash inside the policy is a failed check, said as one
        raise AssertionError(
            f"check_policy: {subject.label} fails 'dynamic_equals_simulation': it raised {type(error).__name__}: "
            f"{error}"
        ) from error


def _dynamic_equals_simulation(
    subject: _Subject, runner: DynamicRunner, cached: torch.Tensor, batch_sizes: Sequence[int]
) -> set[int]:
    rows = cached.shape[1]
    exits_seen: set[int] = set()
    for policy in subject.policies():
        expected = simulate(policy, cached, multi_label=runner.multi_label)
        exits_seen.update(expected.exit_index.tolist())
        for batch_size in batch_sizes:
            for start in range(0, rows, batch_size):
                window = slice(start, min(start + batch_size, rows))
                output = runner.early_exit(policy, window)
                where = f"rows {window.start}..{window.stop - 1} at batch size {batch_size} (params {policy.params!r})"
                if not torch.equal(output.exit_index, expected.exit_index[window]):
                    _fail(
                        subject,
                        "dynamic_equals_simulation",
                        f"{where} exit at {output.exit_index.tolist()} in the runtime but at "
                        f"{expected.exit_index[window].tolist()} in simulation.",
                    )
                if not torch.allclose(output.logits, expected.logits[window], atol=1e-5, rtol=1e-5):
                    _fail(subject, "dynamic_equals_simulation", f"{where} get other logits in the runtime.")
    return exits_seen


def policy_checks(policies: Iterable[str | type[ExitPolicy]] | None = None) -> list[Any]:
    """``pytest.param(policy_class, check)`` for every check that applies to each policy, for ``parametrize``.

    ``policies`` are classes or registry names; by default every policy registered at the call.
    Test ids read ``NAME-CHECK``, e.g. ``epee-batch_equals_rows``.
    """
    import pytest  # only test code calls this; the library does not depend on pytest

    classes = [policy_class(item) if isinstance(item, str) else item for item in (policies or tuple(POLICIES))]
    return [
        pytest.param(policy_type, check, id=f"{policy_type.name}-{check.name}")
        for policy_type in classes
        for check in CHECKS
        if policy_type.deployable or not check.deployable_only
    ]

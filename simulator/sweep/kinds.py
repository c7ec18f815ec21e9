"""Cell kinds behind one registry keyed by the sweep file's ``kind``.

A kind turns the base plus one cell's coordinates into a validated config, names the
pool that config needs, and runs it to a flat dict of summary metrics. Kinds do no
scheduling and write no files: executors call :meth:`CellKind.run`, the driver writes.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Protocol

from pydantic import ValidationError

from simulator.errors import UserError
from simulator.pools.pool import Pool
from simulator.pools.source import is_embedded
from simulator.registry import Registry
from simulator.sweep.grid import set_dotted
from simulator.sweep.spec import SEED_AXIS, FrontierCell, SweepSpec

__all__ = ["KINDS", "CellKind", "get_kind", "register_kind", "rebase_paths"]


class CellKind(Protocol):
    """What the sweep needs from a kind of cell."""

    def base(self, spec: SweepSpec, root: Path) -> dict[str, Any]:
        """The resolved base as a JSON-able mapping (may read files; driver only)."""
        ...

    def build(self, base: Mapping[str, Any], coords: Mapping[str, Any], seed: int,
              root: Path) -> Any:
        """The validated config of one cell (no I/O). Raises UserError."""
        ...

    def pool_key(self, config: Any) -> str:
        """A key naming the pool ``config`` reads (cells with equal keys share it)."""
        ...

    def load_pool(self, config: Any) -> Pool:
        """Load the pool of ``config`` (driver only; workers get it shipped)."""
        ...

    def input_files(self, config: Any) -> list[str]:
        """Paths of the files ``config`` reads (pool, trace, model), for the store's
        fingerprint."""
        ...

    def run(self, config: Any, pool: Pool) -> dict[str, Any]:
        """Run one cell on ``pool``; returns summary metrics (flat, JSON-able)."""
        ...


#: Every cell kind; ``simulator.sweep`` imports the plug-in modules (``kind_scenario``).
KINDS: Registry[CellKind] = Registry("sweep kind")


def register_kind(name: str) -> Callable[[type[Any]], type[Any]]:
    """Class decorator: register an instance of the class as the kind ``name``."""

    def deco(cls: type[Any]) -> type[Any]:
        KINDS.register(name)(cls())
        return cls

    return deco


def get_kind(name: str) -> CellKind:
    """The registered kind ``name``.

    Raises:
        UserError: unknown kind (lists the valid ones).
    """
    return KINDS.get(name)


def model_file(params: Mapping[str, Any]) -> str | None:
    """The ``model`` file of a predictor's parameters (the learned predictor), if any."""
    model = params.get("model")
    return model if isinstance(model, str) else None


def rebase_paths(coords: Mapping[str, Any], paths: frozenset[str],
                 root: Path) -> dict[str, Any]:
    """Coordinates with relative file paths on ``paths`` taken from ``root``."""
    out = dict(coords)
    for key in paths & set(out):
        value = out[key]
        if isinstance(value, str) and not is_embedded(value) \
                and not Path(value).is_absolute():
            out[key] = str(root / value)
    return out


def _pydantic_line(exc: ValidationError) -> str:
    err = exc.errors()[0]
    path = ".".join(str(p) for p in err["loc"]) or "base"
    if err["type"] == "extra_forbidden":
        return f"{path}: unknown key; allowed keys: {', '.join(FrontierCell.model_fields)}"
    return f"{path}: {str(err['msg']).removeprefix('Value error, ')}"


@register_kind("frontier")
class FrontierKind:
    """Static frontier and noise cells (:func:`simulator.experiments.frontier.run_frontier`)."""

    PATHS = frozenset({"pool"})

    def base(self, spec: SweepSpec, root: Path) -> dict[str, Any]:
        """The inline base cell, with a relative pool path taken from ``root``."""
        assert isinstance(spec.base, dict)
        return rebase_paths(spec.base, self.PATHS, root)

    def build(self, base: Mapping[str, Any], coords: Mapping[str, Any], seed: int,
              root: Path) -> tuple[FrontierCell, int]:
        """The validated :class:`FrontierCell` and its seed."""
        from predictors.base import make_predictor
        from simulator.policies import check_params, get_policy
        from simulator.traffic.streams import mix_weights

        raw: dict[str, Any] = dict(base)
        for path, value in rebase_paths(coords, self.PATHS, root).items():
            if path != SEED_AXIS:
                raw = set_dotted(raw, path, value)
        try:
            cell = FrontierCell.model_validate(raw)
        except ValidationError as exc:
            raise UserError(_pydantic_line(exc)) from None
        try:
            mix_weights(cell.stream)
            get_policy(cell.policy)
        except UserError as exc:
            field = "stream" if "stream" in str(exc) else "policy"
            raise UserError(f"{field}: {exc}") from None
        try:
            check_params(cell.policy, cell.policy_params)
        except UserError as exc:
            raise UserError(f"policy_params: {exc}") from None
        make_predictor(cell.predictor.kind, **cell.predictor.params)
        return cell, seed

    def pool_key(self, config: tuple[FrontierCell, int]) -> str:
        """The pool spec string."""
        return config[0].pool

    def load_pool(self, config: tuple[FrontierCell, int]) -> Pool:
        """The default or a Parquet pool."""
        from simulator.pools.source import resolve_pool

        return resolve_pool(config[0].pool)

    def input_files(self, config: tuple[FrontierCell, int]) -> list[str]:
        """The pool file (unless the embedded default) and a predictor model file."""
        cell = config[0]
        return [f for f in (None if is_embedded(cell.pool) else cell.pool,
                            model_file(cell.predictor.params)) if f is not None]

    def run(self, config: tuple[FrontierCell, int], pool: Pool) -> dict[str, Any]:
        """accuracy, tokens_per_query and abandonment_rate of one policy at one budget."""
        from predictors.base import drawn_pool, make_predictor
        from simulator.experiments.frontier import run_frontier

        cell, seed = config
        predictor = make_predictor(cell.predictor.kind, **cell.predictor.params)
        pool = drawn_pool(pool, predictor)[0]  # a learned model's held-out queries only
        frame = run_frontier(pool, cell.stream, cell.n, [cell.mean_budget], [cell.policy],
                             predictor, seed=seed,
                             policy_params={cell.policy: cell.policy_params})
        row = frame.row(0, named=True)
        return {k: row[k] for k in ("accuracy", "tokens_per_query", "abandonment_rate")}

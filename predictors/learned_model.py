"""The learned predictor's network and its model file (torch, CPU).

Network: features -> Linear(hidden[0]) -> ReLU -> Dropout -> Linear(hidden[1]) -> ReLU,
then two heads: ``mean`` regresses standardised ln(length) (tokens), ``logit`` is the
solvability log-odds.

Model file (``torch.save`` of plain data, loaded with ``weights_only=True``):

=================  ================================================================
key                meaning
=================  ================================================================
format             ``"clearsim-learned-predictor"``
features           :meth:`FeatureConfig.to_dict`
hidden, dropout    architecture
state_dict         the network's tensors
target_mean/sd     standardisation of ln(length) (ln tokens)
log_spread         validated robust SD of held-out ln(length) residuals (ln tokens)
metrics            held-out figures at training time (see :mod:`learned_train`)
train_ids          query ids used for training (evaluation excludes them)
seed, test_frac    how the split was drawn
=================  ================================================================
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from predictors.learned_features import FeatureConfig
from simulator.atomic import atomic_write
from simulator.errors import UserError

__all__ = ["FORMAT", "LearnedModel", "Net", "load_model", "save_model"]

FORMAT = "clearsim-learned-predictor"


class Net(nn.Module):
    """Two-layer MLP with a ln-length head and a solvability head."""

    def __init__(self, input_dim: int, hidden: tuple[int, int] = (32, 16),
                 dropout: float = 0.1) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.Linear(input_dim, hidden[0]), nn.ReLU(), nn.Dropout(dropout),
            nn.Linear(hidden[0], hidden[1]), nn.ReLU(),
        )
        self.mean = nn.Linear(hidden[1], 1)
        self.logit = nn.Linear(hidden[1], 1)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(standardised ln-length mean, solvability logit), each (n,)."""
        h = self.body(x)
        return self.mean(h).squeeze(-1), self.logit(h).squeeze(-1)


@dataclass
class LearnedModel:
    """A trained network with everything needed to use it on a pool.

    Attributes:
        net: the network (eval mode after loading).
        features: the feature config it was trained with.
        target_mean: mean of training ln(length) (ln tokens).
        target_sd: SD of training ln(length) (ln tokens).
        log_spread: validated robust SD of ln(length) residuals (ln tokens).
        metrics: held-out figures at training time.
        train_ids: ids of the training queries.
        seed: training seed.
        test_frac: held-out fraction.
        hidden: hidden layer widths.
        dropout: dropout rate.
    """

    net: Net
    features: FeatureConfig
    target_mean: float
    target_sd: float
    log_spread: float
    metrics: dict[str, float] = field(default_factory=dict)
    train_ids: list[str] = field(default_factory=list)
    seed: int = 0
    test_frac: float = 0.2
    hidden: tuple[int, int] = (32, 16)
    dropout: float = 0.1


def save_model(model: LearnedModel, path: str | os.PathLike[str]) -> Path:
    """Write ``model`` atomically (unique temporary file, then rename). Returns the path.

    Two identical trainings give byte-identical files.
    """
    p = Path(path)
    data: dict[str, Any] = {
        "format": FORMAT,
        "features": model.features.to_dict(),
        "hidden": list(model.hidden),
        "dropout": model.dropout,
        "state_dict": model.net.state_dict(),
        "target_mean": model.target_mean,
        "target_sd": model.target_sd,
        "log_spread": model.log_spread,
        "metrics": dict(model.metrics),
        "train_ids": list(model.train_ids),
        "seed": model.seed,
        "test_frac": model.test_frac,
    }
    # torch names the zip's top folder after the file it writes: a fixed temporary name
    # ("model.pt" in a private folder), so identical trainings give identical bytes.
    return atomic_write(p, lambda tmp: torch.save(data, tmp), inner_name="model.pt")


def load_model(path: str | os.PathLike[str]) -> LearnedModel:
    """Read a model file written by :func:`save_model`.

    Raises:
        UserError: missing or unreadable file, not a clearsim model, or weights that do
            not fit the stored feature config.
    """
    p = Path(path)
    if not p.is_file():
        raise UserError(f"{p}: model file not found; create it with "
                        "'clearsim predictor train --pool P --out MODEL.pt'")
    try:
        data = torch.load(p, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises many types for foreign or corrupt files
        raise UserError(f"{p}: not a readable model file ({type(exc).__name__}); "
                        "re-create it with 'clearsim predictor train'") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise UserError(f"{p}: not a clearsim learned-predictor file; create one with "
                        "'clearsim predictor train'")
    cfg = FeatureConfig.from_dict(data["features"], str(p))
    hidden = (int(data["hidden"][0]), int(data["hidden"][1]))
    net = Net(cfg.input_dim, hidden, float(data["dropout"]))
    try:
        net.load_state_dict(data["state_dict"])
    except RuntimeError:
        raise UserError(f"{p}: the weights do not match the stored feature config "
                        f"({cfg.input_dim} inputs, hidden {hidden}); the file is damaged "
                        "or was edited; retrain it") from None
    net.eval()
    return LearnedModel(net, cfg, float(data["target_mean"]), float(data["target_sd"]),
                        float(data["log_spread"]), dict(data["metrics"]),
                        list(data["train_ids"]), int(data["seed"]), float(data["test_frac"]),
                        hidden, float(data["dropout"]))

"""The ``learned`` predictor: a trained torch model behind the predictor registry.

Registering it costs nothing: torch is imported only when a ``learned`` predictor is
built, so ``import predictors`` stays light. The model must be trained beforehand
(``clearsim predictor train``); it is never fitted on first use, so a scenario run is
reproducible from its files.

The prediction for a query, from the network's mean mu of ln(length) (ln tokens):

- threshold T = exp(mu), the predicted median rollout length (tokens), floored at 1;
- log_spread = the model's validated robust residual SD (one number for all queries);
- solvability = sigmoid of the solvability head.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

import numpy as np

from predictors.base import Prediction, register_predictor
from simulator.errors import UserError
from simulator.pools.pool import Pool

if TYPE_CHECKING:
    from predictors.learned_model import LearnedModel

__all__ = ["LearnedPredictor"]


class LearnedPredictor:
    """Predict thresholds with a model file written by ``clearsim predictor train``.

    Args:
        model: path to the ``.pt`` model file.
        include_training: let a simulation draw the queries the model was trained on
            too. Off by default: a run on the training pool draws only the held-out
            queries (:meth:`held_out`), since predictions on training queries are
            optimistic.

    Raises:
        UserError: the file is missing or not a clearsim model; ``predict`` raises it
            when the pool does not match the model's features.
    """

    def __init__(self, model: str | os.PathLike[str], include_training: bool = False) -> None:
        from predictors.learned_model import load_model

        if not isinstance(include_training, bool):
            raise UserError(f"include_training must be true or false, got "
                            f"{include_training!r}")
        self.include_training = include_training
        self.path = str(model)
        self.model: LearnedModel = load_model(model)

    def predict(self, pool: Pool, index: np.ndarray, rng: np.random.Generator) -> Prediction:
        """Thresholds (tokens), spread and solvability for ``pool`` rows ``index``.

        Deterministic: ``rng`` is not used.
        """
        from predictors.learned_features import check_pool
        from predictors.learned_train import predict_arrays

        check_pool(self.model.features, pool, self.path)
        index = np.asarray(index, dtype=np.int64)
        mu, q = predict_arrays(self.model, pool, index)
        return Prediction(np.maximum(np.exp(mu), 1.0),
                          log_spread=np.full(index.size, self.model.log_spread),
                          solvability=q)

    def held_out(self, pool: Pool) -> Pool:
        """The queries of ``pool`` the model was not trained on.

        Raises:
            UserError: every query of ``pool`` was used for training.
        """
        from predictors.learned_train import heldout_index

        rows = heldout_index(self.model, pool)
        if rows.size == 0:
            raise UserError(f"{self.path}: every query of this pool was used to train the "
                            "model; there is no held-out query to evaluate on")
        return pool.subset(rows)


@register_predictor("learned")
def _learned(model: str, include_training: bool = False) -> LearnedPredictor:
    """Factory for the registry: ``predictor: {kind: learned, params: {model: PATH}}``
    (add ``include_training: true`` to draw training queries too)."""
    return LearnedPredictor(model, include_training)

"""Training and held-out evaluation of the learned predictor (torch, CPU, <= 2 threads).

Training follows the paper: MSE on ln(length) of EVERY rollout, correct or not (what a
deployment observes), plus BCE of the solvability head on "has a correct rollout". The
split is by query: a seeded permutation puts ``test_frac`` of the queries aside.
Initialisation and batch order come from ``torch.manual_seed(seed)`` inside
``torch.random.fork_rng`` (the caller's global torch state is left alone), so the same
pool and seed give the same weights.

Held-out metrics (:func:`evaluate`), over the held-out rollouts unless said otherwise:

- ``r2``: 1 - SS_res / SS_tot of ln(length) (SS_tot around the held-out mean);
- ``mae``: mean |ln(length) - predicted mean| (ln tokens);
- ``spread_sd``: SD of those residuals (ln tokens);
- ``spread``: 1.4826 * MAD of the residuals, the robust SD the model reports as its
  ``log_spread`` (rollouts looping to the cap make the plain SD describe the tail);
- ``auc``: per-query AUC of the solvability head against "has a correct rollout"
  (Mann-Whitney with tied ranks averaged; NaN when one class is absent).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
import torch
from scipy.stats import rankdata

from predictors.learned_features import FeatureConfig, featurize
from predictors.learned_model import LearnedModel, Net
from simulator.errors import UserError
from simulator.pools.pool import Pool
from simulator.seeds import rng_for

__all__ = ["auc", "evaluate", "heldout_index", "predict_arrays", "split", "train"]

MAD_TO_SD = 1.4826


@contextmanager
def _threads(n: int) -> Iterator[None]:
    old = torch.get_num_threads()
    torch.set_num_threads(max(1, min(n, old)))
    try:
        yield
    finally:
        torch.set_num_threads(old)


def split(pool: Pool, test_frac: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(train rows, held-out rows) of ``pool``, by query, from ``rng_for(seed, ...)``."""
    if not 0.0 < test_frac < 1.0:
        raise UserError(f"--test-frac must be in (0, 1), got {test_frac}")
    n = len(pool)
    n_test = min(max(int(round(test_frac * n)), 1), n - 1)
    if n < 2:
        raise UserError("the pool needs at least 2 queries to hold some out")
    perm = rng_for(seed, "predictor", "split").permutation(n)
    return np.sort(perm[n_test:]), np.sort(perm[:n_test])


def auc(score: np.ndarray, label: np.ndarray) -> float:
    """Area under the ROC curve of ``score`` for boolean ``label`` (NaN if one class)."""
    label = np.asarray(label, dtype=bool)
    n_pos, n_neg = int(label.sum()), int((~label).sum())
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    r = rankdata(score)
    return float((r[label].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def _targets(pool: Pool, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(ln length (ln tokens; 0 at padding), valid-rollout mask, solvable) of ``rows``."""
    valid = pool.valid[rows]
    # Padding of a pool with fewer rollouts on some queries is 0 tokens: no ln(0).
    y = np.log(np.where(valid, pool.lengths[rows], 1).astype(np.float64))
    return y, valid, pool.solvable[rows]


def train(pool: Pool, epochs: int = 30, seed: int = 0, test_frac: float = 0.2,
          hidden: tuple[int, int] = (32, 16), lr: float = 3e-3, weight_decay: float = 1e-2,
          batch: int = 64, word_dim: int = 1024, char_dim: int = 1024) -> LearnedModel:
    """Fit a :class:`LearnedModel` on the training split of ``pool`` and validate it.

    Args:
        pool: the rollout pool (lengths in tokens).
        epochs: passes over the training queries.
        seed: seeds the split, the initial weights and the batch order.
        test_frac: share of queries held out for validation.
        hidden: hidden layer widths.
        lr: AdamW learning rate.
        weight_decay: AdamW weight decay.
        batch: queries per step.
        word_dim: hash buckets for word n-grams.
        char_dim: hash buckets for character n-grams.

    Returns:
        The model, with ``log_spread`` and ``metrics`` from the held-out split.
    """
    if epochs < 1:
        raise UserError(f"--epochs must be >= 1, got {epochs}")
    tr, te = split(pool, test_frac, seed)
    cfg = FeatureConfig.for_pool(pool, word_dim, char_dim)
    x = torch.from_numpy(featurize(cfg, pool, tr))
    y_np, m_np, s_np = _targets(pool, tr)
    mean = float(y_np[m_np].mean())
    sd = float(max(y_np[m_np].std(), 1e-6))
    y = torch.from_numpy(np.where(m_np, (y_np - mean) / sd, 0.0)).float()
    mask = torch.from_numpy(m_np).float()
    solv = torch.from_numpy(s_np).float()
    with torch.random.fork_rng(), _threads(2):
        torch.manual_seed(seed)
        net = Net(cfg.input_dim, hidden)
        opt = torch.optim.AdamW(net.parameters(), lr=lr, weight_decay=weight_decay)
        bce = torch.nn.BCEWithLogitsLoss()
        gen = torch.Generator().manual_seed(seed)
        net.train()
        for _ in range(epochs):
            for b in torch.randperm(len(tr), generator=gen).split(batch):
                mu, logit = net(x[b])
                mse = ((y[b] - mu[:, None]) ** 2 * mask[b]).sum() / mask[b].sum()
                loss = mse + bce(logit, solv[b])
                opt.zero_grad()
                loss.backward()
                opt.step()
        net.eval()
    model = LearnedModel(net, cfg, mean, sd, 1.0, {}, pool.ids[tr].tolist(), seed, test_frac,
                         hidden)
    metrics = evaluate(model, pool, te)
    model.log_spread = metrics["spread"]
    model.metrics = metrics
    return model


def predict_arrays(model: LearnedModel, pool: Pool, rows: np.ndarray
                   ) -> tuple[np.ndarray, np.ndarray]:
    """(predicted mean ln length in ln tokens, solvability probability) for ``rows``."""
    x = torch.from_numpy(featurize(model.features, pool, rows))
    with torch.no_grad(), _threads(2):
        mu, logit = model.net(x)
    return (mu.double().numpy() * model.target_sd + model.target_mean,
            torch.sigmoid(logit).double().numpy())


def heldout_index(model: LearnedModel, pool: Pool) -> np.ndarray:
    """Rows of ``pool`` whose id was not used to train ``model``."""
    seen = set(model.train_ids)
    return np.flatnonzero([i not in seen for i in pool.ids.tolist()])


def evaluate(model: LearnedModel, pool: Pool, rows: np.ndarray | None = None
             ) -> dict[str, float]:
    """Held-out figures (see module docstring) on ``rows`` (default: unseen queries).

    Raises:
        UserError: no unseen query to evaluate on, or an incompatible pool.
    """
    rows = heldout_index(model, pool) if rows is None else np.asarray(rows, dtype=np.int64)
    if rows.size == 0:
        raise UserError("every query of this pool was used for training; evaluate on "
                        "the pool it was trained on (held-out split) or on another pool")
    mu, q = predict_arrays(model, pool, rows)
    y, m, solv = _targets(pool, rows)
    res = (y - mu[:, None])[m]
    obs = y[m]
    ss_tot = float(((obs - obs.mean()) ** 2).sum())
    return {
        "r2": 1.0 - float((res**2).sum()) / ss_tot if ss_tot > 0 else float("nan"),
        "mae": float(np.abs(res).mean()),
        "spread_sd": float(res.std()),
        "spread": float(MAD_TO_SD * np.median(np.abs(res - np.median(res)))),
        "auc": auc(q, solv),
        "queries": float(rows.size),
        "rollouts": float(m.sum()),
    }

"""Fit utility forms to accuracy-vs-cap curves of rollouts (``clearsim pool fit``).

Input: a group of queries with K_i rollouts each (lengths in tokens, grades). Its
empirical curve is A(t) = mean_i A_i(t), A_i(t) = mean_k 1[c_ik and l_ik <= t], on a
geometric grid of caps (:func:`cap_grid`). Two readings of a form are fitted:

* ``accuracy``: the form *is* A(t). Least squares of the form against the empirical
  curve on the grid (points evenly spaced in ln t), several starts, bounded parameters
  (``scipy.optimize.least_squares``). Every form has this reading; for ``surge`` it is
  model.md's reading.
* ``density``: the form's derivative is the density of the lengths of correct rollouts
  (the paper's Fig. 2 fits its surge to counts of correct rollouts per length bin).
  Maximum likelihood over the rollouts: a correct rollout of length l contributes
  ``ln q + ln f(l)``, any other ``ln(1 - q)``; each rollout weighs 1/K_i so every query
  counts once. q has the closed form (the weighted share of correct
  rollouts). For ``surge`` the density is x exp(-beta x) (a shifted Gamma(2)), so its
  accuracy curve is the surge-integral; the sigmoids get their own density rows.

The curve covers caps below the group's smallest collection cap (:func:`cap_grid` with
``max_cap = min(max_tokens) - 1``): a correct rollout cut at the cap (a boxed answer
followed by a loop to the cap) counts only at t >= L_max, so it is an atom at the cap,
not part of the thinking-length distribution, and is treated as not correct within the
grid in both readings.

For every fit: the RMSE of its accuracy curve against the empirical one on the grid,
and a binomial log-likelihood of the curve, ``sum_g N [A_g ln p_g + (1 - A_g) ln(1 - p_g)]``
(N queries), with AIC = 2 * 3 - 2 ll. **Caveat**: the same rollouts are reused at
every cap, so the grid points are not independent; this log-likelihood is a pseudo
log-likelihood that grows with the grid size, and only differences between forms on
the same group and grid mean anything. The density rows also report the exact
log-likelihood of the rollouts (``loglik_lengths``, the one they maximise).

Pure numpy/scipy, deterministic (fixed starts, no randomness).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import least_squares, minimize
from scipy.special import log_expit

from simulator.allocation.forms import FORMS, get_form

__all__ = ["READINGS", "CurveData", "FitResult", "cap_grid", "curve_data", "fit_accuracy",
           "fit_density", "fit_group"]

READINGS = ("accuracy", "density")
DENSITY_FORMS = ("surge", "logistic", "lognormal")  #: surge-integral's density = surge's
GRID_POINTS = 64
MIN_CAP = 16.0
N_PARAMS = 3


@dataclass(frozen=True)
class CurveData:
    """One group's rollouts, flattened, and its empirical curve on a grid.

    Attributes:
        grid: (G,) caps in tokens.
        accuracy: (G,) mean_i A_i(t) at each cap.
        queries: number of queries N.
        length: (R,) rollout lengths (tokens).
        correct: (R,) grades.
        at_cap: (R,) cut at the query's collection cap.
        weight: (R,) 1 / K_i of the rollout's query.
    """

    grid: np.ndarray
    accuracy: np.ndarray
    queries: int
    length: np.ndarray
    correct: np.ndarray
    at_cap: np.ndarray
    weight: np.ndarray


@dataclass(frozen=True)
class FitResult:
    """One form fitted in one reading.

    Attributes:
        form: the form name; reading: "accuracy" or "density".
        params: the fitted parameters (``Form.params`` names; surge density rows use the
            surge-integral's, since that is their accuracy curve).
        curve_form: the form whose curve these parameters give (surge density:
            surge-integral).
        rmse: RMSE of the fitted curve on the grid (accuracy units).
        loglik / aic: binomial pseudo log-likelihood of the curve and its AIC.
        loglik_lengths: exact rollout log-likelihood (density rows), else None.
    """

    form: str
    reading: str
    params: dict[str, float]
    curve_form: str
    rmse: float
    loglik: float
    aic: float
    loglik_lengths: float | None = None
    curve: np.ndarray = field(default_factory=lambda: np.zeros(0), repr=False)


def cap_grid(max_cap: float, points: int = GRID_POINTS) -> np.ndarray:
    """Geometric grid of caps from MIN_CAP to ``max_cap`` tokens (distinct values)."""
    return np.unique(np.geomspace(MIN_CAP, max(float(max_cap), MIN_CAP * 2), points))


def curve_data(lengths: np.ndarray, correct: np.ndarray, valid: np.ndarray,
               max_tokens: np.ndarray, grid: np.ndarray) -> CurveData:
    """The group's :class:`CurveData` from padded (N, K) pool arrays."""
    k = valid.sum(axis=1)
    good = correct & valid
    hit = good[:, None, :] & (lengths[:, None, :] <= grid[None, :, None])
    acc = (hit.sum(axis=2) / k[:, None]).mean(axis=0)
    rows = np.broadcast_to(np.arange(lengths.shape[0])[:, None], valid.shape)[valid]
    length = lengths[valid].astype(np.float64)
    return CurveData(grid=np.asarray(grid, dtype=np.float64), accuracy=acc,
                     queries=int(lengths.shape[0]), length=length, correct=correct[valid],
                     at_cap=length >= max_tokens[rows], weight=1.0 / k[rows])


def _pseudo_ll(p: np.ndarray, acc: np.ndarray, n: int) -> float:
    p = np.clip(p, 1e-9, 1 - 1e-9)
    return float(n * np.sum(acc * np.log(p) + (1 - acc) * np.log1p(-p)))


def _result(form: str, reading: str, curve_form: str, theta: np.ndarray, data: CurveData,
            ll_lengths: float | None = None) -> FitResult:
    curve = get_form(curve_form).curve(data.grid, theta[None, :])[0]
    ll = _pseudo_ll(curve, data.accuracy, data.queries)
    return FitResult(form, reading, dict(zip(get_form(curve_form).params,
                                             (float(v) for v in theta), strict=True)),
                     curve_form, float(np.sqrt(np.mean((curve - data.accuracy) ** 2))),
                     ll, 2 * N_PARAMS - 2 * ll, ll_lengths, curve)


def _starts(form: str, data: CurveData) -> tuple[list[np.ndarray], list[tuple[float, ...]],
                                                 list[tuple[float, ...]]]:
    """Starts (in the fit's coordinates), lower and upper bounds."""
    g, a = data.grid, data.accuracy
    top = max(float(a.max()), 1e-3)
    half = float(g[min(int(np.searchsorted(a, top / 2)), g.size - 1)])
    lg = np.log(g)
    if form in ("logistic", "lognormal"):
        lo, hi = (0.0, lg[0] - 5, 0.01), (1.0, lg[-1] + 5, 10.0)
        starts = [np.array([top, np.log(half), s]) for s in (0.2, 0.6, 1.5)]
        return starts, [lo], [hi]
    peak = float(g[int(np.argmax(a))])
    if form == "surge":   # coordinates (ln alpha, ln beta, shift)
        starts = []
        for c in (0.0, 0.5):
            xp = max(peak * (1 - c), 1.0)
            starts.append(np.array([np.log(top * np.e / xp), -np.log(xp), c * peak]))
        lo, hi = (-40.0, -25.0, 0.0), (10.0, 5.0, float(g[-1]))
        return starts, [lo], [hi]
    # surge-integral, coordinates (q, ln beta, shift)
    starts = [np.array([top, -np.log(max(half * w, 1.0)), half * c])
              for w, c in ((0.6, 0.0), (0.3, 0.5), (0.1, 0.9))]
    return starts, [(0.0, -25.0, 0.0)], [(1.0, 5.0, float(g[-1]))]


def _to_theta(form: str, z: np.ndarray) -> np.ndarray:
    if form == "surge":
        return np.array([np.exp(z[0]), np.exp(z[1]), z[2]])
    if form == "surge-integral":
        return np.array([z[0], np.exp(z[1]), z[2]])
    return z.copy()


def fit_accuracy(form: str, data: CurveData) -> FitResult:
    """Least-squares fit of ``form`` read as the accuracy curve (best of several starts)."""
    f = get_form(form)
    starts, lo, hi = _starts(form, data)
    best: tuple[float, np.ndarray] | None = None
    for z0 in starts:
        z0 = np.clip(z0, np.array(lo[0]) + 1e-9, np.array(hi[0]) - 1e-9)
        with np.errstate(all="ignore"):
            res = least_squares(lambda z: f.curve(data.grid, _to_theta(form, z)[None, :])[0]
                                - data.accuracy, z0, bounds=(lo[0], hi[0]), method="trf",
                                x_scale="jac", max_nfev=400)
        if best is None or res.cost < best[0]:
            best = (float(res.cost), res.x)
    assert best is not None
    return _result(form, "accuracy", form, _to_theta(form, best[1]), data)


def _log_density(form: str, x: np.ndarray, z: np.ndarray) -> np.ndarray:
    """ln f(x) of the normalised length distribution of ``form`` (x in tokens)."""
    if form == "surge":     # shifted Gamma(2, 1/beta); z = (ln beta, shift)
        b, c = np.exp(z[0]), z[1]
        u = b * np.maximum(x - c, 0.0)
        with np.errstate(divide="ignore"):
            return np.where(x > c, 2 * np.log(b) + np.log(np.maximum(x - c, 1e-300)) - u,
                            -np.inf)
    m, s = z[0], np.exp(z[1])
    v = (np.log(x) - m) / s
    if form == "lognormal":
        return -0.5 * v * v - 0.5 * np.log(2 * np.pi) - np.log(s) - np.log(x)
    return log_expit(v) + log_expit(-v) - np.log(s) - np.log(x)


def fit_density(form: str, data: CurveData) -> FitResult:
    """Maximum-likelihood fit of ``form`` read as the density of correct lengths."""
    if form not in DENSITY_FORMS:
        raise ValueError(f"no density reading for {form!r}; valid: {', '.join(DENSITY_FORMS)}")
    w, c = data.weight, data.correct
    done = c & ~data.at_cap & (data.length <= data.grid[-1])
    wq = float(w[done].sum())
    q = min(max(wq / float(w.sum()), 1e-9), 1 - 1e-9)
    x_done, w_done = data.length[done], w[done]
    base = wq * np.log(q) + (float(w.sum()) - wq) * np.log1p(-q)
    if x_done.size == 0:
        raise ValueError("fit_density: the group has no correct rollout below its cap")
    lx = np.log(x_done)
    mean = float(np.average(lx, weights=w_done))
    sd = float(np.sqrt(np.average((lx - mean) ** 2, weights=w_done))) or 0.1

    def nll(z: np.ndarray) -> float:
        val = float(w_done @ _log_density(form, x_done, z))
        return -val if np.isfinite(val) else 1e300

    if form == "surge":
        lmin = float(x_done.min())
        spread = max(float(np.exp(mean)) * sd, 1.0)
        starts = [np.array([np.log(np.sqrt(2) / spread), max(lmin * f, 0.0)])
                  for f in (0.0, 0.5, 0.9)]
    else:
        scale = 1.0 if form == "lognormal" else np.sqrt(3) / np.pi
        starts = [np.array([mean, np.log(sd * scale)])]
    bounds = [(-25.0, 5.0), (0.0, float(x_done.min()) - 1e-6)] if form == "surge" \
        else [(-5.0, 15.0), (-6.0, 3.0)]
    best = min((minimize(nll, np.clip(z0, [b[0] for b in bounds], [b[1] for b in bounds]),
                         method="Nelder-Mead", bounds=bounds,
                         options={"xatol": 1e-7, "fatol": 1e-9, "maxiter": 4000})
                for z0 in starts), key=lambda r: float(r.fun))
    z = best.x
    if form == "surge":
        theta = np.array([q, np.exp(z[0]), z[1]])
        curve_form = "surge-integral"
    else:
        theta = np.array([q, z[0], np.exp(z[1])])
        curve_form = form
    return _result(form, "density", curve_form, theta, data, base - float(best.fun))


def fit_group(data: CurveData, forms: Sequence[str] = tuple(FORMS),
              readings: Sequence[str] = READINGS) -> list[FitResult]:
    """Every requested form in every reading it has (density: :data:`DENSITY_FORMS`)."""
    out = []
    for form in forms:
        get_form(form)
        if "accuracy" in readings:
            out.append(fit_accuracy(form, data))
        if "density" in readings and form in DENSITY_FORMS and (
                data.correct & ~data.at_cap & (data.length <= data.grid[-1])).any():
            out.append(fit_density(form, data))
    return out



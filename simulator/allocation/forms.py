"""Utility forms: accuracy-vs-cap curves A(t) that a fit or a shadow-price policy can use.

Each form is a curve of the cap t (tokens) with three parameters ``theta`` (rows of an
(n, 3) array, one per curve):

============== =============================================== ============================
form           A(t)                                            theta
============== =============================================== ============================
surge          alpha * x * exp(-beta * x),  x = t - shift > 0   (alpha, beta, shift)
surge-integral q * (1 - (1 + beta x) exp(-beta x)), x > 0       (q, beta, shift)
logistic       q / (1 + exp(-(ln t - m) / s))                   (q, m, s)
lognormal      q * Phi((ln t - m) / s)                          (q, m, s)
============== =============================================== ============================

``surge`` is model.md section 3's reading (the surge is the accuracy itself: it rises
and then falls past x = 1/beta). ``surge-integral`` reads the surge as the density of
correct lengths (paper Fig. 2), so the accuracy is its integral: an S-curve with the
Strict, Surge and Ample phases, plateau q. The two sigmoids in ln t are its peers.

Every S-shaped form (all but ``surge``) is also a shadow-price utility (see
:mod:`simulator.allocation.envelope`), which needs, per form, the log of the marginal
utility ``ln A'(t)`` and the cap at which A' peaks (the inflection: A is convex below it
and concave above). Units: t in tokens, alpha and A' per token, m and s in ln tokens.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy.special import expit, lambertw, log_expit, log_ndtr, ndtr

__all__ = ["FORMS", "S_FORMS", "Form", "get_form", "lognormal_to"]

LOG_SQRT_2PI = 0.5 * np.log(2.0 * np.pi)
#: median of the Gamma(2, 1) distribution: the surge-integral's median is
#: shift + GAMMA2_MEDIAN / beta (the root of (1 + u) e^-u = 1/2).
GAMMA2_MEDIAN = 1.6783469900166608
#: the logistic in ln t whose SD equals a normal's s has scale s * sqrt(3) / pi.
LOGISTIC_SCALE = np.sqrt(3.0) / np.pi

Curve = Callable[[np.ndarray, np.ndarray], np.ndarray]


def _col(theta: np.ndarray, j: int) -> np.ndarray:
    return np.asarray(theta, dtype=np.float64)[..., j, None]


def _surge(t: np.ndarray, theta: np.ndarray) -> np.ndarray:
    x = np.asarray(t, dtype=np.float64) - _col(theta, 2)
    xp = np.maximum(x, 0.0)
    return np.where(x > 0, _col(theta, 0) * xp * np.exp(-_col(theta, 1) * xp), 0.0)


def _surge_integral(t: np.ndarray, theta: np.ndarray) -> np.ndarray:
    u = _col(theta, 1) * np.maximum(np.asarray(t, dtype=np.float64) - _col(theta, 2), 0.0)
    return _col(theta, 0) * -np.expm1(np.log1p(u) - u)


def _z(t: np.ndarray, theta: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore"):
        return (np.log(np.asarray(t, dtype=np.float64)) - _col(theta, 1)) / _col(theta, 2)


def _logistic(t: np.ndarray, theta: np.ndarray) -> np.ndarray:
    return _col(theta, 0) * expit(_z(t, theta))


def _lognormal(t: np.ndarray, theta: np.ndarray) -> np.ndarray:
    return _col(theta, 0) * ndtr(_z(t, theta))


def _log_marginal_si(t: np.ndarray, theta: np.ndarray) -> np.ndarray:
    q, b, c = theta[:, 0], theta[:, 1], theta[:, 2]
    x = t - c
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.log(q) + 2.0 * np.log(b) + np.log(np.maximum(x, 0.0)) - b * x
    return np.where(x > 0, out, -np.inf)


def _log_marginal_logistic(t: np.ndarray, theta: np.ndarray) -> np.ndarray:
    q, m, s = theta[:, 0], theta[:, 1], theta[:, 2]
    z = (np.log(t) - m) / s
    return np.log(q) + log_expit(z) + log_expit(-z) - np.log(s) - np.log(t)


def _log_marginal_lognormal(t: np.ndarray, theta: np.ndarray) -> np.ndarray:
    q, m, s = theta[:, 0], theta[:, 1], theta[:, 2]
    z = (np.log(t) - m) / s
    return np.log(q) - 0.5 * z * z - LOG_SQRT_2PI - np.log(s) - np.log(t)


def _inflection_si(theta: np.ndarray) -> np.ndarray:
    return theta[:, 2] + 1.0 / theta[:, 1]


def _inflection_logistic(theta: np.ndarray) -> np.ndarray:
    # d ln A'/d ln t = (1 - 2 sigma(z)) / s - 1 = 0  ->  sigma(z) = (1 - s) / 2
    s = np.minimum(theta[:, 2], 1.0 - 1e-9)
    p = (1.0 - s) / 2.0
    return np.exp(theta[:, 1] + theta[:, 2] * np.log(p / (1.0 - p)))


def _inflection_lognormal(theta: np.ndarray) -> np.ndarray:
    return np.exp(theta[:, 1] - theta[:, 2] ** 2)


def _best_si(log_lam: float, theta: np.ndarray) -> np.ndarray:
    """ln t on the falling side of the marginal: q b u e^-u = lambda, u = b (t - c) > 1.

    u = -W_{-1}(-r) with r = lambda / (q b); for tiny r the asymptote -ln r + ln(-ln r).
    """
    q, b, c = theta[:, 0], theta[:, 1], theta[:, 2]
    log_r = np.minimum(log_lam - np.log(q) - np.log(b), -1.0)
    big = log_r < -300.0
    r = np.exp(np.where(big, -1.0, log_r))
    u = np.where(big, -log_r + np.log(-log_r),
                 -np.real(lambertw(-r, k=-1)))
    return np.log(c + np.maximum(u, 1.0) / b)


def _best_lognormal(log_lam: float, theta: np.ndarray) -> np.ndarray:
    """ln t with q phi(z) / (s t) = lambda on the concave side (closed form in z)."""
    q, m, s = theta[:, 0], theta[:, 1], theta[:, 2]
    w = np.sqrt(np.maximum(-2.0 * (log_lam + np.log(s) + m - np.log(q) - 0.5 * s * s
                                   + LOG_SQRT_2PI), 0.0))
    return m + s * (w - s)


def _best_logistic(log_lam: float, theta: np.ndarray) -> np.ndarray:
    """ln t with ln q + ln sig(z) + ln sig(-z) - ln s - ln t = ln lambda, by Newton in z.

    g(z) = ln sig(z) + ln sig(-z) - s z - c is concave and falling on the concave side,
    and g <= 0 at z0 = -c / (1 + s), so Newton from z0 rises monotonically to the root.
    """
    q, m, s = theta[:, 0], theta[:, 1], theta[:, 2]
    c = log_lam + np.log(s) + m - np.log(q)
    z = -c / (1.0 + s)
    for _ in range(40):
        g = log_expit(z) + log_expit(-z) - s * z - c
        dg = 1.0 - 2.0 * expit(z) - s
        z = z - g / np.minimum(dg, -1e-12)
    return m + s * z


BestResponse = Callable[[float, np.ndarray], np.ndarray]


@dataclass(frozen=True)
class Form:
    """One utility form.

    Attributes:
        name: the registry key (``--forms``, the policy's ``utility`` parameter).
        params: the names of the three parameters, in ``theta`` order.
        curve: ``curve(t, theta)``: A at caps ``t`` (last axis) for each row of ``theta``.
        log_marginal: ``(t, theta) -> ln A'(t)`` elementwise over queries (S-forms).
        inflection: ``theta -> t`` where A' peaks (S-forms).
        best_response: ``(ln lambda, theta) -> ln t`` with A'(t) = lambda on the concave
            side (S-forms; the caller keeps t at or above the tangent point).
    """

    name: str
    params: tuple[str, str, str]
    curve: Curve
    log_marginal: Curve | None = None
    inflection: Callable[[np.ndarray], np.ndarray] | None = None
    best_response: BestResponse | None = None

    @property
    def s_shaped(self) -> bool:
        """True for a (defective) CDF: rising from 0 to a plateau, convex then concave."""
        return self.log_marginal is not None


FORMS: dict[str, Form] = {
    "surge": Form("surge", ("alpha", "beta", "shift"), _surge),
    "surge-integral": Form("surge-integral", ("q", "beta", "shift"), _surge_integral,
                           _log_marginal_si, _inflection_si, _best_si),
    "logistic": Form("logistic", ("q", "m", "s"), _logistic, _log_marginal_logistic,
                     _inflection_logistic, _best_logistic),
    "lognormal": Form("lognormal", ("q", "m", "s"), _lognormal, _log_marginal_lognormal,
                      _inflection_lognormal, _best_lognormal),
}
S_FORMS: tuple[str, ...] = tuple(n for n, f in FORMS.items() if f.s_shaped)


def get_form(name: str) -> Form:
    """The form called ``name``.

    Raises:
        ValueError: naming the valid forms.
    """
    if name not in FORMS:
        raise ValueError(f"unknown utility form {name!r}; valid: {', '.join(FORMS)}")
    return FORMS[name]


def lognormal_to(name: str, q: np.ndarray, median: np.ndarray, spread: np.ndarray
                 ) -> np.ndarray:
    """(n, 3) parameters of S-form ``name`` matched to a lognormal's median and spread.

    A predictor gives each query a median threshold T (tokens) and a spread s of
    ln(length) around it; the lognormal is ``(q, ln T, s)``. The logistic keeps the
    median and the SD in ln t (scale ``s sqrt(3) / pi``). The surge-integral keeps the
    median and matches its SD in tokens, sqrt(2) / beta, to the lognormal's ``T s``:
    beta = sqrt(2) / (T s) and shift = T - GAMMA2_MEDIAN / beta, floored at 0 (for
    s > 0.84 the median then sits above T). As s -> 0 every form tends to a step at T.
    """
    q = np.asarray(q, dtype=np.float64)
    t = np.asarray(median, dtype=np.float64)
    s = np.asarray(spread, dtype=np.float64)
    if name == "lognormal":
        return np.stack([q, np.log(t), s], axis=1)
    if name == "logistic":
        return np.stack([q, np.log(t), s * LOGISTIC_SCALE], axis=1)
    if name == "surge-integral":
        beta = np.sqrt(2.0) / (t * s)
        return np.stack([q, beta, np.maximum(t - GAMMA2_MEDIAN / beta, 0.0)], axis=1)
    raise ValueError(f"no S-shaped utility {name!r}; valid: {', '.join(S_FORMS)}")


def log_curve(form: Form, t: np.ndarray, theta: np.ndarray) -> np.ndarray:
    """ln A(t) per query (t (n,), theta (n, 3)), in logs where it matters (lognormal)."""
    if form.name == "lognormal":
        return np.log(theta[:, 0]) + log_ndtr((np.log(t) - theta[:, 1]) / theta[:, 2])
    if form.name == "logistic":
        return np.log(theta[:, 0]) + log_expit((np.log(t) - theta[:, 1]) / theta[:, 2])
    with np.errstate(divide="ignore"):
        return np.log(form.curve(t[:, None], theta)[:, 0])

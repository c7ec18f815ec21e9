"""A trace the project generates itself, matched to figures of the Azure LLM code trace.

``scenarios/azure-code-trace.yaml`` replays the real trace when ``../shared`` holds it
and this generated one (``scenarios/traces/azure-code-synthetic.csv``, same CSV format)
otherwise. No row of the real trace is copied: only the summary figures below, each
computed from the real file by ``bench/trace_figures.py`` (which prints them beside the
generated trace's), are written down here.

Source: AzurePublicDataset (github.com/Azure/AzurePublicDataset, commit
b469a113cedca53ddc3bdea71a143dc4b7d8700c), ``data/AzureLLMInferenceTrace_code.csv``
(CC-BY-4.0, Microsoft Azure; the Splitwise paper's code trace), as read from
``../shared/data/traces/azure-llm-2023/``: 8,819 data rows over 3,436 s.

Generative model (seeded, deterministic): a multiplicative cascade of rates,

1. per 60 s bin, a gamma-distributed rate factor (mean 1);
2. per 10 s sub-bin, an on/off factor (on with probability p_a, then 1 / p_a);
3. per 1 s sub-bin, another on/off factor (p_b);
4. the product scaled to the real mean rate (2.534 per s over the 58 minutes), Poisson
   counts per second, arrivals uniform within the second;
5. prompt (``ContextTokens``) and output (``GeneratedTokens``) lengths drawn from the
   real quantiles (below), interpolated linearly in log space between them.

The three factor variances are solved so the counts' variance-to-mean ratios over 60,
10 and 1 s match the real ones (160.5, 71.3, 13.2); they are independent of the lengths.
Known gaps (``bench/trace_figures.py`` prints both): the real trace clusters requests
within the second too, so its gaps are burstier (CV 13.2, the generated one's lower),
and its per-minute counts come in runs that a per-minute draw does not reproduce.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import polars as pl

from simulator.atomic import atomic_write_text
from simulator.seeds import rng_for

__all__ = ["FIGURES", "TraceFigures", "figures_of", "generate", "main"]

@dataclass(frozen=True)
class TraceFigures:
    """Summary figures of an arrival trace (counts per bin, length quantiles)."""

    rows: int
    span_s: float
    count_60s_mean: float
    count_60s_sd: float
    count_10s_var_to_mean: float
    count_1s_var_to_mean: float
    gap_cv: float
    prompt_mean: float
    prompt_quantiles: tuple[tuple[float, int], ...]  #: (probability, tokens)
    generated_quantiles: tuple[tuple[float, int], ...]


#: Figures of the real code trace (see the module docstring for the source); the
#: quantiles are min, q01, q05, q10, q25, q50, q75, q90, q95, q99, max.
FIGURES = TraceFigures(
    rows=8819, span_s=3435.95, count_60s_mean=152.05, count_60s_sd=156.24,
    count_10s_var_to_mean=71.30, count_1s_var_to_mean=13.18, gap_cv=13.15, prompt_mean=2047.85,
    prompt_quantiles=((0.0, 3), (0.01, 17), (0.05, 75), (0.10, 147), (0.25, 578),
                      (0.50, 1469), (0.75, 2744), (0.90, 5188), (0.95, 7303),
                      (0.99, 7436), (1.0, 7437)),
    generated_quantiles=((0.0, 6), (0.01, 6), (0.05, 6), (0.10, 7), (0.25, 9),
                         (0.50, 13), (0.75, 24), (0.90, 55), (0.95, 90), (0.99, 251),
                         (1.0, 1899)),
)
ORIGIN = datetime(2023, 11, 16, 18, 17, 3)  # the real trace's first minute (wall clock)


def _from_quantiles(table: tuple[tuple[float, int], ...], u: np.ndarray) -> np.ndarray:
    prob = np.array([p for p, _ in table])
    logv = np.log(np.array([v for _, v in table], dtype=np.float64))
    return np.round(np.exp(np.interp(u, prob, logv))).astype(np.int64)


def generate(seed: int = 0, span_s: float | None = None,
             fig: TraceFigures = FIGURES) -> pl.DataFrame:
    """Rows ``TIMESTAMP, ContextTokens, GeneratedTokens`` over ``span_s`` seconds
    (default the real trace's span), matched to ``fig``."""
    span_s = fig.span_s if span_s is None else span_s
    rng = rng_for(seed, "synthetic-trace")
    m1 = fig.count_60s_mean / 60.0
    # squared-CV products of the rate averaged over 60, 10 and 1 s, net of Poisson noise
    t60, t10, t1 = (1.0 + (vm - 1.0) / (m1 * w) for vm, w in (
        (fig.count_60s_sd ** 2 / fig.count_60s_mean, 60), (fig.count_10s_var_to_mean, 10),
        (fig.count_1s_var_to_mean, 1)))
    r1 = t1 / t10
    v_b = (r1 - 1.0) / (1.0 - r1 / 10.0)  # 1 s on/off multiplier variance
    r2 = t10 / t60 / ((1.0 + v_b / 10.0) / (1.0 + v_b / 60.0))
    v_a = (r2 - 1.0) / (1.0 - r2 / 6.0)  # 10 s on/off multiplier variance
    c_r = t60 / ((1.0 + v_a / 6.0) * (1.0 + v_b / 60.0)) - 1.0  # minute-rate CV^2
    n_min = int(np.ceil(span_s / 60.0))
    minute = rng.gamma(1.0 / c_r, c_r, n_min)
    on10 = (rng.random((n_min, 6)) < 1.0 / (1.0 + v_a)) * (1.0 + v_a)
    on1 = (rng.random((n_min, 6, 10)) < 1.0 / (1.0 + v_b)) * (1.0 + v_b)
    rate = (minute[:, None, None] * on10[:, :, None] * on1).ravel()
    rate *= m1 / rate.mean()  # the real mean rate exactly; the burstiness as drawn
    counts = rng.poisson(rate)
    starts = np.repeat(np.arange(counts.size, dtype=np.float64), counts)
    times = np.sort(starts + rng.uniform(0.0, 1.0, starts.size))
    times = times[times < span_s]
    prompt = _from_quantiles(fig.prompt_quantiles, rng.random(times.size))
    gen = _from_quantiles(fig.generated_quantiles, rng.random(times.size))
    stamps = [(ORIGIN + timedelta(microseconds=int(round(t * 1e6)))).strftime(
        "%Y-%m-%d %H:%M:%S.%f") + "0" for t in times]
    return pl.DataFrame({"TIMESTAMP": stamps, "ContextTokens": prompt,
                         "GeneratedTokens": gen})


def figures_of(times: np.ndarray, prompts: np.ndarray,
               generated: np.ndarray) -> TraceFigures:
    """The :class:`TraceFigures` of a trace (times in s from its first row)."""
    t = np.sort(times - times.min())
    c60 = np.bincount((t // 60).astype(np.int64))
    c10 = np.bincount((t // 10).astype(np.int64))
    c1 = np.bincount(t.astype(np.int64))
    gaps = np.diff(t)
    probs = [p for p, _ in FIGURES.prompt_quantiles]

    def table(v: np.ndarray) -> tuple[tuple[float, int], ...]:
        return tuple((p, int(round(float(q)))) for p, q in zip(probs, np.quantile(v, probs),
                                                                strict=True))

    return TraceFigures(
        rows=int(t.size), span_s=round(float(t[-1]), 2),
        count_60s_mean=round(float(c60.mean()), 2), count_60s_sd=round(float(c60.std()), 2),
        count_10s_var_to_mean=round(float(c10.var() / c10.mean()), 2),
        count_1s_var_to_mean=round(float(c1.var() / c1.mean()), 2),
        gap_cv=round(float(gaps.std() / gaps.mean()), 2),
        prompt_mean=round(float(prompts.mean()), 2), prompt_quantiles=table(prompts),
        generated_quantiles=table(generated))


def main(argv: list[str] | None = None) -> int:
    """Write the generated trace (``python -m simulator.traffic.synthetic_trace``)."""
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default="scenarios/traces/azure-code-synthetic.csv")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    frame = generate(args.seed)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(frame.write_csv(), args.out)
    print(f"wrote {args.out}: {frame.height} rows")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

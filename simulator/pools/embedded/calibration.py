"""Real calibration figures for the synthetic default pool, with their source.

Source: THIP qwen7b-rl rollouts (GitHub ``Thrillcrazyer/THIP`` eval_results, snapshot
commit dcc193a4ad8f2a0106506fd5de8efd52ba9fd933, Apache-2.0), as shipped in
``../shared/data/rollouts/thip-qwen7b-rl/rollouts.csv`` (one row per response; 2-4 RL
policies of one Qwen2.5-7B lineage answer each problem once, vLLM temperature 0.6,
``max_model_len`` 16384 = prompt + response tokens).

Computed by ``.venv/bin/python bench/calibrate.py --emit`` (which reads the CSV and prints
this ``REAL`` dict); the same script prints the side-by-side table against the synthetic
pool that docs/pools.md shows. Only aggregate figures are stored here, never data rows.

Units: lengths in generated tokens; ``logmean`` and ``logsd_*`` in ln(tokens) of rollouts
that stopped before the cap; fractions and accuracies in [0, 1]. ``bin_accuracy`` follows
``simulator.pools.stats.LENGTH_BINS`` (<256, <512, <1024, <2048, >=2048 uncapped, capped);
NaN marks an empty bin. ``level_*`` are MATH levels 1-5 (math500 only).
"""

from __future__ import annotations

from simulator.pools.stats import Figures

__all__ = ["BENCHMARKS", "MAX_MODEL_LEN", "REAL", "SOURCE_COMMIT"]

SOURCE_COMMIT = "dcc193a4ad8f2a0106506fd5de8efd52ba9fd933"
#: Collection cap in tokens, prompt included (config.json ``max_model_len``).
MAX_MODEL_LEN = 16384
BENCHMARKS: tuple[str, ...] = ("math500", "minerva_math", "aime2024", "aime2025")

REAL: dict[str, Figures] = {
    "math500": Figures(
        queries=500,
        rollouts=1500,
        accuracy=0.756,
        logmean=6.1386,
        prompt_mean=97.256,
        quantiles=(246.9, 328.8, 469.0, 756.2, 1463.8, 16268.1, 16319.0),
        cap_fraction=0.0827,
        cap_correct=0.4919,
        le_256=0.12,
        correct_le_256=0.114,
        bin_accuracy=(0.95, 0.8948, 0.6389, 0.3854, 0.5, 0.4919),
        logsd_between=0.5057,
        logsd_within=0.2532,
        level_fraction=(0.086, 0.18, 0.21, 0.256, 0.268),
        level_accuracy=(0.9612, 0.9037, 0.8476, 0.7448, 0.5299),
    ),
    "minerva_math": Figures(
        queries=272,
        rollouts=544,
        accuracy=0.375,
        logmean=6.2918,
        prompt_mean=157.511,
        quantiles=(267.3, 401.2, 629.5, 1238.8, 16209.5, 16277.0, 16318.3),
        cap_fraction=0.1912,
        cap_correct=0.2885,
        le_256=0.0882,
        correct_le_256=0.0515,
        bin_accuracy=(0.5833, 0.5287, 0.2909, 0.0541, 0.25, 0.2885),
        logsd_between=0.6152,
        logsd_within=0.4833,
        level_fraction=(),
        level_accuracy=(),
    ),
    "aime2024": Figures(
        queries=30,
        rollouts=120,
        accuracy=0.0833,
        logmean=6.8167,
        prompt_mean=228.4667,
        quantiles=(542.8, 709.2, 931.5, 1286.5, 16022.4, 16115.1, 16283.3),
        cap_fraction=0.1167,
        cap_correct=0.0714,
        le_256=0.0,
        correct_le_256=0.0,
        bin_accuracy=(float("nan"), 0.25, 0.0794, 0.0667, 0.0, 0.0714),
        logsd_between=0.4819,
        logsd_within=0.4441,
        level_fraction=(),
        level_accuracy=(),
    ),
    "aime2025": Figures(
        queries=30,
        rollouts=120,
        accuracy=0.05,
        logmean=6.813,
        prompt_mean=295.8,
        quantiles=(574.3, 732.8, 910.0, 1133.0, 12133.0, 16077.5, 16245.1),
        cap_fraction=0.1,
        cap_correct=0.0,
        le_256=0.0,
        correct_le_256=0.0,
        bin_accuracy=(float("nan"), 0.0909, 0.0448, 0.0769, 0.0, 0.0),
        logsd_between=0.3203,
        logsd_within=0.4898,
        level_fraction=(),
        level_accuracy=(),
    ),
}

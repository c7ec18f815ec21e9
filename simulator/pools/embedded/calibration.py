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

#: Greedy-proxy figures for ``default-greedy`` (K = 1): the FIRST response per problem in
#: rollouts.csv order (the GRPONOTAC policy where it answered, else the next policy),
#: from ``.venv/bin/python bench/calibrate.py --greedy --emit``. THIP sampled at
#: temperature 0.6, so no real greedy decode exists; one sampled answer per problem is
#: the closest K = 1 figure. ``logsd_within`` is undefined for K = 1 (NaN): the
#: synthetic greedy pool takes both length spreads, the prompt lengths and the level
#: shares from :data:`REAL`.
REAL_GREEDY: dict[str, Figures] = {
    "math500": Figures(
        queries=500,
        rollouts=500,
        accuracy=0.758,
        logmean=6.2044,
        prompt_mean=97.256,
        quantiles=(268.0, 349.0, 524.0, 804.2, 1544.7, 16265.1, 16315.0),
        cap_fraction=0.092,
        cap_correct=0.4565,
        le_256=0.084,
        correct_le_256=0.078,
        bin_accuracy=(0.9286, 0.9261, 0.6882, 0.3421, 1.0, 0.4565),
        logsd_between=0.5056,
        logsd_within=float("nan"),
        level_fraction=(0.086, 0.18, 0.21, 0.256, 0.268),
        level_accuracy=(0.9302, 0.9, 0.8762, 0.7344, 0.5373),
    ),
    "minerva_math": Figures(
        queries=272,
        rollouts=272,
        accuracy=0.3676,
        logmean=6.2581,
        prompt_mean=157.511,
        quantiles=(268.2, 385.5, 625.0, 4081.5, 16263.5, 16293.0, 16325.2),
        cap_fraction=0.239,
        cap_correct=0.2154,
        le_256=0.0846,
        correct_le_256=0.0515,
        bin_accuracy=(0.6087, 0.5333, 0.274, 0.1667, 0.2222, 0.2154),
        logsd_between=0.7079,
        logsd_within=float("nan"),
        level_fraction=(),
        level_accuracy=(),
    ),
    "aime2024": Figures(
        queries=30,
        rollouts=30,
        accuracy=0.0667,
        logmean=6.9355,
        prompt_mean=323.4667,
        quantiles=(663.5, 776.0, 987.5, 1756.0, 16039.7, 16093.0, 16111.2),
        cap_fraction=0.1667,
        cap_correct=0.0,
        le_256=0.0,
        correct_le_256=0.0,
        bin_accuracy=(float("nan"), float("nan"), 0.1176, 0.0, 0.0, 0.0),
        logsd_between=0.6214,
        logsd_within=float("nan"),
        level_fraction=(),
        level_accuracy=(),
    ),
    "aime2025": Figures(
        queries=30,
        rollouts=30,
        accuracy=0.0,
        logmean=6.9129,
        prompt_mean=390.8,
        quantiles=(703.5, 817.0, 1031.5, 1201.8, 15917.9, 16017.1, 16083.4),
        cap_fraction=0.1667,
        cap_correct=0.0,
        le_256=0.0,
        correct_le_256=0.0,
        bin_accuracy=(float("nan"), float("nan"), 0.0, 0.0, 0.0, 0.0),
        logsd_between=0.5048,
        logsd_within=float("nan"),
        level_fraction=(),
        level_accuracy=(),
    ),
}

"""Utility-form fits (simulator.allocation.fit) and ``clearsim pool fit``."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from simulator.allocation.fit import CurveData, cap_grid, curve_data, fit_accuracy, fit_density
from simulator.allocation.forms import FORMS, get_form
from simulator.cli.main import main
from tests.conftest import make_pool, random_pool

TRUE = {
    "surge": np.array([4e-4, 1.5e-3, 120.0]),
    "surge-integral": np.array([0.7, 4e-3, 150.0]),
    "logistic": np.array([0.6, 6.2, 0.3]),
    "lognormal": np.array([0.8, 6.0, 0.5]),
}


def _exact(form: str, theta: np.ndarray) -> CurveData:
    grid = cap_grid(16000)
    acc = get_form(form).curve(grid, theta[None, :])[0]
    empty = np.zeros(0)
    return CurveData(grid, acc, 500, empty, empty.astype(bool), empty.astype(bool), empty)


@pytest.mark.parametrize("form", list(FORMS))
def test_accuracy_fit_recovers_parameters(form: str) -> None:
    fit = fit_accuracy(form, _exact(form, TRUE[form]))
    got = np.array(list(fit.params.values()))
    assert fit.rmse < 1e-5
    assert np.allclose(got, TRUE[form], rtol=2e-3, atol=1e-3 * abs(TRUE[form][2]) + 1e-9)


def _sample(form: str, theta: np.ndarray, n: int, seed: int = 0) -> CurveData:
    """n queries, K = 1: correct with probability q at a length drawn from the form."""
    rng = np.random.default_rng(seed)
    if form == "surge":
        length = theta[2] + rng.gamma(2.0, 1.0 / theta[1], n)
    elif form == "lognormal":
        length = np.exp(theta[1] + theta[2] * rng.standard_normal(n))
    else:
        length = np.exp(theta[1] + theta[2] * rng.logistic(size=n))
    correct = rng.random(n) < theta[0]
    lengths = np.clip(np.rint(length), 1, 16000).astype(np.int64)[:, None]
    good = correct[:, None]
    return curve_data(lengths, good, np.ones_like(good), np.full(n, 16384),
                      cap_grid(16383))


@pytest.mark.parametrize("form,theta", [
    ("surge", np.array([0.7, 4e-3, 150.0])),
    ("lognormal", np.array([0.8, 6.0, 0.5])),
    ("logistic", np.array([0.6, 6.2, 0.3])),
])
def test_density_fit_recovers_parameters(form: str, theta: np.ndarray) -> None:
    fit = fit_density(form, _sample(form, theta, 20000))
    got = np.array(list(fit.params.values()))
    assert np.allclose(got, theta, rtol=0.05), (got, theta)
    assert fit.loglik_lengths is not None and np.isfinite(fit.loglik_lengths)
    # the surge read as a density has the surge-integral as its accuracy curve
    assert fit.curve_form == ("surge-integral" if form == "surge" else form)


def test_sigmoid_beats_surge_read_as_accuracy_on_an_s_curve() -> None:
    data = _exact("lognormal", TRUE["lognormal"])
    assert fit_accuracy("surge", data).rmse > 10 * fit_accuracy("surge-integral", data).rmse


def test_pool_fit_cli_json_and_curves(tmp_path: Path, capsys: pytest.CaptureFixture[str]
                                      ) -> None:
    pool = random_pool(40, 4, seed=2)
    src = tmp_path / "pool.parquet"
    pool.frame.write_parquet(src)
    out = tmp_path / "fit.parquet"
    assert main(["pool", "fit", str(src), "--json", "--per-query", "3",
                 "--out", str(out)]) == 0
    info = json.loads(capsys.readouterr().out)
    groups = {g["group"]: g for g in info["groups"]}
    assert {"toy", "all", "easy"} <= set(groups)
    rows = {(f["form"], f["reading"]) for f in groups["all"]["fits"]}
    assert ("surge", "density") in rows and ("surge-integral", "accuracy") in rows
    assert info["per_query"]["queries"] == 3
    curves = pl.read_parquet(out)
    assert set(curves["form"]) >= {"empirical", "lognormal"}

    from reports.load import load_inputs

    assert len(load_inputs([out]).fits) == 1


def test_pool_fit_table_and_bad_input(tmp_path: Path, capsys: pytest.CaptureFixture[str]
                                      ) -> None:
    pool = make_pool([[100, 200], [300, 400], [500, 16384]],
                     [[True, False], [True, True], [False, True]])
    src = tmp_path / "p.parquet"
    pool.frame.write_parquet(src)
    assert main(["pool", "fit", str(src), "--forms", "lognormal", "--per-query", "0"]) == 0
    assert "lognormal" in capsys.readouterr().out
    assert main(["pool", "fit", str(src), "--forms", "sigmoid"]) == 2
    assert "--forms: unknown form(s) sigmoid" in capsys.readouterr().err
    assert main(["pool", "fit", str(src), "--max-cap", "8"]) == 2


def test_fit_chart_draws_benchmarks_and_all_only() -> None:
    from reports.charts_fit import fit_chart, fit_lines
    from simulator.cli.pool_fit import fit_pool

    _, curves = fit_pool(random_pool(30, 3, seed=4), ["lognormal", "surge"], per_query=0)
    lines = fit_lines(curves)
    assert set(lines["fit_group"]) == {"toy", "all"}
    assert "empirical" in set(lines["curve"])
    assert fit_chart(curves).to_dict()["facet"]["field"] == "fit_group"

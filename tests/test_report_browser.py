"""The report in a real browser: headless Chromium, file:// URL, no network.

The page records script errors, console errors and warnings, and failed charts into
``<body data-report-*>`` attributes (see reports/html.py); ``--dump-dom`` after a
virtual-time budget gives the DOM once every chart has settled. Chromium also prints
every console message on stderr as ``CONSOLE`` lines, which must be absent. The runs,
the frontier and the stress table come from the real commands. The network is cut by resolving every host to nothing and routing through a dead proxy, so
a chart that needed a CDN would fail here.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest

from reports.build import build_report
from simulator.cli.main import main

pytestmark = pytest.mark.slow

SCENARIO = """\
name: browser-test
arrivals: {kind: poisson, rate: 4.0}
allocator: {policy: clear, budget_rate: 1500}
duration: 60
seed: 3
"""
# intervals, paired differences (the compare's comparison.json), over time, allocation,
# by tier, by benchmark, latency CDF, Pareto, phase, noise, noise paired to clear
EXPECTED_CHARTS = 11


def _chromium() -> str:
    for name in (os.environ.get("CHROMIUM", ""), "chromium", "chromium-browser",
                 "google-chrome", "google-chrome-stable"):
        if name and (path := shutil.which(name)):
            return path
    pytest.skip("Chromium not found (install Debian's 'chromium' package or set CHROMIUM)")


def _browse(tmp: Path, url: str, *extra: str) -> subprocess.CompletedProcess[str]:
    cmd = [_chromium(), "--headless", "--no-sandbox", "--disable-gpu",
           "--disable-background-networking", "--disable-component-update",
           "--disable-sync", "--no-first-run", "--disable-extensions",
           f"--user-data-dir={tmp}", "--host-resolver-rules=MAP * ~NOTFOUND",
           "--proxy-server=127.0.0.1:9", "--enable-logging=stderr", "--v=0",
           "--virtual-time-budget=15000", *extra, url]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=180, check=False)


class _Body(HTMLParser):
    """The attributes of ``<body>``."""

    def __init__(self) -> None:
        super().__init__()
        self.attrs: dict[str, str | None] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "body":
            self.attrs = dict(attrs)


def _marks_per_chart(dom: str) -> dict[str, int]:
    """Vega SVG roots (``<svg class="marks">``) between each chart div and the next."""
    starts = [(m.start(), m.group(1))
              for m in re.finditer(r'<div[^>]*\bid="(chart-\d+)"', dom)]
    bounds = [pos for pos, _ in starts[1:]] + [len(dom)]
    return {name: len(re.findall(r'<svg[^>]*\bclass="marks"', dom[pos:end]))
            for (pos, name), end in zip(starts, bounds, strict=True)}


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("browser")
    scenario = tmp / "s.yaml"
    scenario.write_text(SCENARIO, encoding="utf-8")
    assert main(["compare", str(scenario), "--policies", "uniform,clear", "--out",
                 str(tmp / "cmp"), "--no-png"]) == 0
    frontier = tmp / "frontier.parquet"
    assert main(["frontier", "--n", "200", "--policies", "uniform,clear,oracle",
                 "--out", str(frontier)]) == 0
    stress = tmp / "stress"
    assert main(["stress-noise", "--n", "200", "--seeds", "3", "--sigmas", "0,0.5,1",
                 "--budgets", "256,1024", "--policies", "uniform,clear,clear-calibrated",
                 "--out", str(stress)]) == 0
    built = build_report([tmp / "cmp", frontier, stress], tmp / "report.html")
    assert built.charts == EXPECTED_CHARTS
    return built.html


def test_report_is_self_contained(report: Path) -> None:
    text = report.read_text(encoding="utf-8")
    assert not re.search(r"<script[^>]*\bsrc=", text), "a script is loaded from outside"
    assert "cdn.jsdelivr" not in text and "<link" not in text
    assert text.count('class="chart"') == EXPECTED_CHARTS


def test_every_chart_renders_offline_without_console_output(report: Path,
                                                            tmp_path: Path) -> None:
    proc = _browse(tmp_path / "profile", report.as_uri(), "--dump-dom")
    assert proc.returncode == 0, proc.stderr[-2000:]
    body = _Body()
    body.feed(proc.stdout)
    assert body.attrs.get("data-report-status") == "done", "the charts never settled"
    assert json.loads(body.attrs.get("data-report-errors") or "null") == []
    assert json.loads(body.attrs.get("data-report-warnings") or "null") == []
    assert body.attrs.get("data-charts-rendered") == str(EXPECTED_CHARTS)
    marks = _marks_per_chart(proc.stdout)
    assert len(marks) == EXPECTED_CHARTS
    assert all(n == 1 for n in marks.values()), marks
    console = [ln for ln in proc.stderr.splitlines() if ":CONSOLE" in ln]
    assert console == [], console


def test_first_screen_says_what_was_simulated_and_which_policy_wins(
        report: Path, tmp_path: Path) -> None:
    proc = _browse(tmp_path / "profile", report.as_uri(), "--dump-dom")
    dom = proc.stdout
    scenario = re.search(r'<p class="scenario">(.*?)</p>', dom)
    assert scenario is not None
    assert scenario.group(1).startswith("browser-test: Poisson arrivals at 4 queries/s for "
                                        "60 s")
    assert "a budget of 1500 tokens/s (about 375 tokens per query)" in scenario.group(1)
    assert "embedded synthetic pool" in scenario.group(1)
    assert "5 seeds (3-7), common random numbers" in scenario.group(1)
    heads = re.findall(r"<li>(.*?)</li>", re.search(
        r'<ul class="headlines">(.*?)</ul>', dom, re.S).group(1))  # type: ignore[union-attr]
    assert heads[0].startswith("uniform: the reference; accuracy ")
    assert re.match(r"clear: [0-9.]+x uniform's accuracy \(95% CI [0-9.]+x to [0-9.]+x",
                    heads[1]), heads[1]
    table = re.search(r'<table class="intervals">(.*?)</table>', dom, re.S)
    assert table is not None
    assert "Accuracy (correct / arrivals)" in table.group(1)
    assert "Time to outcome p95, all arrivals (s)" in table.group(1)
    assert "Latency p95, answered queries (s)" in table.group(1)
    assert "Correct per 1k tokens" in table.group(1) and "Goodput" not in table.group(1)
    assert table.group(1).count("mean [95% CI]") >= 6
    assert re.search(r"<td>0\.\d{3} <span class=\"ci\">\[0\.\d{3}, 0\.\d{3}\]</span></td>",
                     table.group(1))
    # the first screen comes before the per-run charts
    assert dom.index('class="scenario"') < dom.index('data-name="over-time"')


def test_screenshot(report: Path, tmp_path: Path) -> None:
    shot = tmp_path / "report.png"
    proc = _browse(tmp_path / "profile", report.as_uri(), f"--screenshot={shot}",
                   "--window-size=1400,5000", "--hide-scrollbars")
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert shot.stat().st_size > 50_000  # a blank page is a few kB
    keep = os.environ.get("CLEARSIM_SCREENSHOT")
    if keep:
        shutil.copyfile(shot, keep)

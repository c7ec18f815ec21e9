"""``clearsim report``: one offline HTML report (plus PNGs) from run and sweep files."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from simulator.errors import UserError


def register(sub: Any) -> None:
    """Add the ``report`` subcommand."""
    p = sub.add_parser(
        "report",
        help="build an offline HTML report (and PNGs) from runs, frontier, stress or "
        "sweep outputs",
        description="Read run directories ('clearsim run'), folders of runs ('clearsim "
        "compare'), frontier tables ('clearsim frontier --out'), stress-noise outputs, "
        "sweep stores ('clearsim sweep') and utility-fit curves ('clearsim pool fit "
        "--out'), and write one self-contained HTML file that works offline, with every "
        "chart also saved as PNG beside it. Reads files only.",
        epilog="examples: 'clearsim report out/demo --out out/demo/report.html', "
        "'clearsim report out/frontier.parquet out/stress --out out/batch.html'",
    )
    p.add_argument("inputs", nargs="+", metavar="RUN_DIR_OR_FILE",
                   help="run directory, folder of runs, frontier .parquet, stress-noise "
                   "output, sweep store or pool-fit .parquet")
    p.add_argument("-o", "--out", default="report.html", metavar="FILE.html",
                   help="the HTML file to write; PNGs go beside it; default: %(default)s")
    p.add_argument("--no-png", action="store_true", help="skip the PNG files")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Build the report and print where it is."""
    # altair and vl-convert load only when a report is built, not on every CLI start.
    from reports.build import build_report
    from simulator.cli._args import output_file

    output_file(args.out, "--out", "report.html")
    missing = [i for i in args.inputs if not Path(i).exists()]
    if missing:  # before the progress line, so the error is the only line
        raise UserError(f"{missing[0]}: no such file or directory; give a run folder, a "
                        "folder of runs, a frontier .parquet, a stress output or a sweep store")
    sys.stderr.write(f"clearsim report: reading {len(args.inputs)} input(s)\n")
    built = build_report(args.inputs, Path(args.out), png=not args.no_png)
    size_mb = built.html.stat().st_size / 1e6
    sys.stderr.write(f"clearsim report: {built.charts} chart(s), {len(built.pngs)} PNG(s), "
                     f"{size_mb:.1f} MB, {built.seconds:.1f} s\n")
    print(built.html)
    return 0

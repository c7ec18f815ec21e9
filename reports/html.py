"""Assemble one self-contained HTML report, plus a PNG of every chart beside it.

The page works offline: the Vega, Vega-Lite and vega-embed JavaScript comes from
vl-convert's bundle and is inlined, so nothing is fetched from a CDN. A small inline
script records every script error, console error or warning and failed chart into
``<body data-report-errors=... data-report-warnings=...>`` and counts rendered charts
in ``data-charts-rendered``; ``data-report-status="done"`` marks the end. The browser
test reads these attributes.
"""

from __future__ import annotations

import functools
import html
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import altair as alt
import vl_convert as vlc

from simulator.atomic import atomic_write_bytes, atomic_write_text

__all__ = ["Figure", "ReportDoc", "javascript_bundle", "render_html", "vl_version",
           "write_report"]

PNG_SCALE = 2.0
EMBED_OPTIONS = {"renderer": "svg", "actions": {"export": True, "source": False,
                                                "compiled": False, "editor": False}}

CSS = """
body { font-family: sans-serif; margin: 24px auto; max-width: 1280px; color: #222;
       padding: 0 16px; }
h1 { font-size: 24px; margin-bottom: 4px; } h2 { font-size: 19px; margin-top: 32px;
  border-bottom: 1px solid #ddd; padding-bottom: 4px; }
.stamp { color: #555; font-size: 13px; margin-top: 0; }
table { border-collapse: collapse; font-size: 14px; margin: 8px 0 16px; }
th, td { border: 1px solid #ccc; padding: 4px 10px; text-align: right; }
th { background: #f3f3f3; } td:first-child, th:first-child, td.text { text-align: left; }
figure { margin: 20px 0 28px; } figcaption { color: #444; font-size: 13px;
  max-width: 900px; margin-top: 4px; }
pre { background: #f7f7f7; border: 1px solid #ddd; padding: 8px; font-size: 12px;
      overflow-x: auto; max-height: 480px; }
details { margin: 6px 0; } summary { cursor: pointer; }
.scenario { font-size: 15px; max-width: 1000px; line-height: 1.4; }
.headlines li { margin: 3px 0; font-size: 15px; } .ci { color: #666; font-size: 12px; }
td .ci { display: block; white-space: nowrap; }  /* the interval on its own line, whole */
.note { color: #444; font-size: 13px; max-width: 1000px; } .warn { color: #a00; }
"""

# Runs before the bundle so that errors raised while it loads are recorded too.
RECORDER_JS = """
window.__report = {errors: [], warnings: []};
(function () {
  const keep = (list, args) => list.push(Array.from(args).map(String).join(' '));
  const err = console.error.bind(console), warn = console.warn.bind(console);
  console.error = function () { keep(window.__report.errors, arguments); err(...arguments); };
  console.warn = function () { keep(window.__report.warnings, arguments); warn(...arguments); };
  window.addEventListener('error', e => window.__report.errors.push('script: ' + e.message));
  window.addEventListener('unhandledrejection',
    e => window.__report.errors.push('promise: ' + String(e.reason)));
})();
"""

EMBED_JS = """
(function () {
  const specs = %(specs)s;
  const opts = %(options)s;
  const body = document.body;
  let rendered = 0;
  const jobs = specs.map((spec, i) => {
    if (typeof vegaEmbed !== 'function') {
      return Promise.reject(new Error('vegaEmbed is not loaded'));
    }
    return vegaEmbed('#chart-' + i, spec, opts).then(() => { rendered += 1; });
  });
  Promise.allSettled(jobs).then(results => {
    results.forEach((r, i) => {
      if (r.status === 'rejected') {
        window.__report.errors.push('chart ' + i + ': ' + String(r.reason));
      }
    });
    body.setAttribute('data-charts-rendered', String(rendered));
    body.setAttribute('data-report-errors', JSON.stringify(window.__report.errors));
    body.setAttribute('data-report-warnings', JSON.stringify(window.__report.warnings));
    body.setAttribute('data-report-status', 'done');
  });
})();
"""


@dataclass(frozen=True)
class Figure:
    """One chart of the report.

    Attributes:
        name: file-name slug, unique in the report ('over-time').
        section: the heading it appears under.
        caption: one or two sentences on how to read it.
        chart: the finished altair chart.
    """

    name: str
    section: str
    caption: str
    chart: alt.TopLevelMixin


@dataclass(frozen=True)
class ReportDoc:
    """Everything the page shows besides the charts, as ready HTML fragments.

    Attributes:
        title: page heading.
        stamp: one line: clearsim version, seeds, inputs.
        blocks: (section heading, HTML fragment) shown before that section's charts.
        figures: the charts, in page order.
        appendix: (heading, HTML fragment) shown after all charts (scenario text).
    """

    title: str
    stamp: str
    blocks: Sequence[tuple[str, str]] = field(default_factory=tuple)
    figures: Sequence[Figure] = field(default_factory=tuple)
    appendix: Sequence[tuple[str, str]] = field(default_factory=tuple)


def vl_version() -> str | None:
    """The Vega-Lite version (major.minor) altair writes, if vl-convert has it."""
    major_minor = ".".join(alt.SCHEMA_VERSION.lstrip("v").split(".")[:2])
    return major_minor if major_minor in vlc.get_vegalite_versions() else None


@functools.cache
def javascript_bundle() -> str:
    """vega + vega-lite + vega-embed as one script that sets ``window.vegaEmbed``."""
    snippet = "window.vegaEmbed = vegaEmbed; window.vega = vega; window.vegaLite = vegaLite;"
    bundle: str = vlc.javascript_bundle(snippet, vl_version=vl_version())
    return bundle.replace("</script", "<\\/script")


def _script_json(value: Any) -> str:
    """JSON safe inside a <script> element."""
    return json.dumps(value, separators=(",", ":"), allow_nan=False).replace("</", "<\\/")


def render_html(doc: ReportDoc, specs: Sequence[dict[str, Any]]) -> str:
    """The whole page; ``specs[i]`` is the Vega-Lite spec of ``doc.figures[i]``."""
    parts = ["<!DOCTYPE html>", '<html lang="en">', "<head>", '<meta charset="utf-8">',
             f"<title>{html.escape(doc.title)}</title>", f"<style>{CSS}</style>",
             f"<script>{RECORDER_JS}</script>",
             f"<script>{javascript_bundle()}</script>", "</head>", "<body>",
             f"<h1>{html.escape(doc.title)}</h1>", f'<p class="stamp">{doc.stamp}</p>']
    sections = list(dict.fromkeys([s for s, _ in doc.blocks] +
                                  [f.section for f in doc.figures]))
    for section in sections:
        parts.append(f"<h2>{html.escape(section)}</h2>")
        parts.extend(frag for s, frag in doc.blocks if s == section)
        for i, fig in enumerate(doc.figures):
            if fig.section == section:
                parts.append(f'<figure><div id="chart-{i}" class="chart" '
                             f'data-name="{html.escape(fig.name)}"></div>'
                             f"<figcaption>{html.escape(fig.caption)}</figcaption></figure>")
    for heading, frag in doc.appendix:
        parts += [f"<h2>{html.escape(heading)}</h2>", frag]
    parts.append("<script>" + EMBED_JS % {"specs": _script_json(list(specs)),
                                          "options": _script_json(EMBED_OPTIONS)}
                 + "</script>")
    parts += ["</body>", "</html>", ""]
    return "\n".join(parts)


def write_report(doc: ReportDoc, out: Path, png: bool = True) -> list[Path]:
    """Write ``out`` (the HTML) and, if ``png``, ``<out stem>-<figure name>.png`` beside it.

    Returns:
        the files written, the HTML first.
    """
    specs = [fig.chart.to_dict() for fig in doc.figures]
    written = [atomic_write_text(render_html(doc, specs), out)]
    if png:
        for fig, spec in zip(doc.figures, specs, strict=True):
            data = vlc.vegalite_to_png(spec, vl_version=vl_version(), scale=PNG_SCALE)
            written.append(atomic_write_bytes(data, out.with_name(f"{out.stem}-{fig.name}.png")))
    return written

"""The report: ``report.html`` (self-contained: PNGs embedded, WAVs linked) and ``results.json``.

A subcommand describes its report as a list of :class:`Section` objects holding text, tables,
figures and audio rows; this module only renders them, so the demo and the real-data
commands share one layout.
"""

import base64
import html
import json
from dataclasses import dataclass, field
from pathlib import Path

from .._version import __version__
from ..experiments import to_builtin
from ._output import write_output


@dataclass
class Table:
    """A table: ``header`` (column names) and ``rows`` (lists of cells, already formatted)."""

    header: list
    rows: list
    caption: str = ""


@dataclass
class AudioRow:
    """One clip's WAV files: ``files`` maps a column name (e.g. "stimulus") to a path."""

    label: str
    files: dict


@dataclass
class Section:
    title: str
    text: str = ""
    tables: list = field(default_factory=list)
    figures: list = field(default_factory=list)
    audio: list = field(default_factory=list)


_STYLE = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;max-width:1100px;
margin:2em auto;padding:0 1em;color:#222;line-height:1.45}
h1{border-bottom:2px solid #3b6ea5;padding-bottom:.2em}h2{color:#3b6ea5;margin-top:1.8em}
table{border-collapse:collapse;margin:1em 0}th,td{border:1px solid #ccc;padding:.3em .7em;
text-align:right}th{background:#eef3f9}td:first-child,th:first-child{text-align:left}
caption{caption-side:bottom;font-size:.9em;color:#555;text-align:left;padding-top:.3em}
img{max-width:100%;border:1px solid #eee;margin:.5em 0}audio{height:2em;width:220px}
.meta{color:#666;font-size:.9em}
"""


def _table_html(table):
    head = "".join(f"<th>{html.escape(str(cell))}</th>" for cell in table.header)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(str(cell))}</td>" for cell in row) + "</tr>"
        for row in table.rows
    )
    caption = f"<caption>{html.escape(table.caption)}</caption>" if table.caption else ""
    return f"<table>{caption}<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _figure_html(path):
    data = base64.b64encode(Path(path).read_bytes()).decode("ascii")
    alt = html.escape(Path(path).stem.replace("_", " "))
    return f'<p><img alt="{alt}" src="data:image/png;base64,{data}"></p>'


def _audio_html(rows, out_dir):
    columns = list(dict.fromkeys(name for row in rows for name in row.files))
    head = "<th>clip</th>" + "".join(f"<th>{html.escape(c)}</th>" for c in columns)
    body = []
    for row in rows:
        cells = [f"<td>{html.escape(row.label)}</td>"]
        for column in columns:
            path = row.files.get(column)
            if path is None:
                cells.append("<td></td>")
                continue
            href = html.escape(Path(path).relative_to(out_dir).as_posix())
            cells.append(
                f'<td><audio controls preload="none" src="{href}"></audio><br>'
                f'<a href="{href}">{html.escape(Path(path).name)}</a></td>'
            )
        body.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def render_html(title, sections, out_dir, subtitle=""):
    """Return the report page as a string (figures embedded, audio paths relative)."""
    out_dir = Path(out_dir)
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{html.escape(title)}</title><style>{_STYLE}</style></head><body>",
        f"<h1>{html.escape(title)}</h1>",
        f'<p class="meta">{html.escape(subtitle)} &middot; skbrainmusic {__version__} '
        "&middot; every number below is in results.json</p>",
    ]
    for section in sections:
        parts.append(f"<h2>{html.escape(section.title)}</h2>")
        if section.text:
            parts.extend(f"<p>{html.escape(p)}</p>" for p in section.text.split("\n\n"))
        parts.extend(_table_html(table) for table in section.tables)
        parts.extend(_figure_html(path) for path in section.figures)
        if section.audio:
            parts.append(_audio_html(section.audio, out_dir))
    parts.append("</body></html>")
    return "\n".join(parts)


def write_report(out_dir, title, sections, results, subtitle=""):
    """Write ``report.html`` and ``results.json`` into ``out_dir``; return both paths."""
    out_dir = Path(out_dir)
    page = render_html(title, sections, out_dir, subtitle)
    report = write_output(out_dir / "report.html",
                          lambda temporary: temporary.write_text(page, encoding="utf-8"))
    text = json.dumps(to_builtin(results), indent=2, allow_nan=False) + "\n"
    results_path = write_output(out_dir / "results.json",
                                lambda temporary: temporary.write_text(text, encoding="utf-8"))
    return report, results_path


def format_mean_std(summary, digits=3):
    """``0.876 ± 0.015`` from a ``{"mean", "std"}`` dict."""
    return f"{summary['mean']:.{digits}f} \u00b1 {summary['std']:.{digits}f}"

"""The tables an edition page shows, read back against the CSV files the run wrote beside it."""

from __future__ import annotations

from pathlib import Path

import nbformat

class _TableParser:
    """Rows of text of the HTML tables in a page (the ``<th>`` and ``<td>`` cells of each ``<tbody>`` row)."""

    def __init__(self, html: str):
        from html.parser import HTMLParser

        rows, state = [], {"row": None, "cell": None, "body": False}

        class P(HTMLParser):
            def handle_starttag(self, tag, attrs):
                if tag == "tbody":
                    state["body"] = True
                elif tag == "tr" and state["body"]:
                    state["row"] = []
                elif tag in ("td", "th") and state["row"] is not None:
                    state["cell"] = []

            def handle_endtag(self, tag):
                if tag == "tbody":
                    state["body"] = False
                elif tag == "tr" and state["row"] is not None:
                    rows.append(state["row"])
                    state["row"] = None
                elif tag in ("td", "th") and state["cell"] is not None:
                    state["row"].append("".join(state["cell"]).strip())
                    state["cell"] = None

            def handle_data(self, data):
                if state["cell"] is not None:
                    state["cell"].append(data)

        P().feed(html)
        self.rows = rows


def _same_value(shown: str, stored, csv_digits: int | None = None) -> bool:
    """Whether a cell as the page shows it (rounded, thousands separated, ``–`` for a missing value) is the CSV's;
    ``csv_digits``: the significant digits the CSV was written with (``%.Ng``), whose rounding is allowed too."""
    import math

    if stored is None or (isinstance(stored, float) and math.isnan(stored)):
        return shown in ("–", "", "nan")
    if isinstance(stored, bool):
        return shown == str(stored)
    if isinstance(stored, (int, float)):
        try:
            value = float(shown.replace(",", ""))
        except ValueError:
            return False
        decimals = len(shown.split(".")[1]) if "." in shown else 0
        tol = 0.5 * 10 ** -decimals
        if csv_digits and stored != 0:
            tol += 0.5 * 10 ** (math.floor(math.log10(abs(stored))) - csv_digits + 1)
        return abs(value - stored) <= tol * (1 + 1e-9) + 1e-12
    return shown == str(stored).strip()   # a page strips the spaces around a cell


def _csv_digits(float_format: str | None) -> int | None:
    import re

    m = re.fullmatch(r"%\.(\d+)g", float_format or "%.6g")
    return int(m.group(1)) if m else None


def table_mismatches(notebook: Path, tables: Path) -> list[str]:
    """Every table a notebook shows (through :meth:`~nasvec.book.report.Report.table`) against its CSV in
    ``tables``: the cells that differ, a table shown without its CSV; empty when they all agree."""
    import pandas as pd

    out = []
    nb = nbformat.read(notebook, as_version=4)
    for cell in nb.cells:
        for o in cell.get("outputs", []):
            meta = o.get("metadata", {}).get("nasvec")
            html = o.get("data", {}).get("text/html", "")
            if not meta and '<table id="T_' in html:   # a pandas Styler table that does not name its CSV
                out.append("a table is shown without the name of its CSV (shown by an older Report: re-run)")
            if not meta or not html:
                continue
            name = meta["table"]
            csv = tables / f"{name}.csv"
            if not csv.is_file():
                out.append(f"{name}: shown, but {csv.name} is not among the tables")
                continue
            df = pd.read_csv(csv, keep_default_na=True).drop(columns=meta.get("hide", []))
            expected = [[None if pd.isna(v) else (v.item() if hasattr(v, "item") else v) for v in row]
                        for row in df.itertuples(index=False)]
            shown = _TableParser(o["data"]["text/html"]).rows
            if len(shown) != len(expected):
                out.append(f"{name}: the page shows {len(shown)} rows, {csv.name} has {len(expected)}")
                continue
            for i, (a, b) in enumerate(zip(shown, expected)):
                if len(a) != len(b):
                    out.append(f"{name} row {i}: the page shows {len(a)} cells, {csv.name} has {len(b)}")
                    break
                digits = _csv_digits(meta.get("float_format"))
                bad = [(df.columns[j], x, y) for j, (x, y) in enumerate(zip(a, b)) if not _same_value(x, y, digits)]
                if bad:
                    col, x, y = bad[0]
                    out.append(f"{name} row {i}, column {col!r}: the page shows {x!r}, {csv.name} holds {y!r}")
                    break
    return out

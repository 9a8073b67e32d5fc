"""Figures and tables of the book (the book layer; only notebooks use it).

Every figure is saved to ``book/figures/<chapter>/<name>.{png,svg}`` and shown
inline; every table to ``book/tables/<chapter>/<name>.csv`` and shown rendered.
Files are written atomically and without timestamps, so two runs of the same
profile give byte-identical tables. Introduced in "Data sets used in this book".
"""

from __future__ import annotations

import io
import re
from pathlib import Path

from ..errors import ConfigError
from ..utils import atomic_write, repo_root

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


def _check_name(kind: str, name: str) -> str:
    if not isinstance(name, str) or not _NAME.match(name) or name.endswith((".png", ".svg", ".csv")):
        raise ConfigError(f"{kind} name {name!r} must be a plain file stem (letters, digits, '_', '-', '.')")
    return name


class Report:
    """Writes one chapter's figures and tables.

    >>> rep = Report("datasets")          # doctest: +SKIP
    >>> rep.figure(fig, "samples")        # book/figures/datasets/samples.png + .svg
    >>> rep.table(df, "sizes")            # book/tables/datasets/sizes.csv

    Both return nothing (a notebook cell that ends with them shows the figure or table, not a path).
    """

    def __init__(self, chapter: str, root: str | Path | None = None, show: bool = True):
        self.chapter = _check_name("chapter", chapter)
        base = Path(root) if root is not None else repo_root() / "book"
        self.figures = base / "figures" / chapter
        self.tables = base / "tables" / chapter
        self.show = show

    def figure(self, fig, name: str, formats=("png", "svg")) -> None:
        """Save a matplotlib figure as PNG and SVG (``book/figures/<chapter>/``), display it once, close it."""
        import matplotlib.pyplot as plt

        _check_name("figure", name)
        for fmt in formats:
            path = self.figures / f"{name}.{fmt}"
            buf = io.BytesIO()
            meta = {"Date": None} if fmt == "svg" else {"Software": None}
            with plt.rc_context({"svg.hashsalt": f"nasvec-{self.chapter}-{name}"}):
                fig.savefig(buf, format=fmt, dpi=120, bbox_inches="tight", metadata=meta)
            with atomic_write(path, "wb") as fh:
                fh.write(buf.getvalue())
        if self.show:
            from IPython.display import Image, display

            display(Image(data=(self.figures / f"{name}.png").read_bytes()))
        plt.close(fig)

    def table(self, df, name: str, index: bool = False, float_format: str = "%.6g", caption: str | None = None,
              hide: tuple = (), show: bool = True) -> None:
        """Write a pandas DataFrame as CSV (``book/tables/<chapter>/<name>.csv``) and display it rendered, floats
        with the decimals of a ``%.Nf`` ``float_format`` (else 4); ``hide``: columns kept in the CSV but not shown
        (long text a page shows better another way); ``show=False`` writes the CSV only (a long table of every run that
        the page summarises)."""
        _check_name("table", name)
        missing = [c for c in hide if c not in df.columns]
        if missing:
            raise ConfigError(f"table {name!r}: cannot hide {missing}: the table has no such column")
        path = self.tables / f"{name}.csv"
        with atomic_write(path, "w", newline="") as fh:
            df.to_csv(fh, index=index, float_format=float_format)
        if self.show and show:
            from IPython.display import display

            fixed = re.fullmatch(r"%\.(\d+)f", float_format)
            styled = df.drop(columns=list(hide)).style.format(precision=int(fixed.group(1)) if fixed else 4,
                                                              thousands=",", na_rep="–")
            if not index:
                styled = styled.hide(axis="index")
            if caption:
                styled = styled.set_caption(caption)
            # the output names its CSV, so a check can read the page's table back against the file
            display(styled, metadata={"nasvec": {"table": name, "index": index, "hide": list(hide),
                                                 "float_format": float_format}})

    def note(self, markdown: str) -> None:
        """Show text written by the run (a summary computed from its tables) as Markdown."""
        if self.show:
            from IPython.display import Markdown, display

            display(Markdown(markdown))

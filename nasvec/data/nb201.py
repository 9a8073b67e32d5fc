"""NAS-Bench-201's cell space on CIFAR-10, complete, offline (chapter 7).

The PyPI package ``analog-nasbench`` (Apache-2.0) ships, in ``analognasbench/data.anb``, a pickle
of one record per NAS-Bench-201 cell — all 15,625 — with the cell's CIFAR-10 accuracy after the
usual 200-epoch training (``baseline_accuracy``) and the package's own quantisation and analog-noise
metrics. The pickle names two classes, ``analognasbench.data.Architecture`` and
``analognasbench.data.DriftMeasurement``; :func:`load_nb201` reads it with an unpickler that maps
exactly those two names onto plain record classes of its own and refuses every other global, so
neither the package's code nor anything else a tampered file names is ever imported or run.

**The encoding.** A cell is a 6-tuple of op ids, one per cell edge in the order
(0→1, 0→2, 0→3, 1→2, 1→3, 2→3) — :data:`NB201_EDGES`; the op ids are
:data:`NB201_OPS` (skip 0, none 1, 3x3 conv 2, 1x1 conv 3, 3x3 average pool 4). This order is not
stated by the package; it is the one under which the three NATS-Bench records shipped in
``$NASVEC_DATA/nats-bench/`` (same cells, CIFAR-10, 200 epochs) agree with the table within half a
point (:func:`check_against_nats`); NAS-Bench-201's own string order (0→1, 0→2, 1→2, 0→3, 1→3, 2→3)
does not agree.

The table has one accuracy per cell and no separate validation split, so a search that reads it
selects and reports on the same number; chapter 7 says so and reports regret against the table's best.
"""

from __future__ import annotations

import json
import pickle
from dataclasses import dataclass
from functools import lru_cache
from importlib import util as importlib_util
from pathlib import Path

import numpy as np

from ..errors import DataError
from ..utils import record_input
from .images import data_dir

#: op names, indexed by the table's op ids
NB201_OPS = ("skip_connect", "none", "nor_conv_3x3", "nor_conv_1x1", "avg_pool_3x3")
#: the cell edges (from node, to node), in the order of a cell's 6 op ids
NB201_EDGES = ((0, 1), (0, 2), (0, 3), (1, 2), (1, 3), (2, 3))
#: NAS-Bench-201's string order of the same edges: |0→1|+|0→2|1→2|+|0→3|1→3|2→3|
NB201_STRING_EDGES = ((0, 1), (0, 2), (1, 2), (0, 3), (1, 3), (2, 3))
N_CELLS = 5 ** 6


class _Record:
    """Stand-in for ``analognasbench.data.Architecture``: takes the pickled attributes as they are."""


class _Drift:
    """Stand-in for ``analognasbench.data.DriftMeasurement``."""


class _Unpickler(pickle.Unpickler):
    """Maps the two class names of the table onto :class:`_Record` and :class:`_Drift`; refuses any other."""

    ALLOWED = {("analognasbench.data", "Architecture"): _Record,
               ("analognasbench.data", "DriftMeasurement"): _Drift}

    def find_class(self, module, name):
        try:
            return self.ALLOWED[(module, name)]
        except KeyError:
            raise pickle.UnpicklingError(f"global {module}.{name} is not allowed in the NAS-Bench-201 table "
                                         f"(only {', '.join(m + '.' + n for m, n in self.ALLOWED)})") from None


@dataclass(frozen=True)
class NB201Table:
    """All NAS-Bench-201 cells: ``cells`` (15625, 6) op ids in :data:`NB201_EDGES` order, sorted so that
    row ``i`` is the cell whose base-5 number is ``i`` (first edge most significant); ``accuracy`` (%)."""

    cells: np.ndarray
    accuracy: np.ndarray
    source: str

    @property
    def best(self) -> float:
        return float(self.accuracy.max())


def table_path() -> Path:
    """Where the installed ``analog-nasbench`` keeps its table (found without importing the package)."""
    spec = importlib_util.find_spec("analognasbench")
    if spec is None or not spec.submodule_search_locations:
        raise DataError("the NAS-Bench-201 table comes with the PyPI package 'analog-nasbench' (0.1.3), "
                        "which is not installed: pip install analog-nasbench==0.1.3")
    return Path(list(spec.submodule_search_locations)[0]) / "data.anb"


def cell_index(cells) -> np.ndarray:
    """Row numbers of cells (..., 6) in :attr:`NB201Table.cells` (their base-5 numbers)."""
    cells = np.asarray(cells, dtype=np.int64)
    return cells @ (5 ** np.arange(5, -1, -1))


def read_table(path: str | Path) -> NB201Table:
    """Read a table file in ``analog-nasbench``'s format (restricted unpickler; see the module)."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: the NAS-Bench-201 table file is missing")
    try:
        with open(path, "rb") as f:
            data = _Unpickler(f).load()
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError) as err:
        raise DataError(f"{path}: not a NAS-Bench-201 table ({err})") from None
    if not isinstance(data, dict) or len(data) != N_CELLS:
        raise DataError(f"{path}: expected a mapping of {N_CELLS} cells, got "
                        f"{len(data) if isinstance(data, dict) else type(data).__name__}")
    cells = np.zeros((N_CELLS, 6), dtype=np.int8)
    acc = np.full(N_CELLS, np.nan)
    for key, rec in data.items():
        arch = getattr(rec, "architecture", None)
        if not (isinstance(key, tuple) and len(key) == 6 and all(isinstance(k, int) and 0 <= k < 5 for k in key)
                and tuple(arch or ()) == key):
            raise DataError(f"{path}: entry {key!r} is not a cell (6 op ids in 0..4) or disagrees with its record")
        i = int(cell_index(key))
        cells[i] = key
        acc[i] = float(getattr(rec, "baseline_accuracy", np.nan))
    if np.isnan(acc).any() or len({tuple(c) for c in cells}) != N_CELLS:
        raise DataError(f"{path}: some cells are missing or have no accuracy")
    return NB201Table(cells, acc, str(path.name))


@lru_cache(maxsize=1)
def load_nb201() -> NB201Table:
    """The complete NAS-Bench-201 CIFAR-10 table of the installed ``analog-nasbench`` (cached in memory)."""
    path = table_path()
    record_input(path)
    return read_table(path)


def parse_arch_str(arch: str, order=NB201_EDGES) -> tuple[int, ...]:
    """NAS-Bench-201's string ``|op~0|+|op~0|op~1|+|op~0|op~1|op~2|`` as op ids in ``order``."""
    ops = {}
    try:
        for to, node in enumerate(arch.strip("|").split("|+|"), start=1):
            for item in node.split("|"):
                name, frm = item.split("~")
                ops[(int(frm), to)] = NB201_OPS.index(name)
    except ValueError:
        raise DataError(f"{arch!r} is not a NAS-Bench-201 cell string") from None
    if set(ops) != set(NB201_EDGES):
        raise DataError(f"{arch!r} does not name the 6 edges of a NAS-Bench-201 cell")
    return tuple(ops[e] for e in order)


def nats_records(folder: str | Path | None = None) -> list[dict]:
    """The NATS-Bench topology records shipped in ``$NASVEC_DATA/nats-bench/`` (CIFAR-10, 200 epochs):
    per record its index, cell string and the test accuracy of each training seed."""
    folder = Path(folder) if folder else data_dir() / "nats-bench" / "NATS-tss-v1_0-3ffb9-simple"
    files = sorted(folder.glob("records_*.json"))
    if not files:
        raise DataError(f"{folder}: no NATS-Bench records (records_*.json) to check the table against")
    out = []
    for path in files:
        record_input(path)
        for index, by_epochs in json.loads(path.read_text()).items():
            rec = by_epochs["200"]
            accs = [r["eval_acc1es"][f"ori-test@{r['epochs'] - 1}"]
                    for k, r in rec["all_results"].items() if k.startswith("cifar10@")]
            out.append({"index": int(index), "arch": rec["arch_str"], "accuracy": float(np.mean(accs)),
                        "seeds": len(accs)})
    return out


def check_against_nats(table: NB201Table, records: list[dict], order=NB201_EDGES) -> list[dict]:
    """Each NATS-Bench record beside the table's accuracy of the same cell read in edge ``order``."""
    rows = []
    for r in records:
        cell = parse_arch_str(r["arch"], order)
        ours = float(table.accuracy[int(cell_index(cell))])
        rows.append({"nats index": r["index"], "cell": r["arch"], "op ids": cell,
                     "NATS-Bench (mean of seeds)": r["accuracy"], "table": ours,
                     "difference": ours - r["accuracy"]})
    return rows

"""The seed paper's own measured numbers, as its authors recorded them (chapters 2 and 3).

The authors' public repository (github.com/JockerLab/GraphEmbedding, final state
Turukmokto/GraphEmbedding-dev @ 71ba6248) holds the numbers behind the paper's Figure 1 and
Table 2. The book reads them from ``$NASVEC_DATA/graphembedding-results/`` to draw them beside
its own runs:

* :func:`figure1_curves` — per-epoch losses: the proposed model's two VAEs (300 epochs; the files
  do not say how the sums are normalised) and D-VAE's and DVAE-EMB's first 10 epochs (per graph,
  D-VAE's ``train_loss.txt`` format: total, reconstruction, KL, prediction);
* :func:`table2_runs` — Table 2's three runs per network and variant (final test accuracy);
* :func:`table2_curves` — the per-epoch train and test loss and accuracy of each of those runs.

A missing folder or file is one :class:`~nasvec.errors.DataError` that names it.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd

from ..errors import DataError
from ..utils import record_input
from .images import data_dir

FOLDER = "graphembedding-results"
#: Table 2's variants as the authors name them -> the book's names
VARIANTS = {"origin": "original", "naive": "round trip", "compressed": "compressed"}
NETS = {"resnet": "resnet18", "alexnet": "alexnet"}


def _path(name: str) -> Path:
    path = data_dir() / FOLDER / name
    if not path.is_file():
        raise DataError(f"the seed paper's recorded results: {path} not found; set NASVEC_DATA to the folder "
                        f"holding {FOLDER}/ (the authors' repository, Experiments/)")
    record_input(path)
    return path


def figure1_curves() -> dict[str, pd.DataFrame]:
    """``{"dvae", "dvae_emb", "pernode_structure", "pernode_types"}`` -> columns ``epoch, recon, kl``."""
    out = {}
    for key, name in (("dvae", "dvae_train_loss.txt"), ("dvae_emb", "dvae_emb_train_loss.txt")):
        rows = [line.split() for line in _path(name).read_text().splitlines() if line.strip()]
        try:
            vals = [[float(x) for x in r[:3]] for r in rows]
        except (ValueError, IndexError):
            raise DataError(f"{_path(name)}: expected lines 'total recon kl pred'") from None
        out[key] = pd.DataFrame({"epoch": range(1, len(vals) + 1), "recon": [v[1] for v in vals],
                                 "kl": [v[2] for v in vals]})
    for key, name in (("pernode_structure", "proposed_edges_losses.json"), ("pernode_types", "proposed_optype_losses.json")):
        d = json.loads(_path(name).read_text())
        if not {"recon", "kl"} <= set(d):
            raise DataError(f"{_path(name)}: expected the keys 'total', 'recon' and 'kl'")
        out[key] = pd.DataFrame({"epoch": range(1, len(d["recon"]) + 1), "recon": d["recon"], "kl": d["kl"]})
    return out


def table2_runs() -> pd.DataFrame:
    """Columns ``network, variant, run, accuracy`` (a share): the authors' three runs per cell of Table 2."""
    rows = []
    for net, name in (("resnet18", "table2_resnet18_accuracy.txt"), ("alexnet", "table2_alexnet_accuracy.txt")):
        for line in _path(name).read_text().splitlines():
            m = re.match(r"\s*(Origin|Naive|Compressed):\s*([\d.,\s]+)\|", line)
            if m:
                accs = [float(a) for a in m.group(2).replace(",", " ").split()]
                rows += [{"network": net, "variant": VARIANTS[m.group(1).lower()], "run": k + 1, "accuracy": a}
                         for k, a in enumerate(accs)]
    if not rows:
        raise DataError(f"{data_dir() / FOLDER}: no 'Origin/Naive/Compressed: a, b, c | ...' lines in the Table 2 files")
    return pd.DataFrame(rows)


def table2_curves() -> pd.DataFrame:
    """Columns ``network, variant, run, epoch, train_loss, train_acc, test_loss, test_acc`` of every run."""
    folder = data_dir() / FOLDER / "table2_curves"
    files = sorted(folder.glob("*_losses.json"))
    if not files:
        raise DataError(f"{folder}: no '<net>_<variant><run>_losses.json' files (the authors' Table 2 curves)")
    rows = []
    for f in files:
        m = re.match(r"(resnet|alexnet)_(origin|naive|compressed)(\d)_losses\.json$", f.name)
        if not m:
            continue
        record_input(f)
        d = json.loads(f.read_text())
        for e, (tr, te) in enumerate(zip(d["train"], d["test"]), start=1):
            rows.append({"network": NETS[m.group(1)], "variant": VARIANTS[m.group(2)], "run": int(m.group(3)),
                         "epoch": e, "train_loss": tr[0], "train_acc": tr[1], "test_loss": te[0], "test_acc": te[1]})
    return pd.DataFrame(rows)

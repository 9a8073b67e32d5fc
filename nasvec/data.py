"""Data sets used in the book (chapter "Data sets used in this book").

* ``load_digits``        – scikit-learn's 8×8 digits, embedded (the quick profile's images);
* ``load_fashion_mnist`` – Fashion-MNIST, 28×28, from ``$NASVEC_DATA``, Debian's package or the web;
* ``load_mnist_test``    – the MNIST test split (the only MNIST split shipped here);
* ``load_enas``          – D-VAE's ENAS architectures with D-VAE's own train/test split;
* ``generate_enas``      – random architectures from the same ENAS search space (no files needed).

Real data is looked up in ``$NASVEC_DATA`` first; loaders verify checksums and
fail with one :class:`DataError` that says how to get the missing files.
"""

from __future__ import annotations

import ast
import gzip
import hashlib
import os
import random
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .graph import ArchGraph, Node
from .utils import atomic_write, record_input


class DataError(RuntimeError):
    """A data set is missing, corrupt or malformed; the message says what to do."""


def data_dir() -> Path:
    """``$NASVEC_DATA``, else ``~/.cache/nasvec/data``."""
    env = os.environ.get("NASVEC_DATA")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "nasvec" / "data"


# --------------------------------------------------------------------------- digits
def load_digits():
    """scikit-learn's handwritten digits: images ``(1797, 1, 8, 8)`` float32 in [0, 1], labels int64."""
    from sklearn.datasets import load_digits as _load

    d = _load()
    x = (d.images / 16.0).astype(np.float32)[:, None]
    return x, d.target.astype(np.int64)


# --------------------------------------------------------------------------- IDX files
FASHION_MNIST_CLASSES = (
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
)
FASHION_MNIST_URL = "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"
# SHA-256 of the *decompressed* payloads (the .gz bytes differ between mirrors).
FASHION_MNIST_SHA256 = {
    "train-images-idx3-ubyte.gz": "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
    "train-labels-idx1-ubyte.gz": "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
    "t10k-images-idx3-ubyte.gz": "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
    "t10k-labels-idx1-ubyte.gz": "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
}
MNIST_TEST_SHA256 = {  # decompressed payloads; md5s match the published raw files
    "t10k-images-idx3-ubyte.gz": None,
    "t10k-labels-idx1-ubyte.gz": None,
}
DEBIAN_FASHION_MNIST = Path("/usr/share/datasets/fashion-mnist")


def parse_idx(payload: bytes, what: str = "IDX data") -> np.ndarray:
    """Parse an uncompressed IDX payload (images: magic 0x803, labels: 0x801)."""
    if len(payload) < 8:
        raise DataError(f"{what}: too short to be an IDX file ({len(payload)} bytes)")
    magic = int.from_bytes(payload[:4], "big")
    if magic not in (0x801, 0x803):
        raise DataError(f"{what}: bad IDX magic number 0x{magic:08x} (expected 0x801 or 0x803)")
    ndim = magic & 0xFF
    dims = [int.from_bytes(payload[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim)]
    offset = 4 + 4 * ndim
    expected = int(np.prod(dims))
    if len(payload) - offset != expected:
        raise DataError(f"{what}: header says {dims} ({expected} bytes) but {len(payload) - offset} bytes follow")
    return np.frombuffer(payload, dtype=np.uint8, offset=offset).reshape(dims)


def _read_gz(path: Path, sha256: str | None) -> bytes:
    try:
        payload = gzip.decompress(path.read_bytes())
    except (OSError, EOFError) as err:
        raise DataError(f"{path}: not a readable gzip file ({err})") from None
    if sha256 is not None:
        got = hashlib.sha256(payload).hexdigest()
        if got != sha256:
            raise DataError(f"{path}: checksum mismatch (SHA-256 of the payload is {got}, expected {sha256}); "
                            "delete the file and fetch it again")
    record_input(path)
    return payload


def _find(name: str, folders: list[Path]) -> Path | None:
    for folder in folders:
        if (folder / name).is_file():
            return folder / name
    return None


def _download(url: str, dest: Path, sha256: str | None = None) -> None:
    """Fetch ``url`` into ``dest``; the file lands only once its payload's SHA-256 matches."""
    try:
        with urllib.request.urlopen(url, timeout=60) as resp:
            raw = resp.read()
    except OSError as err:
        raise DataError(f"could not download {url} ({err})") from None
    if sha256 is not None:
        try:
            got = hashlib.sha256(gzip.decompress(raw)).hexdigest()
        except (OSError, EOFError) as err:
            raise DataError(f"downloaded {url} is not a readable gzip file ({err}); nothing was written") from None
        if got != sha256:
            raise DataError(f"downloaded {url} has the wrong checksum (SHA-256 of the payload {got}, "
                            f"expected {sha256}); nothing was written")
    with atomic_write(dest, "wb") as out:
        out.write(raw)


def load_fashion_mnist(split: str = "train", download: bool = True):
    """Fashion-MNIST images ``(n, 28, 28)`` uint8 and labels ``(n,)`` int64.

    Looks in ``$NASVEC_DATA/fashion-mnist/``, then ``/usr/share/datasets/fashion-mnist/``
    (Debian's ``dataset-fashion-mnist``), then downloads into ``$NASVEC_DATA/fashion-mnist/``.
    Every file is verified by the SHA-256 of its decompressed payload.
    """
    if split not in ("train", "test"):
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    prefix = "train" if split == "train" else "t10k"
    own = data_dir() / "fashion-mnist"
    arrays = []
    for kind in ("images-idx3-ubyte.gz", "labels-idx1-ubyte.gz"):
        name = f"{prefix}-{kind}"
        path = _find(name, [own, DEBIAN_FASHION_MNIST])
        if path is None and download:
            try:
                _download(FASHION_MNIST_URL + name, own / name, FASHION_MNIST_SHA256[name])
                path = own / name
            except DataError as err:
                raise DataError(
                    f"Fashion-MNIST file {name} not found in {own} or {DEBIAN_FASHION_MNIST}, and {err}. "
                    "Install Debian's package (`apt-get install -y dataset-fashion-mnist`), or put the "
                    f"four .gz files in {own} (set NASVEC_DATA to choose the folder)."
                ) from None
        if path is None:
            raise DataError(f"Fashion-MNIST file {name} not found in {own} or {DEBIAN_FASHION_MNIST}; "
                            "install `dataset-fashion-mnist` with apt-get or set NASVEC_DATA")
        arrays.append(parse_idx(_read_gz(path, FASHION_MNIST_SHA256[name]), str(path)))
    images, labels = arrays
    if len(images) != len(labels):
        raise DataError(f"Fashion-MNIST {split}: {len(images)} images but {len(labels)} labels")
    return images, labels.astype(np.int64)


def load_mnist_test():
    """The MNIST test split from ``$NASVEC_DATA/mnist/`` (the training split is not shipped here)."""
    folder = data_dir() / "mnist"
    out = []
    for name in ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"):
        path = folder / name
        if not path.is_file():
            raise DataError(f"MNIST file {path} not found; set NASVEC_DATA to the folder holding mnist/")
        out.append(parse_idx(_read_gz(path, None), str(path)))
    return out[0], out[1].astype(np.int64)


# --------------------------------------------------------------------------- ENAS
ENAS_OPS = ("conv3x3", "sep_conv3x3", "conv5x5", "sep_conv5x5", "avg_pool3x3", "max_pool3x3")
#: D-VAE's node types: 0 input, 1 output, 2 + ENAS op id.
ENAS_TYPES = ("input", "output") + ENAS_OPS
ENAS_FILE_SHA256 = "fea9a7dde1545e7d3bd58fd4b9c3db08a89c18e0351f770cde2fe530c4791725"


def enas_to_graph(arch) -> ArchGraph:
    """One ENAS architecture (``[[o0], [o1, s], ...]``) as an :class:`ArchGraph`.

    D-VAE's convention: node 0 is the input, nodes 1..n the layers, n+1 the output;
    layer i reads layer i-1 and every earlier node j whose skip flag is set; the output reads the last layer.
    """
    n = len(arch)
    nodes = [Node("input")]
    edges = []
    for i, layer in enumerate(arch):
        if len(layer) != i + 1:
            raise DataError(f"ENAS layer {i} has {len(layer)} entries, expected {i + 1} (op id and {i} skip flags)")
        op, flags = layer[0], layer[1:]
        if not (isinstance(op, int) and 0 <= op < len(ENAS_OPS)):
            raise DataError(f"ENAS layer {i}: op id {op!r} is not in 0..{len(ENAS_OPS) - 1}")
        if any(f not in (0, 1) for f in flags):
            raise DataError(f"ENAS layer {i}: skip flags {flags!r} must be 0 or 1")
        nodes.append(Node(ENAS_OPS[op]))
        preds = sorted({i} | {j for j, f in enumerate(flags) if f})
        edges += [(j, i + 1) for j in preds]
    nodes.append(Node("output"))
    edges.append((n, n + 1))
    return ArchGraph(nodes, edges)


def graph_to_enas(g: ArchGraph) -> list[list[int]]:
    """Inverse of :func:`enas_to_graph` (raises :class:`DataError` if ``g`` is not an ENAS graph)."""
    n = len(g) - 2
    if n < 1 or g.nodes[0].op != "input" or g.nodes[-1].op != "output":
        raise DataError("not an ENAS graph: it must start with 'input' and end with 'output'")
    arch = []
    for i in range(n):
        op = g.nodes[i + 1].op
        if op not in ENAS_OPS:
            raise DataError(f"node {i + 1}: op {op!r} is not an ENAS op")
        preds = set(g.predecessors(i + 1))
        if i not in preds:
            raise DataError(f"node {i + 1} does not read node {i}")
        arch.append([ENAS_OPS.index(op)] + [int(j in preds) for j in range(i)])
    return arch


def enas_types(g: ArchGraph) -> list[int]:
    """D-VAE node types (0 input, 1 output, 2.. ops) of an ENAS graph."""
    return [ENAS_TYPES.index(n.op) for n in g.nodes]


@dataclass
class EnasData:
    """D-VAE's ENAS-6 architectures: graphs, weight-sharing accuracies and the train/test split."""

    graphs: list[ArchGraph]
    accuracy: np.ndarray
    train: np.ndarray  # indices into graphs, in D-VAE's shuffled order
    test: np.ndarray
    source: str

    def __len__(self):
        return len(self.graphs)


def load_enas(path: str | os.PathLike | None = None, burn_in: int = 1000, verify: bool = True) -> EnasData:
    """Read ``final_structures6.txt`` with D-VAE's conventions.

    The first ``burn_in`` lines are skipped (19,020 remain), the rest shuffled with
    ``random.Random(0)`` and split 90/10: 17,118 train and 1,902 test graphs.
    ``train``/``test`` index the returned list, which keeps the file order.
    """
    path = Path(path) if path is not None else data_dir() / "dvae" / "final_structures6.txt"
    if not path.is_file():
        raise DataError(f"D-VAE's ENAS file {path} not found; set NASVEC_DATA to the folder holding "
                        "dvae/final_structures6.txt (github.com/muhanzhang/D-VAE, data/)")
    raw = path.read_bytes()
    if verify and path.name == "final_structures6.txt":
        got = hashlib.sha256(raw).hexdigest()
        if got != ENAS_FILE_SHA256:
            raise DataError(f"{path}: SHA-256 {got} differs from D-VAE's file ({ENAS_FILE_SHA256})")
    record_input(path)
    graphs, accs = [], []
    for lineno, line in enumerate(raw.decode().splitlines(), start=1):
        if lineno <= burn_in or not line.strip():
            continue
        try:
            arch, acc = ast.literal_eval(line)
            graphs.append(enas_to_graph(arch))
        except (ValueError, SyntaxError, TypeError, DataError) as err:
            raise DataError(f"{path}, line {lineno}: not an ENAS architecture ({err})") from None
        accs.append(float(acc))
    order = list(range(len(graphs)))
    random.Random(0).shuffle(order)
    n_train = int(0.9 * len(order))
    return EnasData(graphs, np.array(accs), np.array(order[:n_train]), np.array(order[n_train:]), str(path))


def generate_enas(n: int, n_layers: int = 6, skip_prob: float = 0.3, seed: int = 0) -> list[ArchGraph]:
    """``n`` random architectures from the ENAS macro search space (as in D-VAE's data).

    Ops are uniform over the six ENAS ops; each skip flag is set with ``skip_prob``
    (0.30 in D-VAE's file). Needs no files: the quick profile's graphs.
    """
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        arch = [[int(rng.integers(len(ENAS_OPS)))] + [int(f) for f in rng.random(i) < skip_prob]
                for i in range(n_layers)]
        out.append(enas_to_graph(arch))
    return out


def enas_split(real_data: bool, n_generated: int = 1000, seed: int = 0):
    """Chapter 2's architectures and their 90/10 split: ``(graphs, accuracy, train_idx, test_idx)``.

    ``real_data``: D-VAE's file with D-VAE's split (:func:`load_enas`; ``accuracy`` is its column);
    otherwise ``n_generated`` graphs of :func:`generate_enas` split by a seeded permutation (``accuracy``
    is None). Chapter 3 uses it to reload chapter 2's trained compressors from the cache.
    """
    if real_data:
        enas = load_enas()
        return enas.graphs, enas.accuracy, enas.train, enas.test
    graphs = generate_enas(n_generated, seed=seed)
    order = np.random.default_rng(seed).permutation(len(graphs))
    cut = int(0.9 * len(graphs))
    return graphs, None, order[:cut], order[cut:]


def enas_statistics(graphs: list[ArchGraph]) -> dict:
    """Counts that describe a set of ENAS graphs: size, distinct architectures, op and skip frequencies."""
    ops = {op: 0 for op in ENAS_OPS}
    skips = 0
    slots = 0
    for g in graphs:
        for n in g.nodes[1:-1]:
            ops[n.op] += 1
        n_layers = len(g) - 2
        skips += len(g.edges) - n_layers - 1  # chain edges and the output edge are fixed
        slots += n_layers * (n_layers - 1) // 2
    return {"graphs": len(graphs), "distinct": len(set(graphs)), "op_counts": ops,
            "skip_ones": skips, "skip_zeros": slots - skips}

import gzip
import json

import numpy as np
import pytest
from hypothesis import given, strategies as st

from nasvec import data
from nasvec.data import DataError
from nasvec.data import images as image_files
from nasvec.errors import ConfigError

from conftest import real_data


def test_digits_shapes():
    x, y = data.load_digits()
    assert x.shape == (1797, 1, 8, 8) and x.dtype == np.float32
    assert 0 <= x.min() and x.max() <= 1
    assert set(np.unique(y)) == set(range(10))


def idx_bytes(arr: np.ndarray) -> bytes:
    magic = 0x800 | arr.ndim
    head = magic.to_bytes(4, "big") + b"".join(int(d).to_bytes(4, "big") for d in arr.shape)
    return head + arr.astype(np.uint8).tobytes()


def test_parse_idx_round_trip_and_errors():
    arr = np.arange(24, dtype=np.uint8).reshape(2, 3, 4)
    assert np.array_equal(data.parse_idx(idx_bytes(arr)), arr)
    with pytest.raises(DataError, match="bad IDX magic"):
        data.parse_idx(b"\x00\x00\x09\x99" + bytes(8))
    with pytest.raises(DataError, match="header says"):
        data.parse_idx(idx_bytes(arr)[:-1])


@pytest.fixture
def no_system_copy(tmp_path, monkeypatch):
    monkeypatch.setenv("NASVEC_DATA", str(tmp_path))
    monkeypatch.setattr(image_files, "DEBIAN_FASHION_MNIST", tmp_path / "debian-missing")
    return tmp_path


def test_fashion_mnist_missing_offline_names_the_package(no_system_copy, monkeypatch):
    def offline(url, dest, sha256=None):
        raise DataError(f"could not download {url} (network unreachable)")

    monkeypatch.setattr(image_files, "_download", offline)
    with pytest.raises(DataError, match="dataset-fashion-mnist") as err:
        data.load_fashion_mnist("test")
    assert "t10k-images-idx3-ubyte.gz" in str(err.value)
    assert not (no_system_copy / "fashion-mnist" / "t10k-images-idx3-ubyte.gz").exists()


def test_fashion_mnist_checksum_mismatch(no_system_copy):
    folder = no_system_copy / "fashion-mnist"
    folder.mkdir()
    for name in ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"):
        arr = np.zeros((3, 28, 28) if "images" in name else (3,), dtype=np.uint8)
        (folder / name).write_bytes(gzip.compress(idx_bytes(arr)))
    with pytest.raises(DataError, match="checksum mismatch"):
        data.load_fashion_mnist("test", download=False)


def test_fashion_mnist_corrupt_download_leaves_no_file(no_system_copy, monkeypatch):
    import io

    payload = gzip.compress(idx_bytes(np.zeros((3, 28, 28), dtype=np.uint8)))   # valid gzip, wrong content
    monkeypatch.setattr(image_files.urllib.request, "urlopen", lambda url, timeout: io.BytesIO(payload))
    with pytest.raises(DataError, match="wrong checksum.*nothing was written"):
        data.load_fashion_mnist("test")
    assert not list((no_system_copy / "fashion-mnist").glob("*"))


def test_fashion_mnist_not_gzip(no_system_copy):
    folder = no_system_copy / "fashion-mnist"
    folder.mkdir()
    (folder / "t10k-images-idx3-ubyte.gz").write_bytes(b"not gzip at all")
    with pytest.raises(DataError, match="not a readable gzip file"):
        data.load_fashion_mnist("test", download=False)


def test_fashion_mnist_bad_split():
    with pytest.raises(ConfigError, match="split must be"):
        data.load_fashion_mnist("valid")


def test_fashion_mnist_real_files():
    real_data("fashion-mnist")
    x, y = data.load_fashion_mnist("test")
    assert x.shape == (10000, 28, 28) and x.dtype == np.uint8
    assert np.array_equal(np.bincount(y), np.full(10, 1000))
    x, y = data.load_fashion_mnist("train")
    assert x.shape == (60000, 28, 28)
    assert np.array_equal(np.bincount(y), np.full(10, 6000))


enas_arch = st.integers(1, 8).flatmap(lambda n: st.tuples(*[
    st.tuples(st.integers(0, 5), st.lists(st.integers(0, 1), min_size=i, max_size=i)) for i in range(n)]))


@given(enas_arch)
def test_enas_graph_round_trip(arch):
    arch = [[op] + flags for op, flags in arch]
    g = data.enas_to_graph(arch)
    assert len(g) == len(arch) + 2
    assert all(s < d for s, d in g.edges)
    assert data.graph_to_enas(g) == arch
    types = data.enas_types(g)
    assert types[0] == 0 and types[-1] == 1 and all(t >= 2 for t in types[1:-1])


def test_enas_malformed_layer():
    with pytest.raises(DataError, match="layer 1 has 3 entries"):
        data.enas_to_graph([[0], [1, 0, 1]])
    with pytest.raises(DataError, match="op id 9"):
        data.enas_to_graph([[9]])


def test_load_enas_missing_file(tmp_path):
    with pytest.raises(DataError, match="final_structures6.txt"):
        data.load_enas(tmp_path / "final_structures6.txt")


def test_load_enas_malformed_line(tmp_path):
    path = tmp_path / "enas.txt"
    path.write_text("[[0], [1, 0]], 0.7\n[[0], [1]], 0.7\n")
    with pytest.raises(DataError, match="line 2"):
        data.load_enas(path, burn_in=0)


def test_generate_enas_is_seeded_and_in_the_space():
    a = data.generate_enas(50, seed=1)
    assert a == data.generate_enas(50, seed=1)
    assert a != data.generate_enas(50, seed=2)
    for g in a:
        assert len(data.graph_to_enas(g)) == 6


def test_load_enas_matches_dvae_split():
    folder = real_data("dvae")
    d = data.load_enas()
    assert len(d) == 19020 and len(d.train) == 17118 and len(d.test) == 1902
    split = json.loads((folder / "final_structures6_dvae_split.json").read_text())
    burn_in = 1000
    assert (d.train + burn_in).tolist() == split["train_line_indices"]
    assert (d.test + burn_in).tolist() == split["test_line_indices"]
    assert 0.70 <= d.accuracy.min() and d.accuracy.max() <= 0.751
    stats = data.enas_statistics(data.load_enas(burn_in=0).graphs)
    # counts documented for the whole file (shared/data/README.md)
    assert stats["graphs"] == 20020 and stats["distinct"] == 20015
    assert list(stats["op_counts"].values()) == [22025, 19470, 18325, 19203, 18799, 22298]
    assert (stats["skip_ones"], stats["skip_zeros"]) == (90455, 209845)


def test_enas_split_generated_is_seeded_and_disjoint():
    graphs, acc, train, test = data.enas_split(False, 50, seed=3)
    assert acc is None and len(graphs) == 50 and len(train) == 45 and len(test) == 5
    assert not set(train.tolist()) & set(test.tolist())
    again = data.enas_split(False, 50, seed=3)
    assert again[0] == graphs and (again[2] == train).all()


# --------------------------------------------------------------------------- the seed paper's recorded results
def test_the_authors_recorded_results():
    from nasvec.data import authors

    real_data("graphembedding-results")
    curves = authors.figure1_curves()
    assert len(curves["dvae"]) == 10 and len(curves["pernode_structure"]) == 300
    assert curves["dvae"].recon.iloc[0] > curves["dvae"].recon.iloc[-1]
    runs = authors.table2_runs().groupby(["network", "variant"]).accuracy
    assert runs.count().tolist() == [3] * 6
    # the paper prints ResNet18's "original" as 78.99 +- 0.39; the runs say otherwise
    assert runs.mean()["resnet18", "original"] == pytest.approx(0.76023, abs=1e-4)
    assert runs.mean()["alexnet", "compressed"] == pytest.approx(0.60437, abs=1e-4)
    per_run = authors.table2_curves().groupby(["network", "variant", "run"]).epoch.max()
    assert len(per_run) == 18 and per_run.min() >= 50


def test_the_authors_results_missing_name_the_folder(tmp_path, monkeypatch):
    from nasvec.data import authors

    monkeypatch.setenv("NASVEC_DATA", str(tmp_path))
    with pytest.raises(DataError, match="graphembedding-results/dvae_train_loss.txt not found; set NASVEC_DATA"):
        authors.figure1_curves()
    (tmp_path / "graphembedding-results").mkdir()
    (tmp_path / "graphembedding-results" / "table2_resnet18_accuracy.txt").write_text("nothing here\n")
    (tmp_path / "graphembedding-results" / "table2_alexnet_accuracy.txt").write_text("")
    with pytest.raises(DataError, match="no 'Origin/Naive/Compressed"):
        authors.table2_runs()


# --------------------------------------------------------------------------- CIFAR-10
def write_cifar(folder, n=6, seed=0):
    """A CIFAR-10 file set in the official python format (pickled dicts with bytes keys), ``n`` images a batch."""
    import pickle

    from nasvec.data import cifar

    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    batches = {}
    for name in cifar.SPLITS["train"] + cifar.SPLITS["test"]:
        d = {b"batch_label": name.encode(), b"labels": [int(v) for v in rng.integers(0, 10, n)],
             b"data": rng.integers(0, 256, (n, 3072), dtype=np.uint8), b"filenames": [b"x.png"] * n}
        (folder / name).write_bytes(pickle.dumps(d, protocol=2))
        batches[name] = d
    (folder / "batches.meta").write_bytes(pickle.dumps({b"label_names": [c.encode() for c in cifar.CIFAR10_CLASSES]}))
    return batches


def test_cifar10_reads_the_official_format(tmp_path, monkeypatch):
    from nasvec.data import cifar

    batches = write_cifar(tmp_path / "cifar-10" / "cifar-10-batches-py")
    monkeypatch.setenv("NASVEC_DATA", str(tmp_path))
    x, y = cifar.load_cifar10("train", verify=False)
    assert x.shape == (30, 3, 32, 32) and x.dtype == np.uint8 and y.shape == (30,) and y.dtype == np.int64
    first = batches["data_batch_1"]
    assert np.array_equal(x[0, 0].ravel(), first[b"data"][0, :1024])           # the red plane, row-major
    assert np.array_equal(x[0, 2].ravel(), first[b"data"][0, 2048:])
    assert y[:6].tolist() == first[b"labels"]
    xt, yt = cifar.load_cifar10("test", verify=False)
    assert xt.shape == (6, 3, 32, 32) and yt.tolist() == batches["test_batch"][b"labels"]
    # the images go through the same split and scaling as every other data set
    d = data.image_data(x, y, 20, 10, size=16, seed=0)
    assert d.x_train.shape == (20, 3, 16, 16)


def test_cifar10_refuses_files_that_are_not_official_or_not_batches(tmp_path):
    import pickle

    from nasvec.data import cifar

    folder = tmp_path / "cifar-10"
    write_cifar(folder)
    with pytest.raises(DataError, match=r"data_batch_1: MD5 \w+ differs from the official file's c99cafc1"):
        cifar.load_cifar10(root=folder)
    (folder / "data_batch_2").write_bytes((folder / "data_batch_2").read_bytes()[:100])   # truncated
    with pytest.raises(DataError, match="data_batch_2: not a CIFAR-10 batch \\(unpickling failed"):
        cifar.load_cifar10(root=folder, verify=False)

    class Hostile:
        def __reduce__(self):
            import os
            return (os.getcwd, ())

    (folder / "data_batch_2").write_bytes(pickle.dumps({b"data": Hostile(), b"labels": []}))
    with pytest.raises(DataError, match="global posix.getcwd is not allowed"):
        cifar.load_cifar10(root=folder, verify=False)
    (folder / "data_batch_2").write_bytes(pickle.dumps({b"data": np.zeros((2, 3072)), b"labels": [0, 1]}))
    with pytest.raises(DataError, match=r"'data' must be uint8 \[n, 3072\], got float64"):
        cifar.load_cifar10(root=folder, verify=False)
    (folder / "data_batch_2").write_bytes(pickle.dumps({b"data": np.zeros((2, 3072), np.uint8), b"labels": [0, 10]}))
    with pytest.raises(DataError, match="'labels' must be 2 integers in 0..9"):
        cifar.load_cifar10(root=folder, verify=False)


def test_cifar10_missing_says_where_to_put_it(tmp_path, monkeypatch):
    import urllib.request

    from nasvec.data import cifar

    with pytest.raises(DataError, match="CIFAR-10 not found in .*cifar-10: put the files data_batch_1..5"):
        cifar.load_cifar10(root=tmp_path / "cifar-10", download=False)

    def offline(*args, **kwargs):
        raise OSError("network unreachable")

    monkeypatch.setattr(urllib.request, "urlopen", offline)
    with pytest.raises(DataError, match="downloading https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz failed "
                                        "\\(network unreachable\\). Put the unpacked cifar-10-batches-py"):
        cifar.load_cifar10(root=tmp_path / "cifar-10")
    assert not (tmp_path / "cifar-10").exists()
    with pytest.raises(ConfigError, match="split must be 'train' or 'test'"):
        cifar.load_cifar10("valid", root=tmp_path)

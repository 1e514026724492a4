"""The real-data loaders (MNIST, Fashion-MNIST, CIFAR-10) and the mini-batch iterators, offline.

These machines have no network. Every test writes its own small files in the official formats
(IDX, gzip-compressed; CIFAR-10's python pickles inside a tar.gz), serves them from a local "server"
(a ``file://`` mirror, or a monkeypatched ``urlopen``), and checks the cache directory, the
SHA-256 checks, the atomic writes, the retries and the error messages. The network is disabled in
every test that could reach it (``no_network``), so a test can never download anything by accident.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import pickle
import random
import socket
import struct
import tarfile
import urllib.request
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from course_lib import data
from course_lib.data import download, real

# ============================================================================================
# Writers of the official formats (independent of the readers under test)
# ============================================================================================
IDX_CODES = {np.uint8: 0x08, np.int8: 0x09, np.int16: 0x0B, np.int32: 0x0C, np.float32: 0x0D, np.float64: 0x0E}


def idx_bytes(array: np.ndarray) -> bytes:
    """The IDX encoding of ``array``: 0, 0, type code, ndim, big-endian sizes, big-endian values."""
    code = IDX_CODES[array.dtype.type]
    header = struct.pack(">BBBB", 0, 0, code, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    return header + array.astype(array.dtype.newbyteorder(">")).tobytes()


def write_idx_gz(path: Path, array: np.ndarray) -> Path:
    path.write_bytes(gzip.compress(idx_bytes(array), mtime=0))
    return path


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _short_str(b: bytes) -> bytes:  # pickle SHORT_BINSTRING: a Python 2 str
    return b"U" + bytes([len(b)]) + b


def py2_batch_pickle(x: np.ndarray, labels) -> bytes:
    """A CIFAR batch exactly as Python 2's cPickle wrote the official files: str keys, the uint8
    array rebuilt with numpy.core.multiarray._reconstruct from a Python 2 str of raw bytes."""
    n, d = x.shape
    out = b"\x80\x02}(" + _short_str(b"data")
    out += b"cnumpy.core.multiarray\n_reconstruct\ncnumpy\nndarray\nK\x00\x85" + _short_str(b"b") + b"\x87R"
    out += b"(K\x01J" + struct.pack("<i", n) + b"J" + struct.pack("<i", d) + b"\x86"
    out += b"cnumpy\ndtype\n" + _short_str(b"u1") + b"K\x00K\x01\x87R"
    out += b"(K\x03" + _short_str(b"|") + b"NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00tb"
    out += b"\x89T" + struct.pack("<i", x.size) + x.tobytes() + b"tb"
    out += _short_str(b"labels") + b"]("
    out += b"".join(b"K" + bytes([int(v)]) for v in labels)
    out += b"e" + _short_str(b"batch_label") + _short_str(b"a test batch") + b"u."
    return out


def write_cifar_archive(path: Path, rng: np.random.Generator, per_batch: int = 6, *, py2: bool = True,
                        members: dict | None = None) -> dict:
    """A small cifar-10-python.tar.gz (5 training batches, a test batch, batches.meta); returns the arrays."""
    names = [f"class_{k}" for k in range(10)]
    batches = {}
    for name in [f"data_batch_{k}" for k in range(1, 6)] + ["test_batch"]:
        x = rng.integers(0, 256, size=(per_batch, 3072), dtype=np.uint8)
        y = rng.integers(0, 10, size=per_batch)
        batches[name] = (x, y)
    contents = {
        name: (py2_batch_pickle(x, y) if py2 else pickle.dumps({"data": x, "labels": y.tolist()}, protocol=2))
        for name, (x, y) in batches.items()
    }
    contents["batches.meta"] = pickle.dumps({"label_names": names, "num_vis": 3072}, protocol=2)
    if members is not None:
        contents.update(members)
        contents = {k: v for k, v in contents.items() if v is not None}
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for name, payload in contents.items():
            info = tarfile.TarInfo(f"cifar-10-batches-py/{name}")
            info.size = len(payload)
            tar.addfile(info, io.BytesIO(payload))
    path.write_bytes(buf.getvalue())
    train = [batches[f"data_batch_{k}"] for k in range(1, 6)]
    return {
        "x_train": np.concatenate([b[0] for b in train]).reshape(-1, 3, 32, 32),
        "y_train": np.concatenate([b[1] for b in train]),
        "x_test": batches["test_batch"][0].reshape(-1, 3, 32, 32),
        "y_test": batches["test_batch"][1],
        "classes": tuple(names),
    }


def write_mnist_like(server: Path, rng: np.random.Generator, n_train: int = 40, n_test: int = 12,
                     size: int = 28) -> dict:
    """The four gzip IDX files of an MNIST-like set in ``server``; returns the arrays."""
    server.mkdir(parents=True, exist_ok=True)
    arrays = {
        "train-images-idx3-ubyte.gz": rng.integers(0, 256, size=(n_train, size, size), dtype=np.uint8),
        "train-labels-idx1-ubyte.gz": (np.arange(n_train) % 10).astype(np.uint8),
        "t10k-images-idx3-ubyte.gz": rng.integers(0, 256, size=(n_test, size, size), dtype=np.uint8),
        "t10k-labels-idx1-ubyte.gz": rng.integers(0, 10, size=n_test).astype(np.uint8),
    }
    for name, array in arrays.items():
        write_idx_gz(server / name, array)
    return arrays


def spec_for(dataset: data.RemoteDataset, server: Path) -> data.RemoteDataset:
    """``dataset`` with the checksums and sizes of the small files in ``server``, served from there."""
    files = tuple(data.RemoteFile(f.filename, sha(server / f.filename), (server / f.filename).stat().st_size)
                  for f in dataset.files)
    return replace(dataset, files=files, mirrors=(server.as_uri() + "/",))


def listing(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir()) if directory.exists() else []


# ============================================================================================
# Fixtures
# ============================================================================================
@pytest.fixture
def no_network(monkeypatch):
    """Every attempt to open a network connection fails, as on the course's machines."""
    calls = []

    def refuse(*args, **kwargs):
        calls.append(args)
        raise OSError("network disabled by the test")

    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    monkeypatch.setattr(socket.socket, "connect", refuse)
    return calls


@pytest.fixture
def clean_env(monkeypatch, tmp_path):
    """No COURSE_DATA_DIR, and HOME / XDG_CACHE_HOME inside tmp_path (never the real cache)."""
    monkeypatch.delenv(data.CACHE_ENV_VAR, raising=False)
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    return tmp_path


FAST = {"retry_wait": 0.0, "progress": False}


# ============================================================================================
# IDX
# ============================================================================================
@pytest.mark.parametrize("dtype", list(IDX_CODES))
@pytest.mark.parametrize("compress", [True, False])
def test_idx_round_trip_every_type(tmp_path, dtype, compress):
    rng = np.random.default_rng(0)
    array = (rng.standard_normal((3, 4, 5)) * 50).astype(dtype)
    path = tmp_path / "a.idx"
    payload = idx_bytes(array)
    path.write_bytes(gzip.compress(payload) if compress else payload)
    got = data.read_idx(path)
    assert got.shape == (3, 4, 5) and got.dtype == np.dtype(dtype) and got.dtype.isnative
    np.testing.assert_array_equal(got, array)
    np.testing.assert_array_equal(data.read_idx(payload), array)  # bytes work too
    got[0, 0, 0] = 1  # a writable copy, not a view of the file's buffer


def test_idx_reads_the_mnist_header_layout():
    """Byte by byte as in the MNIST page: magic 0x00000803, then 60000, 28, 28 big-endian."""
    header = bytes([0, 0, 8, 3]) + (2).to_bytes(4, "big") + (2).to_bytes(4, "big") + (3).to_bytes(4, "big")
    got = data.read_idx(header + bytes(range(12)))
    np.testing.assert_array_equal(got, np.arange(12, dtype=np.uint8).reshape(2, 2, 3))


@pytest.mark.parametrize(
    "payload, message",
    [
        (b"\x00\x00", "too short"),
        (b"\x01\x00\x08\x01" + (3).to_bytes(4, "big") + b"abc", "not an IDX file"),
        (b"\x00\x00\x07\x01" + (3).to_bytes(4, "big") + b"abc", "unknown IDX type"),
        (b"\x00\x00\x08\x00", "at least one dimension"),
        (b"\x00\x00\x08\x02" + (3).to_bytes(4, "big"), "truncated header"),
        (b"\x00\x00\x08\x01" + (5).to_bytes(4, "big") + b"abc", "truncated"),
        (b"\x00\x00\x08\x01" + (2).to_bytes(4, "big") + b"abc", "longer than its header"),
        (b"\x1f\x8b\x08\x00broken", "not a valid gzip"),
    ],
)
def test_idx_rejects_bad_files(payload, message):
    with pytest.raises(ValueError, match=message):
        data.read_idx(payload)


def test_idx_truncated_gzip_is_reported(tmp_path):
    full = gzip.compress(idx_bytes(np.zeros((50, 28, 28), np.uint8)))
    with pytest.raises(ValueError, match="gzip|truncated"):
        data.read_idx(full[: len(full) // 2])


# ============================================================================================
# CIFAR-10 archive
# ============================================================================================
@pytest.mark.parametrize("py2", [True, False])
def test_cifar_archive_is_read_in_nchw_order(tmp_path, py2):
    ref = write_cifar_archive(tmp_path / "c.tar.gz", np.random.default_rng(1), py2=py2)
    got = data.read_cifar10_archive(tmp_path / "c.tar.gz")
    assert got["x_train"].shape == (30, 3, 32, 32) and got["x_train"].dtype == np.uint8
    assert got["x_test"].shape == (6, 3, 32, 32) and got["y_train"].dtype == np.int64
    for key in ("x_train", "y_train", "x_test", "y_test"):
        np.testing.assert_array_equal(got[key], ref[key])
    assert got["classes"] == ref["classes"]
    # row layout: 1024 red values, then green, then blue, each 32x32 row-major
    row = ref["x_train"].reshape(30, 3072)[7]
    np.testing.assert_array_equal(got["x_train"][7, 1, 2, 5], row[1024 + 2 * 32 + 5])


def test_cifar_archive_never_runs_code_from_a_pickle(tmp_path):
    marker = tmp_path / "pwned"

    class Evil:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))

    write_cifar_archive(tmp_path / "c.tar.gz", np.random.default_rng(2),
                        members={"data_batch_3": pickle.dumps(Evil(), protocol=2)})
    with pytest.raises(ValueError, match="refusing to load"):
        data.read_cifar10_archive(tmp_path / "c.tar.gz")
    assert not marker.exists()


@pytest.mark.parametrize(
    "members, message",
    [
        ({"data_batch_2": None}, "no member"),
        ({"test_batch": pickle.dumps({"data": np.zeros((2, 100), np.uint8), "labels": [0, 1]}, protocol=2)}, "3072"),
        ({"test_batch": pickle.dumps({"data": np.zeros((2, 3072), np.uint8), "labels": [0, 10]}, protocol=2)}, "0..9"),
        ({"test_batch": pickle.dumps({"data": np.zeros((2, 3072), np.uint8), "labels": [0]}, protocol=2)}, "labels"),
        ({"test_batch": pickle.dumps([1, 2], protocol=2)}, "must be a dict"),
        ({"batches.meta": pickle.dumps({"label_names": ["a"]}, protocol=2)}, "10 'label_names'"),
        ({"data_batch_1": b"garbage"}, "not a readable CIFAR batch"),
    ],
)
def test_cifar_archive_bad_members(tmp_path, members, message):
    write_cifar_archive(tmp_path / "c.tar.gz", np.random.default_rng(3), members=members)
    with pytest.raises(ValueError, match=message):
        data.read_cifar10_archive(tmp_path / "c.tar.gz")


def test_cifar_archive_not_a_tar(tmp_path):
    (tmp_path / "c.tar.gz").write_bytes(b"not a tar at all")
    with pytest.raises(ValueError, match="tar.gz"):
        data.read_cifar10_archive(tmp_path / "c.tar.gz")


# ============================================================================================
# The cache directory
# ============================================================================================
def test_cache_dir_argument_then_env_then_xdg_then_home(clean_env, monkeypatch):
    home = clean_env / "home"
    assert data.resolve_cache_dir() == home / ".cache" / "course_lib"
    monkeypatch.setenv("XDG_CACHE_HOME", str(clean_env / "xdg"))
    assert data.resolve_cache_dir() == clean_env / "xdg" / "course_lib"
    monkeypatch.setenv(data.CACHE_ENV_VAR, str(clean_env / "env"))
    assert data.resolve_cache_dir() == clean_env / "env"
    assert data.resolve_cache_dir(clean_env / "arg") == clean_env / "arg"
    assert data.resolve_cache_dir("~/x") == home / "x"
    assert not (clean_env / "env").exists()  # resolving creates nothing
    with pytest.raises(ValueError):
        data.resolve_cache_dir("  ")


def test_loader_uses_the_environment_variable(tmp_path, monkeypatch, no_network):
    server = tmp_path / "server"
    write_mnist_like(server, np.random.default_rng(4))
    monkeypatch.setattr(real, "MNIST", spec_for(real.MNIST, server))
    monkeypatch.setenv(data.CACHE_ENV_VAR, str(tmp_path / "from_env"))
    s = data.load_mnist(n_val=10, **FAST)
    assert (tmp_path / "from_env" / "mnist" / "t10k-labels-idx1-ubyte.gz").is_file()
    assert s.info["source"] == str(tmp_path / "from_env" / "mnist")


# ============================================================================================
# Downloads: checksums, atomic writes, retries, errors
# ============================================================================================
def _one_file_dataset(server: Path, content: bytes = b"official bytes " * 100) -> data.RemoteDataset:
    server.mkdir(parents=True, exist_ok=True)
    (server / "file.bin").write_bytes(content)
    return data.RemoteDataset(
        name="toy", title="Toy",
        files=(data.RemoteFile("file.bin", hashlib.sha256(content).hexdigest(), len(content)),),
        mirrors=(server.as_uri() + "/",), homepage="https://example.org/toy",
    )


def test_download_from_a_local_mirror_verifies_and_renames(tmp_path, no_network):
    ds = _one_file_dataset(tmp_path / "server")
    paths = data.fetch_dataset(ds, tmp_path / "cache", **FAST)
    target = tmp_path / "cache" / "toy" / "file.bin"
    assert paths == {"file.bin": target}
    assert target.read_bytes() == (tmp_path / "server" / "file.bin").read_bytes()
    assert listing(target.parent) == ["file.bin"]  # no temporary file left behind
    assert no_network == []


def test_cached_file_is_used_without_any_network(tmp_path, no_network):
    ds = _one_file_dataset(tmp_path / "server")
    data.fetch_dataset(ds, tmp_path / "cache", **FAST)
    (tmp_path / "server" / "file.bin").unlink()  # the "server" is gone
    paths = data.fetch_dataset(replace(ds, mirrors=("https://example.invalid/",)), tmp_path / "cache",
                               download=False, **FAST)
    assert paths["file.bin"].is_file() and no_network == []


def test_offline_gives_a_clear_error_and_writes_nothing(tmp_path, no_network):
    ds = _one_file_dataset(tmp_path / "server")
    ds = replace(ds, mirrors=("https://mirror-a.example/", "http://mirror-b.example/data/"))
    with pytest.raises(data.DownloadError) as err:
        data.fetch_dataset(ds, tmp_path / "cache", retries=2, **FAST)
    message = str(err.value)
    assert "offline" in message and "network disabled by the test" in message
    assert message.count("mirror-a.example") >= 2 and message.count("round 2") == 2  # every attempt listed
    assert str(tmp_path / "cache" / "toy") in message and "file.bin" in message  # where to put it
    assert ds.files[0].sha256 in message and "COURSE_DATA_DIR" in message
    assert listing(tmp_path / "cache" / "toy") == []
    assert len(no_network) >= 4


def test_real_loaders_offline_say_where_to_put_the_files(tmp_path, no_network):
    for loader, dataset in ((data.load_mnist, data.MNIST), (data.load_fashion_mnist, data.FASHION_MNIST),
                            (data.load_cifar10, data.CIFAR10)):
        with pytest.raises(data.DownloadError) as err:
            loader(tmp_path, retries=1, **FAST)
        message = str(err.value)
        assert str(tmp_path / dataset.name) in message
        assert all(f.filename in message and f.sha256 in message for f in dataset.files)
        assert listing(tmp_path / dataset.name) == []


def test_download_false_never_touches_the_network(tmp_path, no_network):
    ds = _one_file_dataset(tmp_path / "server")
    with pytest.raises(data.DownloadError, match="download=False"):
        data.fetch_dataset(ds, tmp_path / "cache", download=False, **FAST)
    assert no_network == [] and not (tmp_path / "cache").exists()


def test_wrong_bytes_from_a_mirror_are_discarded(tmp_path, no_network):
    ds = _one_file_dataset(tmp_path / "server")
    (tmp_path / "server" / "file.bin").write_bytes(b"tampered")
    with pytest.raises(data.ChecksumError) as err:
        data.fetch_dataset(ds, tmp_path / "cache", retries=2, **FAST)
    assert hashlib.sha256(b"tampered").hexdigest() in str(err.value)
    assert "Nothing was written" in str(err.value)
    assert listing(tmp_path / "cache" / "toy") == []


def test_a_bad_mirror_falls_through_to_a_good_one(tmp_path, no_network):
    ds = _one_file_dataset(tmp_path / "server")
    bad = tmp_path / "bad_server"
    bad.mkdir()
    (bad / "file.bin").write_bytes(b"another version")
    ds = replace(ds, mirrors=((tmp_path / "nowhere").as_uri() + "/", bad.as_uri() + "/") + ds.mirrors)
    path = data.fetch_dataset(ds, tmp_path / "cache", retries=1, **FAST)["file.bin"]
    assert data.sha256_of(path) == ds.files[0].sha256


def test_existing_file_with_a_wrong_checksum_is_reported_and_kept(tmp_path, no_network):
    ds = _one_file_dataset(tmp_path / "server")
    target = tmp_path / "cache" / "toy" / "file.bin"
    target.parent.mkdir(parents=True)
    target.write_bytes(b"hand-copied, but wrong")
    with pytest.raises(data.ChecksumError) as err:
        data.fetch_dataset(ds, tmp_path / "cache", **FAST)
    assert str(target) in str(err.value) and "Delete it" in str(err.value)
    assert target.read_bytes() == b"hand-copied, but wrong"  # the user's file is not overwritten


class _FakeResponse:
    """What ``urlopen`` returns: a context manager with ``headers`` and ``read``; can die mid-stream."""

    def __init__(self, content: bytes, fail_after: int | None = None, announce: int | None = None):
        self.stream = io.BytesIO(content)
        self.fail_after = fail_after
        self.headers = {"Content-Length": str(len(content) if announce is None else announce)}

    def read(self, n=-1):
        if self.fail_after is not None and self.stream.tell() >= self.fail_after:
            raise ConnectionResetError("connection reset by peer (simulated)")
        limit = n if self.fail_after is None else min(n, self.fail_after - self.stream.tell())
        return self.stream.read(limit)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def test_interrupted_download_leaves_no_file_and_is_retried(tmp_path, monkeypatch, no_network):
    content = os.urandom(3 << 20)  # three chunks
    ds = _one_file_dataset(tmp_path / "server", content)
    ds = replace(ds, mirrors=("https://flaky.example/",))
    cache_dir = tmp_path / "cache" / "toy"
    calls = []

    def flaky_urlopen(request, timeout=None):
        calls.append((request.full_url, timeout))
        if len(calls) == 1:
            # while the first attempt streams, only a temporary file exists
            return _FakeResponse(content, fail_after=(1 << 20) + 10)
        assert listing(cache_dir) == [], "a failed attempt left a file behind"
        return _FakeResponse(content)

    monkeypatch.setattr(urllib.request, "urlopen", flaky_urlopen)
    path = data.fetch_dataset(ds, tmp_path / "cache", retries=2, timeout=7.5, **FAST)["file.bin"]
    assert path.read_bytes() == content and listing(cache_dir) == ["file.bin"]
    assert calls == [("https://flaky.example/file.bin", 7.5)] * 2  # the timeout reaches urlopen


def test_short_read_is_an_error_not_a_file(tmp_path, monkeypatch, no_network):
    content = b"x" * 1000
    ds = replace(_one_file_dataset(tmp_path / "server", content), mirrors=("https://short.example/",))
    monkeypatch.setattr(
        urllib.request, "urlopen", lambda request, timeout=None: _FakeResponse(content[:600], announce=1000)
    )
    with pytest.raises(data.DownloadError, match="closed early"):
        data.fetch_dataset(ds, tmp_path / "cache", retries=1, **FAST)
    assert listing(tmp_path / "cache" / "toy") == []


def test_keyboard_interrupt_during_download_leaves_no_temporary_file(tmp_path, monkeypatch, no_network):
    ds = replace(_one_file_dataset(tmp_path / "server"), mirrors=("https://slow.example/",))

    class Interrupted(_FakeResponse):
        def read(self, n=-1):
            raise KeyboardInterrupt

    monkeypatch.setattr(urllib.request, "urlopen", lambda request, timeout=None: Interrupted(b"abc"))
    with pytest.raises(KeyboardInterrupt):
        data.fetch_dataset(ds, tmp_path / "cache", **FAST)
    assert listing(tmp_path / "cache" / "toy") == []


def test_retry_waits_grow(tmp_path, monkeypatch, no_network):
    ds = replace(_one_file_dataset(tmp_path / "server"), mirrors=("https://down.example/",))
    waits = []
    monkeypatch.setattr(download.time, "sleep", waits.append)
    with pytest.raises(data.DownloadError):
        data.fetch_dataset(ds, tmp_path / "cache", retries=3, retry_wait=0.5, progress=False)
    assert waits == [0.5, 1.0]


@pytest.mark.parametrize(
    "kwargs", [{"retries": 0}, {"retries": 1.5}, {"timeout": 0}, {"mirrors": []}, {"mirrors": [""]}]
)
def test_bad_download_settings(tmp_path, no_network, kwargs):
    ds = _one_file_dataset(tmp_path / "server")
    with pytest.raises(ValueError):
        data.fetch_dataset(ds, tmp_path / "cache", **{**FAST, **kwargs})


def test_official_checksums_are_the_published_ones():
    """Pinned from TensorFlow Datasets' url_checksums (MNIST, Fashion-MNIST) and Keras / torchvision
    (CIFAR-10): an accidental edit of the table fails here."""
    published = {
        ("mnist", "train-images-idx3-ubyte.gz"):
            ("440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609", 9912422),
        ("mnist", "train-labels-idx1-ubyte.gz"):
            ("3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c", 28881),
        ("mnist", "t10k-images-idx3-ubyte.gz"):
            ("8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6", 1648877),
        ("mnist", "t10k-labels-idx1-ubyte.gz"):
            ("f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6", 4542),
        ("fashion_mnist", "train-images-idx3-ubyte.gz"):
            ("3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84", 26421880),
        ("fashion_mnist", "train-labels-idx1-ubyte.gz"):
            ("a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845", 29515),
        ("fashion_mnist", "t10k-images-idx3-ubyte.gz"):
            ("346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073", 4422102),
        ("fashion_mnist", "t10k-labels-idx1-ubyte.gz"):
            ("67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5", 5148),
        ("cifar10", "cifar-10-python.tar.gz"):
            ("6d958be074577803d12ecdefd02955f39262c83c16fe9348329d7fe0b5c001ce", 170498071),
    }
    ours = {(d.name, f.filename): (f.sha256, f.size) for d in data.DATASETS.values() for f in d.files}
    assert ours == published


# ============================================================================================
# The three loaders end to end, on small files
# ============================================================================================
def test_load_mnist_end_to_end(tmp_path, monkeypatch, no_network):
    server = tmp_path / "server"
    ref = write_mnist_like(server, np.random.default_rng(5), n_train=40, n_test=12)
    monkeypatch.setattr(real, "MNIST", spec_for(real.MNIST, server))
    s = data.load_mnist(tmp_path / "cache", n_val=10, seed=3, **FAST)
    assert isinstance(s, data.Splits) and s.name == "mnist" and s.classes == tuple("0123456789")
    assert (len(s.y_train), len(s.y_val), len(s.y_test)) == (30, 10, 12)
    assert s.x_train.shape == (30, 784) and s.x_train.dtype == np.float32
    assert 0.0 <= s.x_train.min() and s.x_train.max() <= 1.0
    np.testing.assert_array_equal(np.bincount(s.y_val, minlength=10), np.ones(10))  # stratified: 4 per class -> 1
    # the test set is the official one, in order; train + val is a permutation of the official train set
    np.testing.assert_allclose(s.x_test, ref["t10k-images-idx3-ubyte.gz"].reshape(12, -1) / 255, rtol=1e-6)
    np.testing.assert_array_equal(s.y_test, ref["t10k-labels-idx1-ubyte.gz"])
    train_rows = np.concatenate([s.x_train, s.x_val]) * 255
    official = ref["train-images-idx3-ubyte.gz"].reshape(40, -1).astype(np.float32)
    assert sorted(map(bytes, np.rint(train_rows).astype(np.uint8))) == sorted(map(bytes, official.astype(np.uint8)))
    # raw, NCHW, float64, and from the cache without the server
    for f in server.iterdir():
        f.unlink()
    raw = data.load_mnist(tmp_path / "cache", n_val=10, seed=3, scale="raw", layout="nchw", download=False, **FAST)
    assert raw.x_train.dtype == np.uint8 and raw.x_train.shape == (30, 1, 28, 28)
    np.testing.assert_array_equal(raw.x_train.reshape(30, -1) / np.float32(255), s.x_train)
    f64 = data.load_mnist(tmp_path / "cache", n_val=0, dtype=np.float64, download=False, **FAST)
    assert f64.x_train.dtype == np.float64 and len(f64.y_val) == 0 and len(f64.y_train) == 40


def test_load_fashion_mnist_end_to_end(tmp_path, monkeypatch, no_network):
    server = tmp_path / "server"
    write_mnist_like(server, np.random.default_rng(6), n_train=20, n_test=5)
    monkeypatch.setattr(real, "FASHION_MNIST", spec_for(real.FASHION_MNIST, server))
    s = data.load_fashion_mnist(tmp_path, n_val=10, **FAST)
    assert s.classes[0] == "T-shirt/top" and s.classes[9] == "Ankle boot" and s.n_classes == 10
    assert (tmp_path / "fashion_mnist" / "train-images-idx3-ubyte.gz").is_file()


def test_load_cifar10_end_to_end(tmp_path, monkeypatch, no_network):
    server = tmp_path / "server"
    server.mkdir()
    ref = write_cifar_archive(server / "cifar-10-python.tar.gz", np.random.default_rng(7), per_batch=4)
    monkeypatch.setattr(real, "CIFAR10", spec_for(real.CIFAR10, server))
    s = data.load_cifar10(tmp_path, n_val=5, seed=1, **FAST)
    assert s.x_train.shape == (15, 3, 32, 32) and s.x_val.shape == (5, 3, 32, 32)
    assert s.x_test.dtype == np.float32 and s.classes == ref["classes"]
    np.testing.assert_allclose(s.x_test * 255, ref["x_test"], atol=1e-4)
    flat = data.load_cifar10(tmp_path, n_val=5, seed=1, layout="flat", download=False, **FAST)
    assert flat.x_train.shape == (15, 3072)
    np.testing.assert_array_equal(flat.x_train, s.x_train.reshape(15, -1))


def test_loader_rejects_inconsistent_files(tmp_path, monkeypatch, no_network):
    server = tmp_path / "server"
    arrays = write_mnist_like(server, np.random.default_rng(8), n_train=20, n_test=5)
    labels = arrays["train-labels-idx1-ubyte.gz"].copy()
    labels[3] = 12
    write_idx_gz(server / "train-labels-idx1-ubyte.gz", labels)
    monkeypatch.setattr(real, "MNIST", spec_for(real.MNIST, server))
    with pytest.raises(ValueError, match="out of range"):
        data.load_mnist(tmp_path / "a", n_val=2, **FAST)
    write_idx_gz(server / "train-labels-idx1-ubyte.gz", labels[:10] % 10)
    monkeypatch.setattr(real, "MNIST", spec_for(real.MNIST, server))
    with pytest.raises(ValueError, match="expected 20 uint8 labels"):
        data.load_mnist(tmp_path / "b", n_val=2, **FAST)


@pytest.mark.parametrize("kwargs", [{"n_val": 40}, {"n_val": -1}, {"scale": "minmax"}, {"layout": "nhwc"},
                                    {"dtype": np.int32}, {"seed": -1}])
def test_loader_rejects_bad_options(tmp_path, monkeypatch, no_network, kwargs):
    server = tmp_path / "server"
    write_mnist_like(server, np.random.default_rng(9), n_train=40, n_test=5)
    monkeypatch.setattr(real, "MNIST", spec_for(real.MNIST, server))
    with pytest.raises(ValueError):
        data.load_mnist(tmp_path / "cache", **{**FAST, **kwargs})


# ============================================================================================
# Mini-batches
# ============================================================================================
def _global_states():
    return np.random.get_state()[1].copy(), random.getstate()


@pytest.mark.parametrize(
    "n, batch, drop_last", [(10, 3, False), (10, 3, True), (9, 3, False), (5, 8, False), (1, 1, False)]
)
def test_minibatches_cover_every_example_once(n, batch, drop_last):
    x = np.arange(n * 2, dtype=np.float64).reshape(n, 2)
    y = np.arange(n)
    batches = list(data.iterate_minibatches(np.random.default_rng(0), x, y, batch, drop_last=drop_last))
    sizes = [len(b[1]) for b in batches]
    full, rest = divmod(n, batch)
    assert sizes == [batch] * full + ([] if drop_last or rest == 0 else [rest])
    seen = np.concatenate([b[1] for b in batches])
    assert len(set(seen.tolist())) == len(seen) == sum(sizes)
    for xb, yb in batches:
        np.testing.assert_array_equal(xb, x[yb])  # x and y stay paired


def test_minibatches_are_the_solvers_batches_and_leave_global_rngs_alone():
    from course_lib.scratch.solver import epoch_batches

    x, y = np.random.default_rng(1).standard_normal((23, 4)), np.arange(23)
    np.random.seed(5)
    random.seed(5)
    before = _global_states()
    rng_a, rng_b = np.random.default_rng(11), np.random.default_rng(11)
    for _ in range(3):  # three epochs, a new order each
        ours = [yb for _, yb in data.iterate_minibatches(rng_a, x, y, 5)]
        solver = [y[idx] for idx in epoch_batches(rng_b, 23, 5)]
        assert all(np.array_equal(a, b) for a, b in zip(ours, solver)) and len(ours) == len(solver)
    after = _global_states()
    assert np.array_equal(before[0], after[0]) and before[1] == after[1]


def test_minibatches_without_shuffle_keep_the_order():
    y = np.arange(7)
    got = [yb for _, yb in data.iterate_minibatches(None, y[:, None], y, 3, shuffle=False)]
    assert [g.tolist() for g in got] == [[0, 1, 2], [3, 4, 5], [6]]


@pytest.mark.parametrize(
    "call, error",
    [
        (lambda x, y: data.iterate_minibatches(0, x, y, 2), TypeError),
        (lambda x, y: data.iterate_minibatches(np.random.RandomState(0), x, y, 2), TypeError),
        (lambda x, y: data.iterate_minibatches(np.random.default_rng(0), x, y, 0), ValueError),
        (lambda x, y: data.iterate_minibatches(np.random.default_rng(0), x, y[:3], 2), ValueError),
        (lambda x, y: data.iterate_minibatches(np.random.default_rng(0), x[:0], y[:0], 2), ValueError),
        (lambda x, y: data.iterate_minibatches(np.random.default_rng(0), x, y, 9, drop_last=True), ValueError),
        (lambda x, y: data.to_torch_loader(x, y, 0), ValueError),
        (lambda x, y: data.to_torch_loader(x, y[:2], 2), ValueError),
        (lambda x, y: data.to_torch_loader(x, y, 2, seed=-1), ValueError),
    ],
)
def test_minibatch_bad_input(call, error):
    x, y = np.zeros((5, 2)), np.arange(5)
    with pytest.raises(error):
        list(call(x, y))


def test_torch_loader_matches_numpy_batches_epoch_by_epoch():
    torch = pytest.importorskip("torch")
    x = np.random.default_rng(2).standard_normal((17, 3))
    y = np.arange(17) % 4
    torch_state = torch.random.get_rng_state().clone()
    loader = data.to_torch_loader(x, y, batch_size=4, seed=9)
    rng = np.random.default_rng(9)
    assert len(loader) == 5
    for _ in range(2):
        for (tx, ty), (nx, ny) in zip(loader, data.iterate_minibatches(rng, x, y, 4), strict=True):
            assert tx.dtype == torch.float64 and ty.dtype == torch.int64
            np.testing.assert_array_equal(tx.numpy(), nx)
            np.testing.assert_array_equal(ty.numpy(), ny)
    assert torch.equal(torch_state, torch.random.get_rng_state())  # torch's global generator untouched
    dropped = data.to_torch_loader(x, y, 4, seed=0, drop_last=True, dtype=torch.float32, shuffle=False)
    batches = list(dropped)
    assert len(dropped) == len(batches) == 4 and batches[0][0].dtype == torch.float32
    np.testing.assert_array_equal(batches[0][1].numpy(), y[:4])

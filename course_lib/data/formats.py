r"""Readers for the official file formats of MNIST, Fashion-MNIST and CIFAR-10, written with numpy only.

**IDX** (MNIST, Fashion-MNIST; LeCun et al. 1998): a 4-byte magic number, then one big-endian
uint32 per dimension, then the values in C order, big-endian::

    byte 0-1   0x00 0x00
    byte 2     type code: 0x08 uint8, 0x09 int8, 0x0B int16, 0x0C int32, 0x0D float32, 0x0E float64
    byte 3     number of dimensions d
    then       d sizes (uint32, big-endian), then prod(sizes) values

The files are distributed gzip-compressed (``*.gz``); :func:`read_idx` reads both forms.

**CIFAR-10, python version** (Krizhevsky 2009): a ``tar.gz`` holding ``cifar-10-batches-py/`` with
``data_batch_1`` ... ``data_batch_5``, ``test_batch`` and ``batches.meta``. Each batch is a pickle
(written by Python 2) of a dict: ``data`` a uint8 array ``(10000, 3072)`` whose row is one image,
1024 red then 1024 green then 1024 blue values, each channel row-major 32x32 (so
``data.reshape(-1, 3, 32, 32)`` is PyTorch's NCHW layout), and ``labels`` a list of 10000 ints in
0..9. :func:`read_cifar10_archive` reads the batches straight from the archive (nothing is
extracted to disk) with a restricted unpickler that can build nothing but plain containers and
numpy arrays: a pickle can run arbitrary code, so an unchecked archive must never be unpickled
with :func:`pickle.load`.
"""
from __future__ import annotations

import codecs
import gzip
import importlib
import io
import pickle
import tarfile
from pathlib import Path

import numpy as np

__all__ = ["read_idx", "read_cifar10_archive", "IDX_TYPES", "CIFAR10_MEMBERS"]

IDX_TYPES = {
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
"""IDX type code -> big-endian numpy dtype."""

CIFAR10_DIR = "cifar-10-batches-py"
CIFAR10_MEMBERS = {
    "train": tuple(f"{CIFAR10_DIR}/data_batch_{k}" for k in range(1, 6)),
    "test": (f"{CIFAR10_DIR}/test_batch",),
    "meta": f"{CIFAR10_DIR}/batches.meta",
}
"""Where the batches sit inside ``cifar-10-python.tar.gz``."""


# --------------------------------------------------------------------------------------------
# IDX
# --------------------------------------------------------------------------------------------
def _raw_bytes(source) -> tuple[bytes, str]:
    """The (decompressed) bytes of a path or a bytes object, and a name for messages."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        raw, name = bytes(source), "IDX data"
    else:
        path = Path(source)
        raw, name = path.read_bytes(), str(path)
    if raw[:2] == b"\x1f\x8b":  # the gzip magic number
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError) as exc:
            raise ValueError(f"{name}: not a valid gzip file ({exc}); the download may be truncated") from exc
    return raw, name


def read_idx(source) -> np.ndarray:
    """Parse an IDX file (a path, gzip-compressed or not, or its bytes) into a numpy array.

    Returns the array in native byte order with the file's shape, e.g. ``(60000, 28, 28)`` uint8
    for MNIST's training images and ``(60000,)`` uint8 for its labels. Raises ``ValueError`` naming
    the problem for a bad magic number, an unknown type code, or a payload that is shorter or
    longer than the header announces (a truncated or corrupted file).
    """
    raw, name = _raw_bytes(source)
    if len(raw) < 4:
        raise ValueError(f"{name}: too short for an IDX header ({len(raw)} bytes)")
    if raw[0] != 0 or raw[1] != 0:
        raise ValueError(f"{name}: not an IDX file (the first two bytes must be 0, got {raw[0]:#04x} {raw[1]:#04x})")
    code, ndim = raw[2], raw[3]
    if code not in IDX_TYPES:
        raise ValueError(f"{name}: unknown IDX type code {code:#04x} (known: {sorted(hex(c) for c in IDX_TYPES)})")
    if ndim == 0:
        raise ValueError(f"{name}: an IDX file needs at least one dimension")
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise ValueError(f"{name}: truncated header ({len(raw)} bytes, need {header} for {ndim} dimensions)")
    shape = tuple(int(s) for s in np.frombuffer(raw, dtype=">u4", count=ndim, offset=4))
    dtype = IDX_TYPES[code]
    expected = int(np.prod(shape)) * dtype.itemsize
    got = len(raw) - header
    if got != expected:
        what = "truncated" if got < expected else "longer than its header says"
        raise ValueError(f"{name}: payload is {what}: {got} bytes for shape {shape} of {dtype.name} "
                         f"({expected} bytes expected)")
    data = np.frombuffer(raw, dtype=dtype, count=int(np.prod(shape)), offset=header).reshape(shape)
    return data.astype(dtype.newbyteorder("="))  # a writable copy in native byte order


# --------------------------------------------------------------------------------------------
# CIFAR-10 pickles
# --------------------------------------------------------------------------------------------
def _allowed_globals() -> dict:
    """The only callables a CIFAR batch pickle may reference: the pieces numpy pickles arrays with."""
    try:  # numpy >= 2 keeps them in numpy._core; pickles written by numpy 1 name numpy.core
        multiarray = importlib.import_module("numpy._core.multiarray")
        numeric = importlib.import_module("numpy._core.numeric")
    except ImportError:  # pragma: no cover - numpy 1
        multiarray = importlib.import_module("numpy.core.multiarray")
        numeric = importlib.import_module("numpy.core.numeric")
    allowed = {
        ("numpy", "ndarray"): np.ndarray,
        ("numpy", "dtype"): np.dtype,
        ("_codecs", "encode"): codecs.encode,  # how Python 3 writes bytes into a protocol-2 pickle
    }
    for package in ("numpy.core", "numpy._core"):
        allowed[(f"{package}.multiarray", "_reconstruct")] = multiarray._reconstruct
        allowed[(f"{package}.multiarray", "scalar")] = multiarray.scalar
        allowed[(f"{package}.numeric", "_frombuffer")] = numeric._frombuffer
    return allowed


class _RestrictedUnpickler(pickle.Unpickler):
    """Unpickles dicts, lists, strings, numbers and numpy arrays; refuses every other global."""

    _ALLOWED: dict = {}

    def find_class(self, module, name):
        key = (module, name)
        if not self._ALLOWED:
            type(self)._ALLOWED = _allowed_globals()
        if key in self._ALLOWED:
            return self._ALLOWED[key]
        raise pickle.UnpicklingError(f"refusing to load {module}.{name} from a CIFAR batch (not a numpy array part)")


def _load_pickle(data: bytes, name: str) -> dict:
    try:
        obj = _RestrictedUnpickler(io.BytesIO(data), encoding="latin1").load()
    except Exception as exc:  # pickle raises many different types for corrupted input
        raise ValueError(f"{name}: not a readable CIFAR batch pickle ({type(exc).__name__}: {exc})") from exc
    if not isinstance(obj, dict):
        raise ValueError(f"{name}: a CIFAR batch must be a dict, got {type(obj).__name__}")
    # Python 2 pickles read with encoding='latin1' give str keys; with 'bytes' they would be bytes
    return {(k.decode("latin1") if isinstance(k, bytes) else k): v for k, v in obj.items()}


def _parse_batch(obj: dict, name: str) -> tuple[np.ndarray, np.ndarray]:
    if "data" not in obj or "labels" not in obj:
        raise ValueError(f"{name}: a CIFAR batch needs the keys 'data' and 'labels', got {sorted(obj)}")
    x = np.asarray(obj["data"])
    y = np.asarray(obj["labels"])
    if x.dtype != np.uint8 or x.ndim != 2 or x.shape[1] != 3 * 32 * 32:
        raise ValueError(f"{name}: 'data' must be uint8 of shape (N, 3072), got {x.dtype} {x.shape}")
    if y.ndim != 1 or y.shape[0] != x.shape[0] or not np.issubdtype(y.dtype, np.integer):
        raise ValueError(f"{name}: 'labels' must be {x.shape[0]} integers, got {y.dtype} {y.shape}")
    if y.size and (y.min() < 0 or y.max() > 9):
        raise ValueError(f"{name}: labels must lie in 0..9, got {y.min()}..{y.max()}")
    return x.reshape(-1, 3, 32, 32), y.astype(np.int64)


def read_cifar10_archive(path) -> dict:
    """Read ``cifar-10-python.tar.gz`` without extracting it.

    Returns a dict: ``x_train`` uint8 ``(50000, 3, 32, 32)`` (NCHW), ``y_train`` int64 ``(50000,)``,
    ``x_test`` ``(10000, 3, 32, 32)``, ``y_test`` ``(10000,)``, ``classes`` (the ten names from
    ``batches.meta``). The training batches are concatenated in order 1..5. A missing member, a
    batch of the wrong shape or labels outside 0..9 raise ``ValueError``.
    """
    path = Path(path)
    try:
        archive = tarfile.open(path, mode="r:gz")
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise ValueError(f"{path}: not a readable tar.gz archive ({exc})") from exc
    with archive:
        names = set(archive.getnames())

        def member(name: str) -> bytes:
            if name not in names:
                raise ValueError(f"{path}: the archive has no member {name!r} (is it cifar-10-python.tar.gz?)")
            handle = archive.extractfile(name)
            if handle is None:
                raise ValueError(f"{path}: {name!r} is not a regular file")
            return handle.read()

        out = {}
        for split in ("train", "test"):
            parts = [_parse_batch(_load_pickle(member(m), m), m) for m in CIFAR10_MEMBERS[split]]
            out[f"x_{split}"] = np.concatenate([p[0] for p in parts])
            out[f"y_{split}"] = np.concatenate([p[1] for p in parts])
        meta = _load_pickle(member(CIFAR10_MEMBERS["meta"]), CIFAR10_MEMBERS["meta"])
    names_ = meta.get("label_names")
    if not isinstance(names_, (list, tuple)) or len(names_) != 10:
        raise ValueError(f"{path}: batches.meta must list 10 'label_names', got {names_!r}")
    out["classes"] = tuple(n.decode("latin1") if isinstance(n, bytes) else str(n) for n in names_)
    return out

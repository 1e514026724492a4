"""Getting the official files of a real data set into a local cache, safely.

* **Where**: :func:`resolve_cache_dir` -- the ``root`` argument if given, else the environment
  variable ``COURSE_DATA_DIR``, else ``$XDG_CACHE_HOME/course_lib`` (``~/.cache/course_lib`` when
  ``XDG_CACHE_HOME`` is unset). Each data set has its own sub-directory (``mnist/``, ...).
* **What**: every file is checked against the SHA-256 published for the official file, before it
  is used and before it enters the cache.
* **How**: :func:`ensure_file` downloads into a temporary file in the cache directory and renames it
  with :func:`os.replace` only after the checksum matched. The rename is atomic, so an interrupted
  or corrupted download never leaves a file under the final name. Each mirror is tried in turn,
  with a timeout, and the whole round is retried a few times.
* **When it fails** (offline, a server error, a wrong checksum): :class:`DownloadError` or
  :class:`ChecksumError`, whose message lists every attempt and says which files to put where by hand.

Only :mod:`urllib` is used; nothing here imports torch.
"""
from __future__ import annotations

import hashlib
import http.client
import os
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from course_lib import checks

__all__ = [
    "CACHE_ENV_VAR",
    "RemoteFile",
    "RemoteDataset",
    "DatasetError",
    "DownloadError",
    "ChecksumError",
    "resolve_cache_dir",
    "sha256_of",
    "ensure_file",
    "fetch_dataset",
]

CACHE_ENV_VAR = "COURSE_DATA_DIR"
"""Environment variable naming the cache directory (overridden by an explicit ``root``)."""

USER_AGENT = "course_lib-data/1.0 (python urllib)"
_CHUNK = 1 << 20


@dataclass(frozen=True)
class RemoteFile:
    """One official file: its name, the SHA-256 of its bytes (hex), and its size in bytes."""

    filename: str
    sha256: str
    size: int


@dataclass(frozen=True)
class RemoteDataset:
    """The files of one data set, the mirrors that serve them (base URLs), and where to read about it."""

    name: str  # also the sub-directory of the cache
    title: str
    files: tuple  # of RemoteFile
    mirrors: tuple  # of base URLs; a file's URL is base + filename
    homepage: str


class DatasetError(RuntimeError):
    """A real data set is not available locally and could not be fetched."""


class DownloadError(DatasetError):
    """No mirror delivered the file (offline, timeout, HTTP error...)."""


class ChecksumError(DatasetError):
    """A file's bytes do not have the published SHA-256 (corrupted, truncated, or another version)."""


def resolve_cache_dir(root=None) -> Path:
    """The cache directory: ``root`` if given, else ``$COURSE_DATA_DIR``, else the user's cache dir.

    The default is ``$XDG_CACHE_HOME/course_lib``, or ``~/.cache/course_lib`` when ``XDG_CACHE_HOME``
    is not set. ``~`` is expanded; the directory is not created here.
    """
    if root is not None:
        if isinstance(root, str) and not root.strip():
            raise ValueError("root must be a directory path, got an empty string")
        return Path(root).expanduser()
    env = os.environ.get(CACHE_ENV_VAR, "").strip()
    if env:
        return Path(env).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME", "").strip()
    base = Path(xdg).expanduser() if xdg else Path.home() / ".cache"
    return base / "course_lib"


def sha256_of(path) -> str:
    """Hex SHA-256 of a file's bytes, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def manual_instructions(dataset: RemoteDataset, directory: Path) -> str:
    """What to download by hand and where to put it (part of every error message)."""
    lines = [
        f"To use {dataset.title} without a network, download these files on a machine that has one "
        f"(from {dataset.homepage} or {dataset.mirrors[0]}) and copy them, unchanged (still compressed), into",
        f"    {directory}",
    ]
    for f in dataset.files:
        lines.append(f"  {f.filename:<28} {f.size:>11,} bytes  SHA-256 {f.sha256}")
    lines.append(f"Another directory can be chosen with root=... or the environment variable {CACHE_ENV_VAR}.")
    return "\n".join(lines)


def _download(url: str, directory: Path, filename: str, timeout: float, progress: bool) -> Path:
    """Stream ``url`` into a new temporary file inside ``directory``; return its path.

    The temporary file is removed again on any error (including KeyboardInterrupt)."""
    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT})
    with urllib.request.urlopen(request, timeout=timeout) as response:
        length = response.headers.get("Content-Length")
        total = int(length) if length and length.isdigit() else None
        fd, tmp = tempfile.mkstemp(prefix=f".{filename}.", suffix=".part", dir=directory)
        bar = None
        try:
            with os.fdopen(fd, "wb") as out:
                if progress:
                    from tqdm.auto import tqdm

                    bar = tqdm(total=total, unit="B", unit_scale=True, desc=filename, leave=False)
                written = 0
                for chunk in iter(lambda: response.read(_CHUNK), b""):
                    out.write(chunk)
                    written += len(chunk)
                    if bar is not None:
                        bar.update(len(chunk))
                if total is not None and written != total:
                    raise OSError(f"connection closed early: {written:,} of {total:,} bytes")
                out.flush()
                os.fsync(out.fileno())
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        finally:
            if bar is not None:
                bar.close()
    return Path(tmp)


def ensure_file(
    dataset: RemoteDataset,
    remote: RemoteFile,
    directory,
    *,
    download: bool = True,
    mirrors=None,
    timeout: float = 30.0,
    retries: int = 3,
    retry_wait: float = 1.0,
    progress: bool = True,
) -> Path:
    """Path of ``remote`` inside ``directory``, downloading it first if it is not there.

    A file already in place is used only when its SHA-256 matches (otherwise :class:`ChecksumError`;
    it is left untouched -- delete it to download again). A missing file is fetched from each
    mirror in turn (``mirrors`` overrides ``dataset.mirrors``; a URL is ``base + filename``, and
    ``file://`` URLs work), each request with a ``timeout`` in seconds, for ``retries`` rounds with a
    pause of ``retry_wait * 2**k`` seconds between rounds. A download that arrives with the wrong
    checksum is discarded and the next mirror tried.
    """
    directory = Path(directory)
    target = directory / remote.filename
    if target.is_file():
        actual = sha256_of(target)
        if actual == remote.sha256:
            return target
        raise ChecksumError(
            f"{target} is there, but its SHA-256 is {actual}, not the published {remote.sha256} "
            f"(a corrupted or different file). Delete it to download it again, or replace it by the "
            f"official file.\n" + manual_instructions(dataset, directory)
        )
    if not download:
        raise DownloadError(f"{target} does not exist and download=False.\n" + manual_instructions(dataset, directory))
    retries = checks.integer(retries, "retries", "ensure_file", minimum=1)
    timeout = checks.real(timeout, "timeout (seconds)", "ensure_file", minimum=0, exclusive_minimum=True)
    bases = tuple(dataset.mirrors if mirrors is None else mirrors)
    if not bases or not all(isinstance(b, str) and b for b in bases):
        raise ValueError(f"mirrors must be a non-empty list of base URLs, got {mirrors!r}")
    directory.mkdir(parents=True, exist_ok=True)

    failures, bad_checksums = [], []
    for attempt in range(1, retries + 1):
        for base in bases:
            url = base if base.endswith(remote.filename) else base.rstrip("/") + "/" + remote.filename
            try:
                tmp = _download(url, directory, remote.filename, timeout, progress)
            except (OSError, http.client.HTTPException, ValueError) as exc:
                failures.append(f"  round {attempt}, {url}: {type(exc).__name__}: {exc}")
                continue
            actual = sha256_of(tmp)
            if actual != remote.sha256:
                tmp.unlink(missing_ok=True)
                bad_checksums.append(f"  round {attempt}, {url}: SHA-256 {actual}")
                continue
            os.replace(tmp, target)  # atomic: the final name appears only for a verified file
            return target
        if attempt < retries and retry_wait > 0:
            time.sleep(retry_wait * 2 ** (attempt - 1))

    if bad_checksums:
        raise ChecksumError(
            f"downloaded {remote.filename}, but its SHA-256 is not the published {remote.sha256}:\n"
            + "\n".join(bad_checksums + failures) + "\nNothing was written to the cache.\n"
            + manual_instructions(dataset, directory)
        )
    raise DownloadError(
        f"could not download {remote.filename} (are you offline?). Every attempt failed:\n"
        + "\n".join(failures) + "\n" + manual_instructions(dataset, directory)
    )


def fetch_dataset(dataset: RemoteDataset, root=None, **kwargs) -> dict:
    """``{filename: path}`` of every file of ``dataset`` in ``resolve_cache_dir(root)/dataset.name``.

    Keyword arguments go to :func:`ensure_file` (``download``, ``mirrors``, ``timeout``, ``retries``,
    ``retry_wait``, ``progress``).
    """
    directory = resolve_cache_dir(root) / dataset.name
    return {f.filename: ensure_file(dataset, f, directory, **kwargs) for f in dataset.files}

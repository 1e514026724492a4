"""Parent side of the sandbox: start a child, enforce limits, collect its raw result.

Each :class:`ChildRun` is one ``python -I -B _sandbox_child.py job.json`` process:

* a fresh private temporary directory holds ``job.json``, the result and progress files,
  the child's captured stdout/stderr, and ``work/``, the child's (empty) working
  directory -- the only place it may write;
* ``preexec_fn`` sets ``RLIMIT_AS`` (memory), ``RLIMIT_CPU`` (timeout x (questions + 1) + 2 s),
  ``RLIMIT_FSIZE`` (64 MB per file) and ``RLIMIT_CORE`` (0) before the interpreter starts;
  the child runs in its own session (process group) so the whole group can be killed;
* the environment is minimal (no inherited secrets), single-threaded BLAS, ``HOME`` and
  ``TMPDIR`` inside ``work/``;
* :meth:`ChildRun.poll` kills the group when a phase overruns the wall-clock timeout.

Results come back as JSON lines in a file whose size is capped; a line is accepted only
if it carries the nonce written into this job (no pickle anywhere).  The limits are
enforced from outside the child: the wall clock by the parent (per phase, see
:class:`ChildRun`), memory and CPU by the kernel.

What isolation was really in force is reported by the child itself, before any student
code runs (the Landlock ABI it obtained, the resource limits read back with
``getrlimit``), and turned into the report's ``isolation`` entry by :func:`isolation_entry`::

    {"landlock": true, "landlock_abi": 6, "audit_hook": true,
     "rlimits": {"memory": true, "cpu": true, "file_size": true, "core_dumps": true},
     "memory_mb": 2048.0, "timeout_s": 30.0, "workdir": "temporary",
     "writes": "blocked by Landlock", "network": "blocked by Landlock"}

``rlimits[name]`` is true when the limit in force is at most the one the grader asked for;
``writes`` (outside the working directory) and ``network`` are ``"blocked by Landlock"``
(kernel-enforced; network needs Landlock ABI >= 4), ``"blocked by the audit hook only"``
(not a security boundary) or ``"not blocked"``.  When a notebook needed several children
(``--isolate``, re-runs after a crash) the entry describes the weakest of them.

The entry is only as trustworthy as the child's other result lines: it is written before any
student code runs, and the grader keeps the first record it finds, but a submission that found
the result file and its nonce could append lines of its own.  The kernel-enforced limits
(rlimits, Landlock) hold whatever the file says; the entry reports them, it does not enforce them.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

try:  # not available on Windows
    import resource
except ImportError:  # pragma: no cover
    resource = None

__all__ = ["Limits", "ChildRun", "ChildOutcome", "Isolation", "isolation_entry", "CHILD_SCRIPT", "CODEC_PATH"]

_HERE = Path(__file__).resolve().parent
CHILD_SCRIPT = _HERE / "_sandbox_child.py"
CODEC_PATH = _HERE / "codec.py"
MAX_RESULT_BYTES = 64 * 1024 * 1024


@dataclass(frozen=True)
class Limits:
    """Per-child limits: wall-clock ``timeout`` (s), address space ``memory_mb``, file size."""

    timeout: float = 30.0
    memory_mb: int = 2048
    file_mb: int = 64


def _preexec(limits: Limits):
    def apply():  # runs in the forked child, before exec
        if resource is None:
            return
        mem = int(limits.memory_mb) * 1024 * 1024
        cpu = int(limits.timeout) + 2
        for name, soft, hard in (
            ("RLIMIT_AS", mem, mem),
            ("RLIMIT_CPU", cpu, cpu + 3),
            ("RLIMIT_FSIZE", limits.file_mb * 1024 * 1024, limits.file_mb * 1024 * 1024),
            ("RLIMIT_CORE", 0, 0),
        ):
            res = getattr(resource, name, None)
            if res is None:
                continue
            try:
                resource.setrlimit(res, (soft, hard))
            except (ValueError, OSError):
                pass

    return apply


def _requested_rlimits(limits: Limits) -> dict:
    """The soft limits :func:`_preexec` sets, in the units ``getrlimit`` reports."""
    return {
        "memory": int(limits.memory_mb) * 1024 * 1024,
        "cpu": int(limits.timeout) + 2,
        "file_size": limits.file_mb * 1024 * 1024,
        "core_dumps": 0,
    }


@dataclass(frozen=True)
class Isolation:
    """The isolation one child reported (see the module docstring for the report's form)."""

    landlock_abi: int
    audit_hook: bool
    rlimits: dict  # name -> applied (bool)
    memory_mb: float | None  # the address-space limit in force, None when unlimited
    temporary_workdir: bool

    @classmethod
    def from_record(cls, record: dict | None, requested: dict) -> "Isolation | None":
        """Read the child's ``{"kind": "sandbox"}`` record; ``None`` if absent or malformed."""
        if not isinstance(record, dict):
            return None
        abi, raw = record.get("landlock_abi"), record.get("rlimits")
        if not isinstance(abi, int) or isinstance(abi, bool) or not isinstance(raw, dict):
            return None

        def applied(name: str) -> bool:
            value = raw.get(name)
            return isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= requested[name]

        memory = raw.get("memory")
        return cls(
            landlock_abi=max(0, abi),
            audit_hook=record.get("audit_hook") is True,
            rlimits={name: applied(name) for name in requested},
            memory_mb=memory / (1024 * 1024) if isinstance(memory, int) and memory >= 0 else None,
            temporary_workdir=record.get("in_workdir") is True,
        )

    @classmethod
    def weakest(cls, items: list) -> "Isolation | None":
        """The weakest isolation of several children (``None`` if there is none)."""
        items = [i for i in items if i is not None]
        if not items:
            return None
        memories = [i.memory_mb for i in items]
        return cls(
            landlock_abi=min(i.landlock_abi for i in items),
            audit_hook=all(i.audit_hook for i in items),
            rlimits={k: all(i.rlimits.get(k, False) for i in items) for k in items[0].rlimits},
            memory_mb=None if None in memories else max(memories),
            temporary_workdir=all(i.temporary_workdir for i in items),
        )


def _blocked_by(landlock: bool, audit_hook: bool) -> str:
    if landlock:
        return "blocked by Landlock"
    return "blocked by the audit hook only" if audit_hook else "not blocked"


def isolation_entry(isolation: Isolation | None, timeout: float) -> dict | None:
    """The report's ``isolation`` entry (module docstring); ``None`` if no child reported."""
    if isolation is None:
        return None
    return {
        "landlock": isolation.landlock_abi > 0,
        "landlock_abi": isolation.landlock_abi,
        "audit_hook": isolation.audit_hook,
        "rlimits": dict(isolation.rlimits),
        "memory_mb": isolation.memory_mb,
        "timeout_s": float(timeout),
        "workdir": "temporary" if isolation.temporary_workdir else "unknown",
        "writes": _blocked_by(isolation.landlock_abi >= 1, isolation.audit_hook),
        "network": _blocked_by(isolation.landlock_abi >= 4, isolation.audit_hook),
    }


def _child_env(workdir: Path) -> dict:
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(workdir),
        "TMPDIR": str(workdir),
        "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8",
        "OPENBLAS_NUM_THREADS": "1",
        "OMP_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
        "MPLBACKEND": "Agg",
        "MPLCONFIGDIR": str(workdir),
        "TQDM_DISABLE": "1",
        "PYTHONHASHSEED": "0",
    }
    return env


@dataclass
class ChildOutcome:
    """What came back from one child.

    ``kind`` is ``"ok"`` (the child reached ``done``), ``"timeout"`` or ``"crash"`` (the
    process ended early).  ``where`` is the last progress line (``"cell 7"``,
    ``"question 2 case 1"``, ...).  ``records`` are the result lines that carried the
    right nonce, in order: one ``{"kind": "cells"}`` then one ``{"kind": "question"}``
    per question finished.  ``isolation`` is what the child reported to be in force
    (``None`` if it ended before saying so, i.e. before any student code ran).
    """

    kind: str
    where: str = ""
    records: list = field(default_factory=list)
    returncode: int | None = None
    detail: str = ""
    isolation: Isolation | None = None


def _phase(progress_line: str) -> str:
    """The timeout phase of a progress line: ``"cells"`` or ``"question N"``."""
    parts = progress_line.split()
    if len(parts) >= 2 and parts[0] == "question":
        return f"question {parts[1]}"
    return "done" if progress_line == "done" else "cells"


class ChildRun:
    """One sandboxed child running the student's cells, then the questions' functions.

    The wall-clock ``timeout`` applies separately to the start-up plus all cells, and to
    each question (all its cases); the parent watches the progress file to tell them apart.
    """

    def __init__(self, cells: list[dict], questions: list[dict], limits: Limits):
        self.limits = limits
        self.nonce = secrets.token_hex(16)
        self.dir = Path(tempfile.mkdtemp(prefix="course-grade-"))
        self.workdir = self.dir / "work"
        self.workdir.mkdir()
        self.result_path = self.dir / "result.jsonl"
        self.progress_path = self.dir / "progress.txt"
        job = {
            "nonce": self.nonce,
            "cells": cells,
            "questions": questions,
            "workdir": str(self.workdir),
            "result_path": str(self.result_path),
            "progress_path": str(self.progress_path),
            "codec_path": str(CODEC_PATH),
        }
        job_path = self.dir / "job.json"
        job_path.write_text(json.dumps(job), encoding="utf-8")
        self._out = open(self.dir / "stdout.txt", "wb")
        cpu_limits = Limits(
            timeout=limits.timeout * (len(questions) + 1), memory_mb=limits.memory_mb, file_mb=limits.file_mb
        )
        self._requested = _requested_rlimits(cpu_limits)
        self.start = self._phase_start = time.monotonic()
        self._phase = "cells"
        self._progress_size = 0
        self._last_line = "startup"
        posix = os.name == "posix"
        try:
            self.proc = subprocess.Popen(
                [sys.executable, "-I", "-B", str(CHILD_SCRIPT), str(job_path)],
                cwd=self.workdir,
                env=_child_env(self.workdir),
                stdin=subprocess.DEVNULL,
                stdout=self._out,
                stderr=subprocess.STDOUT,
                close_fds=True,
                **({"start_new_session": True, "preexec_fn": _preexec(cpu_limits)} if posix else {}),
            )
        except BaseException:
            self._cleanup()
            raise
        self.outcome: ChildOutcome | None = None

    # -- lifecycle -----------------------------------------------------------------
    def _kill_group(self):
        if hasattr(os, "killpg"):
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass

    def _kill(self):
        self._kill_group()
        try:
            self.proc.kill()
        except ProcessLookupError:
            pass
        self.proc.wait()

    def abort(self):
        """Kill the child (if still running) and remove its files."""
        if self.outcome is None:
            self._kill()
            self.outcome = ChildOutcome("crash", where="aborted")
            self._cleanup()

    def _update_phase(self):
        try:
            size = os.path.getsize(self.progress_path)
        except OSError:
            return
        if size == self._progress_size:
            return
        self._progress_size = size
        lines = self._progress_lines()
        if lines:
            self._last_line = lines[-1]
            phase = _phase(lines[-1])
            if phase != self._phase:
                self._phase, self._phase_start = phase, time.monotonic()

    def poll(self) -> ChildOutcome | None:
        """Non-blocking: the outcome once the child has finished or timed out."""
        if self.outcome is not None:
            return self.outcome
        rc = self.proc.poll()
        if rc is None:
            self._update_phase()
            if time.monotonic() - self._phase_start <= self.limits.timeout:
                return None
            self._kill()
            records = self._records()
            self.outcome = ChildOutcome(
                "timeout", where=self._where(), records=records, isolation=self._isolation(records)
            )
        else:
            self._kill_group()  # stray grandchildren (if any escaped the sandbox) die with the group
            where = self._where()
            kind = "ok" if (rc == 0 and where == "done") else "crash"
            records = self._records()
            self.outcome = ChildOutcome(
                kind,
                where=where,
                records=records,
                returncode=rc,
                detail="" if kind == "ok" else self._tail(),
                isolation=self._isolation(records),
            )
        self._cleanup()
        return self.outcome

    def wait(self) -> ChildOutcome:
        while (outcome := self.poll()) is None:
            time.sleep(0.01)
        return outcome

    def _cleanup(self):
        try:
            self._out.close()
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)

    # -- reading -------------------------------------------------------------------
    def _progress_lines(self) -> list[str]:
        try:
            with open(self.progress_path, "rb") as fh:
                data = fh.read(1024 * 1024)
        except OSError:
            return []
        return [line for line in data.decode("utf-8", "replace").splitlines() if line.strip()]

    def _where(self) -> str:
        lines = self._progress_lines()
        return lines[-1] if lines else "startup"

    def _isolation(self, records: list[dict]) -> Isolation | None:
        """From the first ``sandbox`` record: the child writes it before any student code runs."""
        first = next((r for r in records if r.get("kind") == "sandbox"), None)
        return Isolation.from_record(first, self._requested)

    def _tail(self) -> str:
        try:
            with open(self.dir / "stdout.txt", "rb") as fh:
                fh.seek(0, os.SEEK_END)
                size = fh.tell()
                fh.seek(max(0, size - 2000))
                text = fh.read().decode("utf-8", "replace")
        except OSError:
            return ""
        lines = [line.strip() for line in text.splitlines() if line.strip()]
        return lines[-1][:300] if lines else ""

    def _records(self) -> list[dict]:
        """Result lines with this job's nonce (anything else is ignored)."""
        try:
            with open(self.result_path, "rb") as fh:
                data = fh.read(MAX_RESULT_BYTES + 1)
        except OSError:
            return []
        if len(data) > MAX_RESULT_BYTES:
            return []
        records = []
        for raw in data.split(b"\n"):
            if not raw.strip():
                continue
            try:
                rec = json.loads(raw.decode("utf-8"))
            except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
                continue
            if isinstance(rec, dict) and rec.get("nonce") == self.nonce and isinstance(rec.get("kind"), str):
                records.append(rec)
        return records

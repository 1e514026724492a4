"""The sandboxed child process: run a student's code, call functions, report raw outputs.

Run by :mod:`course_lib.grading.sandbox` as ``python -I -B _sandbox_child.py JOB.json``
in a fresh temporary working directory, with resource limits already set by the parent.
It imports only the standard library, NumPy and the codec (loaded by file path), and
never imports ``course_lib``.

Order of events (everything before step 4 is trusted and cannot be influenced by the
student's code):

1. read the job: the cells to run, the questions (function name and encoded arguments
   of every case), the output paths and a nonce;
2. import NumPy, decode all arguments, open the result and progress files;
3. lock the process down: Landlock on Linux (writes only under the working directory,
   no TCP, no signals to other processes), then an audit hook (portable second layer:
   no subprocesses, no writes outside the working directory, no ctypes, no
   ``setrlimit``, no killing other processes, no sockets, no gc introspection); then
   append a ``{"kind": "sandbox"}`` line saying what is really in force (the Landlock ABI,
   the resource limits read back with ``getrlimit``), for the report's ``isolation``;
4. execute the student's cells one by one in a fresh ``__main__`` (an exception or a
   syntax error in one cell is recorded and the next cell runs), writing ``cell N`` to
   the progress file first; then append a ``{"kind": "cells"}`` line to the result file;
5. for each question, call its function once per case (``question Q case K`` in the
   progress file), encode the return value and the arguments after the call, and
   append a ``{"kind": "question"}`` line -- so the questions finished before a crash
   or a timeout are not lost;
6. write ``done`` and leave with ``os._exit(0)`` (no ``atexit`` handler runs).

Every result line carries the nonce.  The lines only hold the student's raw outputs:
pass/fail is decided by the parent, so a student who forges them can at most choose
what their own functions "returned".
"""

import builtins
import json
import json.encoder
import os
import sys

# Bound before any student code runs, so patching the modules later changes nothing here.
_write = os.write
_compile = compile
_exec = exec
_exit = os._exit
_dumps = json.dumps
_getpid = os.getpid
_realpath = os.path.realpath
_fspath = os.fspath
_fsdecode = os.fsdecode
_isabs = os.path.isabs
_join = os.path.join
_readlink = os.readlink
_sep = os.sep

_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_TRUNC

_PROCESS_EVENTS = frozenset(
    {
        "subprocess.Popen",
        "os.system",
        "os.exec",
        "os.posix_spawn",
        "os.spawn",
        "os.fork",
        "os.forkpty",
        "pty.spawn",
        "os.startfile",
        "_posixsubprocess.fork_exec",
        "resource.setrlimit",
        "resource.prlimit",
        "os.killpg",
        "signal.pthread_kill",
        "ctypes.dlopen",
        "ctypes.dlsym",
        "ctypes.dlsym/handle",
        "ctypes.call_function",
        "ctypes.cdata",
        "ctypes.cdata/buffer",
        "ctypes.string_at",
        "ctypes.wstring_at",
        "socket.__new__",
        "socket.connect",
        "socket.bind",
        "socket.sendto",
        "socket.getaddrinfo",
        "gc.get_objects",
        "gc.get_referrers",
        "gc.get_referents",
        "os.link",
        "os.symlink",
    }
)

_BLOCKED_IMPORTS = frozenset({"_posixsubprocess", "_ctypes"})

# event -> (indexes of path arguments that are written to, index of a dir_fd argument or None)
_PATH_EVENTS = {
    "os.remove": ((0,), 1),
    "os.rmdir": ((0,), 1),
    "os.mkdir": ((0,), 2),
    "os.rename": ((0, 1), None),
    "os.chmod": ((0,), 2),
    "os.chown": ((0,), 3),
    "os.utime": ((0,), 3),
    "os.chflags": ((0,), None),
    "os.lchflags": ((0,), None),
    "os.setxattr": ((0,), None),
    "os.removexattr": ((0,), None),
    "os.truncate": ((0,), None),
    "shutil.copyfile": ((1,), None),
    "shutil.copymode": ((1,), None),
    "shutil.copystat": ((1,), None),
    "shutil.copytree": ((1,), None),
    "shutil.rmtree": ((0,), None),
    "shutil.move": ((0, 1), None),
    "shutil.chown": ((0,), None),
    "shutil.make_archive": ((0,), None),
    "shutil.unpack_archive": ((1,), None),
}


def _make_hook(workdir):
    """Build the audit hook.  Everything it uses is captured in its closure (not module
    globals, not builtins looked up at call time), so student code that rebinds names in
    this module or in ``builtins`` does not change what it enforces; nothing keeps a
    reference to it but the interpreter's hook list."""
    root = _realpath(workdir)
    sep, realpath, fspath, fsdecode, isabs, join, readlink = (
        _sep, _realpath, _fspath, _fsdecode, _isabs, _join, _readlink
    )
    getpid, write_flags = _getpid, _WRITE_FLAGS
    process_events, blocked_imports, path_events = _PROCESS_EVENTS, _BLOCKED_IMPORTS, _PATH_EVENTS
    _int, _isinstance, _len, _tuple, _Exception = int, isinstance, len, tuple, Exception
    _PermissionError, _ImportError = PermissionError, ImportError

    def inside(path, dir_fd=None):
        if _isinstance(path, _int):  # an already open file descriptor
            return True
        try:
            p = fsdecode(fspath(path))
            if dir_fd is not None and not isabs(p):
                p = join(readlink("/proc/self/fd/%d" % _int(dir_fd)), p)
            real = realpath(p)
        except _Exception:
            return False
        return real == root or real.startswith(root + sep)

    def hook(event, args):
        if event == "open":
            path, mode, flags = (_tuple(args) + (None, None, 0))[:3]
            if _isinstance(flags, _int) and flags & write_flags:
                if mode is None and not _isinstance(path, _int):
                    try:
                        relative = not isabs(fsdecode(fspath(path)))
                    except _Exception:
                        relative = True
                    if relative:  # os.open(): the event does not say which dir_fd applies
                        raise _PermissionError(
                            "the grader's sandbox allows os.open() for writing with absolute paths only"
                        )
                if not inside(path):
                    raise _PermissionError(
                        "the grader's sandbox does not allow writing to %r "
                        "(only the temporary working directory is writable)" % (path,)
                    )
            return
        if event in process_events:
            raise _PermissionError("the grader's sandbox does not allow " + event)
        if event == "os.kill":
            if args and args[0] == getpid():
                return  # a process may still kill itself
            raise _PermissionError("the grader's sandbox does not allow os.kill on other processes")
        if event == "import":
            if args and args[0] in blocked_imports:
                raise _ImportError("the grader's sandbox does not allow importing %s" % (args[0],))
            return
        spec = path_events.get(event)
        if spec is not None:
            indexes, fd_index = spec
            dir_fd = args[fd_index] if fd_index is not None and _len(args) > fd_index else None
            for i in indexes:
                if i < _len(args) and not inside(args[i], dir_fd):
                    raise _PermissionError(
                        "the grader's sandbox does not allow %s on %r "
                        "(only the temporary working directory is writable)" % (event, args[i])
                    )

    return hook


class _ModuleStates:
    """Swap the dicts of a few modules between their trusted state (taken before any
    student code ran) and the student's state.

    The harness encodes and writes results with the trusted ``builtins``, ``numpy`` and
    ``json`` -- so a student who rebinds ``builtins.isinstance`` or ``np.asarray`` cannot
    break the harness -- while the student's functions still run with whatever the
    student's own cells changed.
    """

    def __init__(self, modules):
        self._dicts = [m.__dict__ for m in modules]
        self._trusted = [dict(d) for d in self._dicts]
        self._student = None
        self._clear, self._update = dict.clear, dict.update

    def _install(self, states):
        for d, state in zip(self._dicts, states):
            self._clear(d)
            self._update(d, state)

    def trusted(self):
        """Save the student's state, then put the trusted one in place."""
        self._student = [dict(d) for d in self._dicts]
        self._install(self._trusted)

    def student(self):
        if self._student is not None:
            self._install(self._student)


def _landlock(workdir):
    """Kernel-enforced restrictions (Linux >= 5.13); returns the ABI used or 0."""
    if not sys.platform.startswith("linux"):
        return 0
    try:
        import ctypes
    except Exception:
        return 0
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        syscall = libc.syscall
        syscall.restype = ctypes.c_long
        create, add_rule, restrict = 444, 445, 446  # same numbers on every architecture
        abi = syscall(create, None, ctypes.c_size_t(0), ctypes.c_uint32(1))
        if abi < 1:
            return 0
        fs = (1 << 1) | (1 << 4) | (1 << 5) | (1 << 6) | (1 << 7) | (1 << 8) | (1 << 9) | (1 << 10)
        fs |= (1 << 11) | (1 << 12)  # write, remove, make char/dir/reg/sock/fifo/block/symlink
        if abi >= 2:
            fs |= 1 << 13  # refer (link/rename across directories)
        if abi >= 3:
            fs |= 1 << 14  # truncate
        net = ((1 << 0) | (1 << 1)) if abi >= 4 else 0  # bind/connect TCP
        scoped = ((1 << 0) | (1 << 1)) if abi >= 6 else 0  # abstract unix sockets, signals

        class Attr(ctypes.Structure):
            _fields_ = [("fs", ctypes.c_uint64), ("net", ctypes.c_uint64), ("scoped", ctypes.c_uint64)]

        class Beneath(ctypes.Structure):
            _pack_ = 1
            _fields_ = [("allowed", ctypes.c_uint64), ("parent_fd", ctypes.c_int32)]

        size = 8 if abi < 4 else (16 if abi < 6 else 24)
        attr = Attr(fs, net, scoped)
        ruleset = syscall(create, ctypes.byref(attr), ctypes.c_size_t(size), ctypes.c_uint32(0))
        if ruleset < 0:
            return 0
        file_rights = (1 << 1) | ((1 << 14) if abi >= 3 else 0)
        for path, allowed in ((workdir, fs), ("/dev/null", file_rights)):
            fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
            try:
                rule = Beneath(allowed, fd)
                if syscall(add_rule, ruleset, ctypes.c_int(1), ctypes.byref(rule), ctypes.c_uint32(0)) != 0:
                    os.close(ruleset)
                    return 0
            finally:
                os.close(fd)
        libc.prctl(38, 1, 0, 0, 0)  # PR_SET_NO_NEW_PRIVS
        ok = syscall(restrict, ruleset, ctypes.c_uint32(0)) == 0
        os.close(ruleset)
        return abi if ok else 0
    except Exception:
        return 0


def _rlimits():
    """The soft resource limits in force: ``{"memory": bytes, "cpu": seconds, "file_size":
    bytes, "core_dumps": bytes}``, ``None`` for a limit that is not set (or not readable)."""
    try:
        import resource
    except ImportError:  # not on Windows
        return {}
    out = {}
    for key, name in (
        ("memory", "RLIMIT_AS"),
        ("cpu", "RLIMIT_CPU"),
        ("file_size", "RLIMIT_FSIZE"),
        ("core_dumps", "RLIMIT_CORE"),
    ):
        res = getattr(resource, name, None)
        try:
            soft = resource.getrlimit(res)[0] if res is not None else -1
        except (ValueError, OSError):
            soft = -1
        out[key] = None if soft < 0 or soft == resource.RLIM_INFINITY else int(soft)
    return out


def _safe_str(value, limit=400):
    try:
        text = str(value)
    except BaseException:
        text = "<unprintable>"
    if not isinstance(text, str):
        text = "<unprintable>"
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _describe_exception(exc, filename=None):
    try:
        name = type(exc).__name__
        if not isinstance(name, str):
            name = "Exception"
    except BaseException:
        name = "Exception"
    line = None
    if isinstance(exc, SyntaxError):
        line = exc.lineno if isinstance(exc.lineno, int) else None
        msg = _safe_str(exc.msg if isinstance(exc.msg, str) else exc)
    else:
        msg = _safe_str(exc)
        try:
            tb = exc.__traceback__
            while tb is not None:
                if filename is None or tb.tb_frame.f_code.co_filename == filename:
                    line = tb.tb_lineno
                tb = tb.tb_next
        except BaseException:
            pass
    return {"type": name, "message": msg, "line": line}


def main():
    job_path = sys.argv[1]
    with open(job_path, encoding="utf-8") as fh:
        job = json.load(fh)

    import importlib.util

    import numpy  # noqa: F401 - preloaded: it cannot be imported once ctypes is blocked
    import subprocess  # preloaded (matplotlib imports it), then disarmed below

    subprocess._posixsubprocess = None
    sys.modules.pop("_posixsubprocess", None)

    spec = importlib.util.spec_from_file_location("_grader_codec", job["codec_path"])
    codec = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(codec)
    encode, decode = codec.encode, codec.decode

    nonce = job["nonce"]
    result_fd = os.open(job["result_path"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    progress_fd = os.open(job["progress_path"], os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)

    def progress(text):
        try:
            _write(progress_fd, (text + "\n").encode())
        except BaseException:
            pass

    def emit(record):
        """Append one JSON line to the result file (one per finished phase)."""
        record = dict(record, nonce=nonce)
        try:
            data = _dumps(record, allow_nan=False).encode() + b"\n"
        except BaseException as exc:
            data = _dumps({"nonce": nonce, "kind": "broken", "message": _safe_str(exc)}).encode() + b"\n"
        view = memoryview(data)
        while view:
            view = view[_write(result_fd, view) :]

    # Expressions (e.g. the function given to numerical_gradient) see a snapshot of NumPy
    # taken now, so the student's monkeypatches of the numpy module do not reach them.
    import math
    import types

    import numpy.fft  # noqa: F401  (numpy 2 loads these submodules lazily: load them before the snapshot)
    import numpy.linalg  # noqa: F401
    import numpy.random  # noqa: F401

    np_snapshot = types.SimpleNamespace(**vars(numpy))
    expr_ns = {"np": np_snapshot, "numpy": np_snapshot, "math": math, "__builtins__": builtins}
    # Arguments are decoded now, before any student code runs; each is used for one call.
    questions = []
    for q in job["questions"]:
        cases = []
        for c in q["cases"]:
            expr_args = {i for i, a in enumerate(c["args"]["items"]) if a.get("t") == "expr"}
            expr_kwargs = {k for k, a in c["kwargs"]["items"].items() if a.get("t") == "expr"}
            args = decode(c["args"], expr_namespace=expr_ns)
            kwargs = decode(c["kwargs"], expr_namespace=expr_ns)
            cases.append((args, kwargs, expr_args, expr_kwargs))
        questions.append((q["name"], q["function"], cases))

    workdir = job["workdir"]
    os.chdir(workdir)
    sys.argv = ["notebook"]
    sys.dont_write_bytecode = True
    landlock_abi = _landlock(workdir)
    sys.addaudithook(_make_hook(workdir))
    progress(f"sandbox landlock={landlock_abi}")
    # What is really in force, reported before any student code runs (the parent keeps the
    # first such record and judges the limits against the ones it asked for).
    emit(
        {
            "kind": "sandbox",
            "landlock_abi": landlock_abi,
            "audit_hook": True,
            "rlimits": _rlimits(),
            "in_workdir": _realpath(os.getcwd()) == _realpath(workdir),
        }
    )

    states = _ModuleStates([builtins, numpy, json, json.encoder, codec])

    # The student's code gets a fresh ``__main__`` module; this harness is not reachable
    # as ``import __main__``.
    main_module = types.ModuleType("__main__")
    main_module.__dict__["__builtins__"] = builtins
    sys.modules["__main__"] = main_module
    namespace = main_module.__dict__
    cell_errors = []
    for cell in job["cells"]:
        index = cell["index"]
        filename = f"<cell {index}>"
        progress(f"cell {index}")
        try:
            code = _compile(cell["source"], filename, "exec")
            _exec(code, namespace)
        except BaseException as exc:
            states.trusted()
            cell_errors.append({"cell": index, **_describe_exception(exc, filename)})
            states.student()
    states.trusted()
    emit({"kind": "cells", "cell_errors": cell_errors})

    for qi, (qname, fname, cases) in enumerate(questions):
        progress(f"question {qi} lookup")
        fn = dict.get(namespace, fname, None)
        if fn is None:
            emit({"kind": "question", "name": qname, "status": "missing", "cases": []})
            continue
        if not callable(fn):
            emit({"kind": "question", "name": qname, "status": "not_callable", "cases": []})
            continue
        case_results = []
        for k, (args, kwargs, expr_args, expr_kwargs) in enumerate(cases):
            progress(f"question {qi} case {k}")
            args = list(args)
            states.student()
            try:
                value = fn(*args, **kwargs)
            except BaseException as exc:
                states.trusted()
                case_results.append({"ok": False, "error": _describe_exception(exc)})
                continue
            states.trusted()
            try:
                payload = {
                    "result": encode(value),
                    "args_after": encode([None if i in expr_args else a for i, a in enumerate(args)]),
                    "kwargs_after": encode({k2: (None if k2 in expr_kwargs else a) for k2, a in kwargs.items()}),
                }
            except BaseException as exc:
                case_results.append({"ok": False, "unreadable": _safe_str(exc)})
                continue
            case_results.append({"ok": True, **payload})
        emit({"kind": "question", "name": qname, "status": "ok", "cases": case_results})

    progress("done")
    _exit(0)


if __name__ == "__main__":
    main()

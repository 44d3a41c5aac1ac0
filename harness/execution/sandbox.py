"""Running model-written programs: every program in a fresh, isolated, resource-limited process.

The sandbox has one job: run this program with these limits and say what became of it (``Execution``: outcome,
exit status, the tail of its output, its wall time). Families never know how isolation is done.

``Bubblewrap`` (the default; Debian package ``bubblewrap``, command ``bwrap``):

- namespaces: its own mount, PID, network (no interface but a down loopback: no connection reaches anything),
  IPC, UTS and, where the kernel allows, cgroup namespace; ``--die-with-parent``; a new session;
- files: the Python interpreter's installation read-only at ``/opt/python`` and the system libraries it links
  against (``/usr``) read-only, ``/proc`` and a minimal ``/dev``; an empty tmpfs as working directory
  (``/tmp``) and as ``$HOME``; nothing else of the host (not the project, not ``$HOME``, not ``/etc``);
- environment: cleared; only ``HOME``, ``PATH``, ``LANG`` and the library path are set;
- user: an unprivileged host user. Started by root (CI runs as root), bwrap drops to a uid of its own
  (``uid``: one per process and slot, so parallel programs, also of parallel workers, do not share a process
  budget) with ``setpriv`` inside the sandbox,
  because process limits do not bind root, and a user namespace started by root maps the sandbox's uid back to
  root (``FIELD_NOTES``: ``RLIMIT_NPROC`` 20 let 100 forks through). Started by an ordinary user, bwrap runs the
  program as that user in a user namespace;
- limits (``Limits``): CPU seconds, address space, file size and number of processes (``setrlimit``), the size of
  the tmpfs, the output it may write (beyond it the process group is killed), and a wall-clock timeout that kills
  the whole process group.

``Unsafe`` (``--unsafe-exec``, never the default): the same limits and the same outcome rules, in a plain child
process of the host, with the host's files and network. A run records which sandbox ran its programs and its
limits in the manifest.

Outcomes are read from the runner (``RUNNER``), a few lines of Python that executes the program and exits with a
code per outcome (an ``AssertionError`` is ``failed``, a ``MemoryError`` ``memory``, an ``OSError`` that the
sandbox causes, such as ``EACCES``, ``EROFS``, ``ENETUNREACH``, ``EAGAIN`` from ``fork`` or ``EFBIG``,
``sandbox_violation``, anything else ``error``), and from how the process ended (killed by the timeout or by
``SIGXCPU``: ``timeout``; by another signal: ``error``, with the signal's name).
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path

from harness.core.errors import OctoglotError
from harness.core.programs import Execution, Program

# exit codes of the runner
PASSED, FAILED, ERROR, MEMORY, VIOLATION = 0, 10, 11, 12, 13
PASS_MARK = "\x00octoglot-program-finished\x00"  # written by the runner after the program's end, never by a crash

# Executes the program read from stdin and exits with a code per outcome. It imports only what it needs, so a
# sandboxed interpreter started with -I -S (no site, no user or environment settings) starts fast.
RUNNER = r"""
import errno, sys
source = sys.stdin.read()
del sys.argv[1:]
VIOLATIONS = {errno.EACCES, errno.EPERM, errno.EROFS, errno.ENETUNREACH, errno.ENETDOWN, errno.ECONNREFUSED,
              errno.EHOSTUNREACH, errno.EADDRNOTAVAIL, errno.EAFNOSUPPORT, errno.EAGAIN, errno.EFBIG, errno.ENOSPC,
              errno.EDQUOT, errno.EMFILE}
def report(code, what):
    sys.stderr.write("\n[octoglot runner] " + what + "\n")
    sys.stderr.flush()
    import os
    os._exit(code)
try:
    exec(compile(source, "__NAME__", "exec"), {"__name__": "__main__", "__builtins__": __builtins__})
except AssertionError as exc:
    report(10, "AssertionError " + str(exc)[:200])
except MemoryError:
    report(12, "MemoryError")
except OSError as exc:
    report(13 if exc.errno in VIOLATIONS else 11, type(exc).__name__ + " " + str(exc)[:200])
except SystemExit as exc:
    report(11, "SystemExit " + repr(exc.code)[:100])
except BaseException as exc:
    import traceback
    traceback.print_exc()
    report(11, type(exc).__name__ + " " + str(exc)[:200])
sys.stdout.flush()
sys.stdout.write("__MARK__")
sys.stdout.flush()
"""


@dataclass(frozen=True)
class Limits:
    wall_seconds: float = 10.0
    cpu_seconds: int = 10
    memory_mb: int = 1024  # address space
    file_size_mb: int = 16  # largest file the program may write
    processes: int = 32  # processes (threads included) of the sandbox's user
    tmpfs_mb: int = 64  # the working directory and $HOME
    output_kb: int = 1024  # stdout and stderr together; beyond it the program is stopped

    def describe(self) -> dict:
        return asdict(self)


TAIL = 2000  # characters of stderr and stdout a sample record keeps


class Sandbox:
    """Run programs with limits; ``name`` and ``limits`` go into the manifest."""

    name = "none"

    def __init__(self, limits: Limits | None = None, workers: int | None = None):
        self.limits = limits or Limits()
        self.workers = workers or os.cpu_count() or 1
        self.prlimit = shutil.which("prlimit")
        if self.prlimit is None:
            raise OctoglotError("running programs needs prlimit (Debian package util-linux) to set their limits")

    def describe(self) -> dict:
        return {"name": self.name, "limits": self.limits.describe(), "workers": self.workers}

    def command(self, slot: int) -> list[str]:
        raise NotImplementedError

    # bwrap's init reports a program killed by signal N as exit status 128 + N
    signal_exit = False

    def run(self, program: Program, slot: int = 0) -> Execution:
        return _run(self._limited(self.command(slot)), program, self.limits, self.signal_exit)

    def run_many(self, programs: list[Program]) -> list[Execution]:
        """Every program, up to ``workers`` at a time (each in its own slot), results in order."""
        if not programs:
            return []
        slots = list(range(min(self.workers, len(programs))))
        free = list(slots)
        lock = threading.Lock()

        def one(program: Program) -> Execution:
            with lock:
                slot = free.pop()
            try:
                return self.run(program, slot)
            finally:
                with lock:
                    free.append(slot)

        with ThreadPoolExecutor(max_workers=len(slots)) as pool:
            return list(pool.map(one, programs))

    def _limited(self, command: list[str]) -> list[str]:
        """The command under ``prlimit`` (util-linux): the limits are set by a small program rather than in a
        ``preexec_fn``, so the harness (which may hold a model of several GB) starts each program with vfork
        instead of copying its page tables (measured from a process holding 1.5 GB: 200 trivial sandboxed
        programs, one at a time, 15.4 s with a preexec_fn against 2.9 s without)."""
        limits = self.limits
        memory, size = limits.memory_mb << 20, limits.file_size_mb << 20
        out = [self.prlimit, f"--cpu={limits.cpu_seconds}:{limits.cpu_seconds + 1}", f"--fsize={size}", "--core=0",
               f"--as={memory}"]
        nproc = self._process_limit()
        if nproc is not None:
            out.append(f"--nproc={nproc}")
        return [*out, "--", *command]

    def _process_limit(self) -> int | None:
        """RLIMIT_NPROC counts every process of the user: root's own uid is never limited, so a sandbox started
        by root drops to a uid of its own first; an ordinary user's budget starts from what it already runs."""
        if os.geteuid() == 0:
            return self.limits.processes
        mine = sum(1 for p in Path("/proc").iterdir() if p.name.isdigit() and _owned(p))
        return mine + self.limits.processes


def _owned(path: Path) -> bool:
    try:
        return path.stat().st_uid == os.geteuid()
    except OSError:
        return False


class Bubblewrap(Sandbox):
    name = "bubblewrap"
    signal_exit = True
    UID_BASE = 60000  # the unprivileged host uids programs run as when root starts the sandbox
    SLOTS = 32  # programs at a time per process, at most

    def uid(self, slot: int) -> int:
        """The host uid of a slot: distinct for every slot of every process (Ray workers run side by side)."""
        return self.UID_BASE + (os.getpid() % 1024) * self.SLOTS + slot

    def __init__(self, limits: Limits | None = None, workers: int | None = None):
        self.bwrap = shutil.which("bwrap")
        if self.bwrap is None:
            raise OctoglotError("code tasks run model-written programs in a sandbox: bwrap is not installed "
                                "(Debian package bubblewrap: apt-get install bubblewrap); --unsafe-exec runs them "
                                "without one")
        super().__init__(limits, min(workers or os.cpu_count() or 1, self.SLOTS))
        self.setpriv = shutil.which("setpriv")
        if os.geteuid() == 0 and self.setpriv is None:
            raise OctoglotError("code tasks started by root drop to an unprivileged user with setpriv (Debian "
                                "package util-linux), which is not installed")
        self.prefix = Path(sys.base_prefix)
        self.python = f"/opt/python/{Path(sys.executable).resolve().relative_to(self.prefix.resolve())}" \
            if Path(sys.executable).resolve().is_relative_to(self.prefix.resolve()) \
            else f"/opt/python/bin/python{sys.version_info.major}.{sys.version_info.minor}"

    def describe(self) -> dict:
        out = super().describe()
        out.update({"bwrap": self.bwrap, "user": "an unprivileged uid per slot (setpriv)" if os.geteuid() == 0 else
                    "the caller, in a user namespace", "network": "none", "filesystem": "/usr and the interpreter read-only, "
                    "tmpfs working directory and home"})
        return out

    def command(self, slot: int) -> list[str]:
        root = os.geteuid() == 0
        tmpfs = str(self.limits.tmpfs_mb << 20)
        cmd = [self.bwrap, "--die-with-parent", "--new-session", "--clearenv",
               "--setenv", "HOME", "/home/sandbox", "--setenv", "PATH", "/usr/bin:/bin",
               "--setenv", "LANG", "C.UTF-8", "--setenv", "LD_LIBRARY_PATH", "/opt/python/lib",
               # root: no user namespace (its uid 0 would be the host's root); the uid drop below isolates it
               *(["--unshare-ipc", "--unshare-pid", "--unshare-net", "--unshare-uts", "--unshare-cgroup-try"]
                 if root else ["--unshare-all"]),
               "--ro-bind", "/usr", "/usr", "--symlink", "usr/lib", "/lib", "--symlink", "usr/lib64", "/lib64",
               "--symlink", "usr/bin", "/bin", "--perms", "0755", "--dir", "/opt",
               "--ro-bind", str(self.prefix), "/opt/python", "--proc", "/proc", "--dev", "/dev",
               "--perms", "01777", "--size", tmpfs, "--tmpfs", "/tmp",
               "--perms", "01777", "--size", tmpfs, "--tmpfs", "/home/sandbox", "--chdir", "/tmp", "--"]
        if root:
            uid = str(self.uid(slot))
            cmd += ["/usr/bin/setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups", "--inh-caps=-all",
                    "--bounding-set=-all", "--no-new-privs", "--"]
        return cmd + [self.python, "-I", "-S", "-B"]


class Unsafe(Sandbox):
    """No isolation: ``--unsafe-exec`` only. The same limits, the host's files and network."""

    name = "unsafe (no sandbox: --unsafe-exec)"

    def command(self, slot: int) -> list[str]:
        return [sys.executable, "-I", "-S", "-B"]


def _run(command: list[str], program: Program, limits: Limits, signal_exit: bool) -> Execution:
    runner = RUNNER.replace("__NAME__", program.name).replace("__MARK__", PASS_MARK.encode("unicode_escape")
                                                               .decode("ascii"))
    started = time.perf_counter()
    try:
        proc = subprocess.Popen([*command, "-c", runner], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, start_new_session=True, close_fds=True,
                                env={} if any(part.endswith("bwrap") for part in command) else _minimal_env())
    except OSError as exc:
        raise OctoglotError(f"sandbox: cannot start {command[0]}: {exc.strerror or exc}") from None
    outputs = {"stdout": bytearray(), "stderr": bytearray()}
    state = {"over": False}
    budget = limits.output_kb << 10

    def drain(stream, name: str) -> None:
        while chunk := stream.read1(65536) if hasattr(stream, "read1") else stream.read(65536):
            buffer = outputs[name]
            buffer += chunk
            if len(buffer) > 2 * TAIL * 4:  # keep the tail only (bytes: up to 4 per character)
                del buffer[:len(buffer) - 2 * TAIL * 4]
            state.setdefault("total", 0)
            state["total"] += len(chunk)
            if state["total"] > budget and not state["over"]:
                state["over"] = True
                _kill_group(proc)

    readers = [threading.Thread(target=drain, args=(proc.stdout, "stdout"), daemon=True),
               threading.Thread(target=drain, args=(proc.stderr, "stderr"), daemon=True)]
    for reader in readers:
        reader.start()
    try:
        proc.stdin.write(program.source.encode("utf-8"))
        proc.stdin.close()
    except (BrokenPipeError, OSError):
        pass
    timed_out = False
    try:
        proc.wait(timeout=limits.wall_seconds)
    except subprocess.TimeoutExpired:
        timed_out = True
        _kill_group(proc)
        proc.wait()
    for reader in readers:
        reader.join(timeout=5)
    seconds = time.perf_counter() - started
    stdout = outputs["stdout"].decode("utf-8", "replace")
    stderr = outputs["stderr"].decode("utf-8", "replace")
    code = proc.returncode
    if signal_exit and code is not None and 128 < code < 128 + 65:
        code = -(code - 128)
    finished = stdout.endswith(PASS_MARK)
    stdout = stdout.replace(PASS_MARK, "")
    outcome, detail = _classify(code, timed_out, state["over"], finished, stderr, limits)
    return Execution(outcome, seconds, code, detail, stderr[-TAIL:], stdout[-TAIL:])


def _classify(code: int, timed_out: bool, over: bool, finished: bool, stderr: str, limits: Limits) -> tuple[str, str]:
    said = stderr.rsplit("[octoglot runner] ", 1)[1].strip() if "[octoglot runner] " in stderr else ""
    if over:
        return "sandbox_violation", f"output over {limits.output_kb} KiB"
    if timed_out:
        return "timeout", f"over {limits.wall_seconds:g} s wall time"
    if code == PASSED and finished:
        return "passed", ""
    if code == FAILED:
        return "failed", said
    if code == MEMORY:
        return "memory", said
    if code == VIOLATION:
        return "sandbox_violation", said
    if code is not None and code < 0:
        sig = signal.Signals(-code)
        if sig == signal.SIGXCPU:
            return "timeout", f"over {limits.cpu_seconds} CPU seconds"
        if sig == signal.SIGXFSZ:
            return "sandbox_violation", f"a file over {limits.file_size_mb} MiB"
        return "error", f"killed by {sig.name}"
    if code == PASSED:
        return "error", "ended before the check ran to its end"
    return "error", said or f"exit status {code}"


def _kill_group(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        try:
            proc.kill()
        except ProcessLookupError:
            pass


def _minimal_env() -> dict:
    return {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "HOME": os.environ.get("HOME", "/tmp")}


def make(kind: str, limits: Limits | None = None, workers: int | None = None) -> Sandbox:
    """``bubblewrap`` (the default) or ``unsafe`` (``--unsafe-exec``)."""
    if kind == "unsafe":
        return Unsafe(limits, workers)
    return Bubblewrap(limits, workers)

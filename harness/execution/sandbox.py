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

Two ways to run programs under bubblewrap. Started by an ordinary user: a fresh sandbox per program. Started by
root (as CI is): a sandbox kept per slot (``reuse``), whose server (``sandbox_inside.serve``, root inside the sandbox
with only the capabilities to change uid, kill and remove files) forks a fresh process per program from its own
pristine interpreter, sets the limits in it and drops it to the slot's uid; after the program it kills every
process of that uid and empties the working directory, home and System V IPC, so no program sees what another left
(``tests/execution/test_sandbox.py`` checks each). The same outcomes, without bubblewrap's and the interpreter's
start-up per program (``bench/sandbox_throughput.py``). An ordinary user's unprivileged user namespace maps a single
uid, so the programs' uid could not differ from the server's: there every program gets a fresh sandbox.

``Unsafe`` (``--unsafe-exec``, never the default): the same limits and the same outcome rules, in a plain child
process of the host, with the host's files and network. A run records which sandbox ran its programs and its
limits in the manifest.

Outcomes are read from the runner (``sandbox_inside.run``), a few lines of Python that executes the program and
exits with a code per outcome (an ``AssertionError`` is ``failed``, a ``MemoryError`` ``memory``, an ``OSError``
that the sandbox causes, such as ``EACCES``, ``EROFS``, ``ENETUNREACH``, ``EAGAIN`` from ``fork`` or ``EFBIG``,
``sandbox_violation``, anything else ``error``), and from how the process ended (killed by the timeout or by
``SIGXCPU``: ``timeout``; by another signal: ``error``, with the signal's name).
"""

from __future__ import annotations

import json
import os
import queue
import select
import shutil
import signal
import subprocess
import sys
import threading
import time
import weakref
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path

from harness.core.errors import OctoglotError
from harness.core.programs import Execution, Program
from harness.execution import sandbox_inside
from harness.execution.sandbox_inside import FAILED, MEMORY, PASS_MARK, PASSED, VIOLATION

# the runner and the server, handed to the sandboxed interpreter as -c text (the sandbox never holds the project)
INSIDE = Path(sandbox_inside.__file__).read_text(encoding="utf-8")


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

    def close(self) -> None:
        """Release what the sandbox keeps between programs (nothing, unless it keeps sandboxes)."""

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
        return [self.prlimit, *(f"--{name}={soft}:{hard}" for name, soft, hard in self.rlimits()), "--", *command]

    def rlimits(self) -> list[tuple[str, int, int]]:
        """The programs' resource limits as (name in ``prlimit`` and, upper-cased after ``RLIMIT_``, in ``resource``;
        soft; hard): set by ``prlimit`` around a fresh sandbox, and by a kept sandbox's server in each program."""
        limits = self.limits
        memory, size, nproc = limits.memory_mb << 20, limits.file_size_mb << 20, self._process_limit()
        return [("cpu", limits.cpu_seconds, limits.cpu_seconds + 1), ("fsize", size, size), ("core", 0, 0),
                ("as", memory, memory), ("nproc", nproc, nproc), ("msgqueue", 0, 0)]

    def _process_limit(self) -> int:
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

    def __init__(self, limits: Limits | None = None, workers: int | None = None, reuse: bool | None = None):
        self.bwrap = shutil.which("bwrap")
        if self.bwrap is None:
            raise OctoglotError("code tasks run model-written programs in a sandbox: bwrap is not installed "
                                "(Debian package bubblewrap: apt-get install bubblewrap); --unsafe-exec runs them "
                                "without one")
        super().__init__(limits, min(workers or os.cpu_count() or 1, self.SLOTS))
        root = os.geteuid() == 0
        self.setpriv = shutil.which("setpriv")
        if root and self.setpriv is None:
            raise OctoglotError("code tasks started by root drop to an unprivileged user with setpriv (Debian "
                                "package util-linux), which is not installed")
        # A kept sandbox needs a server whose uid differs from its programs': root can give programs one of their
        # own; an ordinary user's unprivileged user namespace maps one uid only, so there every program gets a
        # fresh sandbox.
        self.reuse = root if reuse is None else reuse
        if self.reuse and not root:
            raise OctoglotError("sandbox: keeping a sandbox between programs needs root (a uid for the programs "
                                "other than the server's)")
        self.prefix = Path(sys.base_prefix)
        self.python = f"/opt/python/{Path(sys.executable).resolve().relative_to(self.prefix.resolve())}" \
            if Path(sys.executable).resolve().is_relative_to(self.prefix.resolve()) \
            else f"/opt/python/bin/python{sys.version_info.major}.{sys.version_info.minor}"
        self._servers: dict[int, _Server] = {}
        self.replaced = 0  # kept sandboxes found dead and replaced
        self._servers_lock = threading.Lock()
        self._finalizer = weakref.finalize(self, _close_all, self._servers)

    def describe(self) -> dict:
        out = super().describe()
        user = f"an unprivileged uid per slot ({'set by the kept sandbox' if self.reuse else 'setpriv'})"
        out.update({"bwrap": self.bwrap, "user": user if os.geteuid() == 0 else "the caller, in a user namespace",
                    "network": "none",
                    "filesystem": "/usr and the interpreter read-only, tmpfs working directory and home",
                    "programs": "a fresh process forked per program in a sandbox kept per slot, cleared between "
                    "programs (processes, files, System V IPC); one hash seed per slot" if self.reuse else
                    "a fresh sandbox per program"})
        return out

    def _bwrap(self) -> list[str]:
        root = os.geteuid() == 0
        tmpfs = str(self.limits.tmpfs_mb << 20)
        return [self.bwrap, "--die-with-parent", "--new-session", "--clearenv",
                "--setenv", "HOME", HOME, "--setenv", "PATH", "/usr/bin:/bin",
                "--setenv", "LANG", "C.UTF-8", "--setenv", "LD_LIBRARY_PATH", "/opt/python/lib",
                # root: no user namespace (its uid 0 would be the host's root); the uid drop isolates it
                *(["--unshare-ipc", "--unshare-pid", "--unshare-net", "--unshare-uts", "--unshare-cgroup-try"]
                  if root else ["--unshare-all"]),
                "--ro-bind", "/usr", "/usr", "--symlink", "usr/lib", "/lib", "--symlink", "usr/lib64", "/lib64",
                "--symlink", "usr/bin", "/bin", "--perms", "0755", "--dir", "/opt",
                "--ro-bind", str(self.prefix), "/opt/python", "--proc", "/proc", "--dev", "/dev",
                "--perms", "01777", "--size", tmpfs, "--tmpfs", WORKDIR,
                "--perms", "01777", "--size", tmpfs, "--tmpfs", HOME, "--chdir", WORKDIR]

    def command(self, slot: int) -> list[str]:
        cmd = [*self._bwrap(), "--"]
        if os.geteuid() == 0:
            uid = str(self.uid(slot))
            cmd += ["/usr/bin/setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups", "--inh-caps=-all",
                    "--bounding-set=-all", "--no-new-privs", "--"]
        return cmd + [self.python, "-I", "-S", "-B"]

    def run(self, program: Program, slot: int = 0) -> Execution:
        if not self.reuse:
            return super().run(program, slot)
        with self._servers_lock:
            server = self._servers.get(slot)
            if server is None:
                server = self._servers[slot] = self._start_server(slot)
        reply = server.run(program, self.limits.wall_seconds + SERVER_GRACE)
        if reply is None:  # the server failed (never seen): a fresh one next time, this program in its own sandbox
            with self._servers_lock:
                self._servers.pop(slot, None)
                self.replaced += 1
            server.close()
            said = server.stderr.decode("utf-8", "replace").strip().splitlines()[-1:] or ["no message"]
            print(f"octoglot: sandbox: the kept sandbox of slot {slot} ended ({said[0][:300]}); this program runs in "
                  "a fresh sandbox, the next in a new kept one", file=sys.stderr)
            return super().run(program, slot)
        stdout, stderr = (reply[name].encode("latin-1").decode("utf-8", "replace") for name in ("stdout", "stderr"))
        return _execution(reply["code"], reply["timed_out"], reply["over"], stdout, stderr, reply["seconds"],
                          self.limits)

    def _start_server(self, slot: int) -> "_Server":
        """The slot's kept sandbox: its server runs as root inside with only the capabilities it needs to give
        each program the slot's uid and to clear what the program left (kill, remove files)."""
        caps = ["--cap-drop", "ALL", *(part for cap in SERVER_CAPS for part in ("--cap-add", cap))]
        config = {"uid": self.uid(slot), "limits": self.limits.describe(), "rlimits": self.rlimits(),
                  "tail_bytes": 2 * TAIL * 4,
                  "workdir": WORKDIR, "clear": [WORKDIR, HOME]}
        return _Server([*self._bwrap(), *caps, "--", self.python, "-I", "-S", "-B", "-c", INSIDE, "serve",
                        json.dumps(config)])

    def close(self) -> None:
        """Stop the kept sandboxes (they also end with the process: ``--die-with-parent``)."""
        with self._servers_lock:
            _close_all(self._servers)


HOME, WORKDIR = "/home/sandbox", "/tmp"
SERVER_CAPS = ("CAP_SETUID", "CAP_SETGID", "CAP_KILL", "CAP_DAC_OVERRIDE", "CAP_FOWNER")
SERVER_GRACE = 30.0  # seconds past a program's wall-clock limit before the host gives up on a kept sandbox


class _Server:
    """A kept sandbox, seen from the host: one JSON request a line in, one reply a line out."""

    def __init__(self, command: list[str]):
        try:
            self.proc = _spawn(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               start_new_session=True, close_fds=True, env={})
        except OSError as exc:
            raise OctoglotError(f"sandbox: cannot start {command[0]}: {exc.strerror or exc}") from None
        self.stderr = bytearray()  # the server's own complaints, kept for a failure's message
        threading.Thread(target=self._drain, daemon=True).start()
        self.pending = b""

    def _drain(self) -> None:
        while chunk := self.proc.stderr.read1(65536):
            self.stderr += chunk
            del self.stderr[:-4000]

    def run(self, program: Program, timeout: float) -> dict | None:
        """The server's reply, or None when it died or did not answer within ``timeout`` seconds."""
        request = json.dumps({"source": program.source, "name": program.name}) + "\n"
        try:
            self.proc.stdin.write(request.encode("utf-8"))
            self.proc.stdin.flush()
        except OSError:
            return None
        deadline = time.monotonic() + timeout
        out = self.proc.stdout.fileno()
        while b"\n" not in self.pending:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([out], [], [], left)[0]:
                return None
            chunk = os.read(out, 1 << 20)
            if not chunk:
                return None
            self.pending += chunk
        line, self.pending = self.pending.split(b"\n", 1)
        return json.loads(line)

    def close(self) -> None:
        _kill_group(self.proc)
        self.proc.wait()
        for stream in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
            try:
                stream.close()
            except OSError:
                pass


_spawns: queue.SimpleQueue = queue.SimpleQueue()
_spawner_lock = threading.Lock()
_spawner: list[threading.Thread] = []


def _spawn(command: list[str], **kwargs) -> subprocess.Popen:
    """``subprocess.Popen`` from one thread that lives as long as the process. bwrap's ``--die-with-parent`` is the
    parent-death signal, which Linux sends when the *thread* that started it ends: a kept sandbox started from
    ``run_many``'s pool threads died with them, after every batch of programs."""
    with _spawner_lock:
        if not _spawner:
            _spawner.append(threading.Thread(target=_spawn_forever, name="octoglot-sandbox-spawner", daemon=True))
            _spawner[0].start()
    done: Future = Future()
    _spawns.put((command, kwargs, done))
    return done.result()


def _spawn_forever() -> None:
    while True:
        command, kwargs, done = _spawns.get()
        try:
            done.set_result(subprocess.Popen(command, **kwargs))
        except BaseException as exc:  # noqa: BLE001 - handed to the caller, which raises it
            done.set_exception(exc)


def _close_all(servers: dict) -> None:
    while servers:
        servers.popitem()[1].close()


class Unsafe(Sandbox):
    """No isolation: ``--unsafe-exec`` only. The same limits, the host's files and network."""

    name = "unsafe (no sandbox: --unsafe-exec)"

    def command(self, slot: int) -> list[str]:
        return [sys.executable, "-I", "-S", "-B"]


def _run(command: list[str], program: Program, limits: Limits, signal_exit: bool) -> Execution:
    started = time.perf_counter()
    try:
        proc = subprocess.Popen([*command, "-c", INSIDE, "run", program.name], stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE,
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
    code = proc.returncode
    if signal_exit and code is not None and 128 < code < 128 + 65:
        code = -(code - 128)
    return _execution(code, timed_out, state["over"], outputs["stdout"].decode("utf-8", "replace"),
                      outputs["stderr"].decode("utf-8", "replace"), seconds, limits)


def _execution(code: int | None, timed_out: bool, over: bool, stdout: str, stderr: str, seconds: float,
               limits: Limits) -> Execution:
    finished = stdout.endswith(PASS_MARK)
    stdout = stdout.replace(PASS_MARK, "")
    outcome, detail = _classify(code, timed_out, over, finished, stderr, limits)
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

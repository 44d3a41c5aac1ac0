"""What runs inside the sandbox: the runner of one program, and the server that keeps a sandbox for many.

The sandbox holds the Python installation, never the project, so ``sandbox.py`` hands this file's text to the
sandboxed interpreter as ``-c``. It imports nothing but the standard library, each role only what it needs: the
interpreter is started with ``-I -S -B`` and a bare runner starts fast.

``python -c <this file> run NAME`` runs the program read from stdin and exits with a code per outcome (``run``):
an ``AssertionError`` is ``FAILED``, a ``MemoryError`` ``MEMORY``, an ``OSError`` that the sandbox causes
(``EACCES``, ``EAGAIN`` from ``fork``, ...) ``VIOLATION``, anything else ``ERROR``; a program that runs to its end
writes ``PASS_MARK`` last.

``python -c <this file> serve CONFIG`` is the server of a sandbox kept for many programs (started by root only: it
needs a uid other than the programs'). It reads one request a line (JSON: source, name) and answers one line
(JSON: exit code, timed out, output over budget, tails, seconds). Per program it forks a fresh process from its own
pristine interpreter (never from a process a program has run in), which sets the limits, drops to the programs' uid
with no capabilities left and runs the program exactly as ``run`` does. When the program has ended (or run out of
time or output), the server clears everything it could have left for the next one:

- every process of the programs' uid is killed (daemons, double forks, a fork bomb's survivors), and the server
  waits until none is left, zombies included, so the next program starts with its whole process budget;
- the working directory and home (the only writable places) are emptied;
- System V IPC objects (the IPC namespace is the sandbox's, so they would outlive the program) are removed; POSIX
  message queues cannot be made at all (``RLIMIT_MSGQUEUE`` 0), and ``/dev/shm`` is not writable.

What a program can see of another is thus what it could see in a fresh sandbox: nothing. One difference remains
and is recorded in the manifest: programs forked from one server share its hash seed (``str`` hashes, hence the
order of a ``set`` of strings), where fresh interpreters draw one each; neither is reproducible across runs.
"""

import sys

PASSED, FAILED, ERROR, MEMORY, VIOLATION = 0, 10, 11, 12, 13  # exit codes of the runner
PASS_MARK = "\x00octoglot-program-finished\x00"  # written after the program's end, never by a crash


def run(source, name):
    """Run the program; return only after it ran to its end (then the caller exits normally)."""
    import errno
    violations = {errno.EACCES, errno.EPERM, errno.EROFS, errno.ENETUNREACH, errno.ENETDOWN, errno.ECONNREFUSED,
                  errno.EHOSTUNREACH, errno.EADDRNOTAVAIL, errno.EAFNOSUPPORT, errno.EAGAIN, errno.EFBIG,
                  errno.ENOSPC, errno.EDQUOT, errno.EMFILE}
    del sys.argv[1:]
    try:
        exec(compile(source, name, "exec"), {"__name__": "__main__", "__builtins__": __builtins__})
    except AssertionError as exc:
        _report(FAILED, "AssertionError " + str(exc)[:200])
    except MemoryError:
        _report(MEMORY, "MemoryError")
    except OSError as exc:
        _report(VIOLATION if exc.errno in violations else ERROR, type(exc).__name__ + " " + str(exc)[:200])
    except SystemExit as exc:
        _report(ERROR, "SystemExit " + repr(exc.code)[:100])
    except BaseException as exc:
        import traceback
        traceback.print_exc()
        _report(ERROR, type(exc).__name__ + " " + str(exc)[:200])
    sys.stdout.flush()
    sys.stdout.write(PASS_MARK)
    sys.stdout.flush()


def _report(code, what):
    sys.stderr.write("\n[octoglot runner] " + what + "\n")
    sys.stderr.flush()
    import os
    os._exit(code)


def serve(config):
    """Answer requests on stdin until it closes (see the module docstring)."""
    pristine = set(sys.modules)  # what the program's interpreter would hold had it started fresh (nearly)
    import json
    import os
    import resource
    import select
    import signal
    import time

    config = json.loads(config)
    uid, limits, tail = config["uid"], config["limits"], config["tail_bytes"]
    budget = limits["output_kb"] << 10
    rlimits = [(getattr(resource, "RLIMIT_" + name.upper()), (soft, hard)) for name, soft, hard in config["rlimits"]]
    requests, replies = os.dup(0), os.dup(1)  # the host's channel, closed in every program
    null = os.open("/dev/null", os.O_RDWR)
    os.dup2(null, 0)
    os.dup2(null, 1)
    os.close(null)

    def child(source, name, out, err):
        try:
            os.dup2(out, 1)
            os.dup2(err, 2)
            os.closerange(3, 65536)
            os.setsid()
            for which, value in rlimits:
                resource.setrlimit(which, value)
            os.setgroups([])
            os.setresgid(uid, uid, uid)
            os.setresuid(uid, uid, uid)  # every capability goes with uid 0
            os.chdir(config["workdir"])
            for module in set(sys.modules) - pristine:
                del sys.modules[module]
        except BaseException as exc:  # noqa: BLE001 - the host reads it as the program's error
            _report(ERROR, "sandbox set-up: " + type(exc).__name__ + " " + str(exc)[:200])
        run(source, name)
        threading = sys.modules.get("threading")
        if threading is not None:
            threading._shutdown()  # as the interpreter's exit would: wait for the program's threads
        import atexit
        atexit._run_exitfuncs()
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except Exception:  # noqa: BLE001 - a closed stream: nothing more to write
                pass
        os._exit(PASSED)

    def processes():
        """The pids of the programs' uid, zombies included (a program cannot change its uid: no capability)."""
        out = []
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                try:
                    if os.stat("/proc/" + entry).st_uid == uid:
                        out.append(int(entry))
                except OSError:
                    pass
        return out

    def kill_all():
        """Kill every process of the programs' uid and wait until none is left, zombies included (the sandbox's
        init reaps them), so that the next program starts with its whole process budget."""
        for _ in range(5000):
            left = processes()
            if not left:
                return
            for pid in left:
                try:
                    os.kill(pid, signal.SIGKILL)
                except OSError:
                    pass
            time.sleep(0.0005)
        raise RuntimeError("processes of the programs' uid outlived 5,000 rounds of SIGKILL")

    def as_programs_uid(argv):
        pid = os.fork()
        if pid == 0:
            try:
                os.setgroups([])
                os.setresgid(uid, uid, uid)
                os.setresuid(uid, uid, uid)
                os.execv(argv[0], argv)
            finally:
                os._exit(127)
        os.waitpid(pid, 0)

    def clear():
        """Empty the writable folders and System V IPC (every process of the programs' uid is gone by now)."""
        for folder in config["clear"]:
            left = os.listdir(folder)
            if left:  # rm copes with any depth and any permission a program set; the server is root
                pid = os.fork()
                if pid == 0:
                    try:
                        os.execv("/usr/bin/rm", ["rm", "-rf", "--one-file-system", "--",
                                                 *(folder + "/" + entry for entry in left)])
                    finally:
                        os._exit(127)
                os.waitpid(pid, 0)
                if os.listdir(folder):
                    raise RuntimeError("could not empty " + folder)
        for kind in ("shm", "sem", "msg"):
            with open("/proc/sysvipc/" + kind) as handle:
                if len(handle.read().splitlines()) > 1:  # the header, then one line per object
                    as_programs_uid(["/usr/bin/ipcrm", "--all"])
                    break

    def one(source, name):
        out_r, out_w = os.pipe()
        err_r, err_w = os.pipe()
        started = time.perf_counter()
        pid = os.fork()
        if pid == 0:
            child(source, name, out_w, err_w)
        os.close(out_w)
        os.close(err_w)
        exited = os.pidfd_open(pid)
        kept = {out_r: bytearray(), err_r: bytearray()}
        reading = [out_r, err_r]
        total, over, timed_out, status = 0, False, False, None

        def take(fd):
            nonlocal total
            chunk = os.read(fd, 65536)
            if not chunk:
                reading.remove(fd)
                return
            buffer = kept[fd]
            buffer += chunk
            if len(buffer) > tail:
                del buffer[:len(buffer) - tail]
            total += len(chunk)

        while status is None and not over:
            left = started + limits["wall_seconds"] - time.perf_counter()
            if left <= 0:
                timed_out = True
                break
            ready, _, _ = select.select(reading + [exited], [], [], left)
            for fd in ready:
                if fd == exited:
                    status = os.waitpid(pid, 0)[1]
                else:
                    take(fd)
            over = total > budget
        seconds = time.perf_counter() - started
        if status is None:  # out of time or output: the program first, reaped here, then whatever it started
            os.kill(pid, signal.SIGKILL)
            status = os.waitpid(pid, 0)[1]
        kill_all()
        while reading:  # whatever the program wrote before it ended; every writer is gone now
            ready, _, _ = select.select(reading, [], [], 1.0)
            if not ready:
                break
            for fd in ready:
                take(fd)
        for fd in (out_r, err_r, exited):
            os.close(fd)
        clear()
        return {"code": os.waitstatus_to_exitcode(status), "timed_out": timed_out, "over": over,
                "stdout": kept[out_r].decode("latin-1"), "stderr": kept[err_r].decode("latin-1"),
                "seconds": seconds}

    pending = b""
    while True:
        while b"\n" not in pending:
            chunk = os.read(requests, 1 << 20)
            if not chunk:
                return
            pending += chunk
        line, pending = pending.split(b"\n", 1)
        request = json.loads(line)
        reply = (json.dumps(one(request["source"], request["name"])) + "\n").encode()
        while reply:
            reply = reply[os.write(replies, reply):]


if __name__ == "__main__":
    if sys.argv[1] == "run":
        run(sys.stdin.read(), sys.argv[2])
    else:
        serve(sys.argv[2])

"""Model-written programs and what became of them: the records a code family and the sandbox exchange.

A family turns a response into a ``Program`` (the whole test program: the function, its tests, the call that
checks it); the execution layer runs it in a sandbox and returns an ``Execution``; the family scores that. The
outcomes are data, never exceptions:

- ``passed``: the program ran to its end (the check returned);
- ``failed``: a test's assertion failed;
- ``error``: it raised anything else (a syntax error in the model's code, a NameError, a crash by signal);
- ``timeout``: it ran past the wall-clock or CPU-time limit;
- ``memory``: it ran out of the address space it may use;
- ``sandbox_violation``: it tried something the sandbox forbids or limits (the network, a file outside its
  working directory, another process, more processes or file size or output than allowed).
"""

from __future__ import annotations

from dataclasses import dataclass

OUTCOMES = ("passed", "failed", "error", "timeout", "memory", "sandbox_violation")


@dataclass(frozen=True)
class Program:
    source: str  # a complete Python program; it passes when it runs to its end
    name: str = "program.py"  # the file name its tracebacks show


@dataclass(frozen=True)
class Execution:
    outcome: str  # one of OUTCOMES
    seconds: float  # wall time of the run, sandbox start-up included
    exit_status: int | None = None  # the program's exit status; negative: killed by that signal
    detail: str = ""  # why, in a few words ("AssertionError", "killed by SIGABRT", "output over 16 MiB")
    stderr_tail: str = ""  # the last lines the program wrote to stderr
    stdout_tail: str = ""

    def __post_init__(self) -> None:
        if self.outcome not in OUTCOMES:
            raise ValueError(f"execution outcome must be one of {', '.join(OUTCOMES)}, got '{self.outcome}'")

    def record(self, program: Program | None = None) -> dict:
        """What a sample record keeps of it (and of the program, when given)."""
        out = {"outcome": self.outcome, "seconds": round(self.seconds, 3), "exit_status": self.exit_status,
               "detail": self.detail, "stderr_tail": self.stderr_tail}
        if program is not None:
            out["program"] = program.source
        return out


DATA_ERROR = "data_error"  # a record's outcome when the item itself is broken: never run, never the model's


@dataclass(frozen=True)
class Attempt:
    """One response to a code task, its program and what became of it; ``execution`` is None for a data error."""
    response: str
    program: Program | None
    execution: Execution | None

"""glibc's malloc thresholds fixed (``harness.execution.allocator``) against glibc's own, on the same run: wall, peak
RSS and page faults of ``octoglot run`` in fresh processes, alternating.

    OCTOGLOT_DATA=../shared/data python bench/allocator.py [--rounds 2] [--tasks sib200,xcopa] [--limit 25]

Each round runs the same command twice, once as ``octoglot run`` does (thresholds fixed when the model loads) and
once with ``allocator.reuse_freed_memory`` answered "no" before anything loads (glibc's adapting thresholds); the
order alternates between rounds. Prints each process's wall, peak RSS and minor page faults (from ``wait4``), then
the medians. ``--no-cache`` throughout: every request goes to the model. Nothing here is a test.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHILD = """
import sys
if sys.argv[1] == "glibc":
    from harness.execution import allocator
    allocator._done.append(False)  # as if already asked, and refused: the thresholds stay glibc's
from harness.cli import main
sys.exit(main(sys.argv[2:]))
"""


def one(mode: str, args, out: Path) -> tuple[float, float, int]:
    """Wall seconds, peak RSS (MB) and minor page faults of one ``octoglot run`` process."""
    cmd = [sys.executable, "-c", CHILD, mode, "run", "--model", "smollm2", "--tasks", args.tasks, "--limit",
           str(args.limit), "--no-cache", "--output", str(out)]
    if args.data_dir:
        cmd += ["--data-dir", args.data_dir]
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"}
    started = time.perf_counter()
    with open(out.parent / f"{mode}-stderr.txt", "w") as err:
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=err)
        _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"octoglot run ({mode}) failed: see {out.parent / (mode + '-stderr.txt')}")
    return wall, usage.ru_maxrss / 1024, usage.ru_minflt


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=2, help="pairs of processes (default 2)")
    parser.add_argument("--tasks", default="sib200,xcopa", help="tasks of the run (default sib200,xcopa)")
    parser.add_argument("--limit", type=int, default=25, help="items per task and language (default 25)")
    parser.add_argument("--data-dir", default=os.environ.get("OCTOGLOT_DATA"))
    args = parser.parse_args()
    results: dict[str, list[tuple[float, float, int]]] = {"fixed": [], "glibc": []}
    print(f"octoglot run --model smollm2 --tasks {args.tasks} --limit {args.limit} --no-cache, {args.rounds} "
          "round(s)\n\n| round | thresholds | wall (s) | peak RSS (MB) | minor page faults |\n|---|---|---|---|---|")
    with tempfile.TemporaryDirectory(prefix="octoglot-allocator-") as work:
        for n in range(args.rounds):
            for mode in (("fixed", "glibc") if n % 2 == 0 else ("glibc", "fixed")):
                out = Path(work) / f"{n}-{mode}" / "runs"
                out.mkdir(parents=True)
                wall, rss, faults = one(mode, args, out)
                results[mode].append((wall, rss, faults))
                print(f"| {n + 1} | {mode} | {wall:.1f} | {rss:.0f} | {faults:,} |", flush=True)
    print("\n| thresholds | median wall (s) | median peak RSS (MB) | median minor page faults |\n|---|---|---|---|")
    for mode, rows in results.items():
        print(f"| {mode} | {statistics.median(r[0] for r in rows):.1f} | {statistics.median(r[1] for r in rows):.0f} | "
              f"{statistics.median(r[2] for r in rows):,.0f} |")
    fixed, glibc = (statistics.median(r[0] for r in results[m]) for m in ("fixed", "glibc"))
    print(f"\nwall fixed / glibc: {fixed / glibc:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""How fast the sandbox runs programs: every canonical solution of mHumanEval in all eight languages (164 × 8 =
1,312 programs) through ``harness.execution.sandbox.Bubblewrap``, as many at a time as there are cores.

    OCTOGLOT_DATA=../shared/data python bench/sandbox_throughput.py [--workers N] [--startup 50]

Prints programs per second, the outcome counts (the failures are the data's own errors: SOURCE.txt), and the
start-up cost per program: the median wall time of a program that does nothing, in the sandbox and as a bare
``python -I -S -B`` process (the difference is what bubblewrap, the uid drop and the limits cost). Target: all
1,312 in 60 s or less on 2 cores. Nothing here is a test.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def main() -> int:
    from harness.core.languages import parse_langs
    from harness.core.programs import Program
    from harness.execution.plan import RunConfig, plan
    from harness.execution.sandbox import Bubblewrap, Limits
    from harness.tasks.families import code
    from harness.tasks.registry import get_task

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=os.cpu_count())
    parser.add_argument("--startup", type=int, default=50, help="trivial programs timed for the start-up cost")
    parser.add_argument("--data-dir", default=os.environ.get("OCTOGLOT_DATA"))
    args = parser.parse_args()

    config = RunConfig(model="bench", model_args=None, tasks=[get_task("mhumaneval")], langs=parse_langs(None),
                       limit=None, seed=1234, output=Path("."), data_dir=args.data_dir)
    units, _ = plan(config)
    programs = [code.canonical_program(s) for u in units for s in u.samples]
    box = Bubblewrap(Limits(), workers=args.workers)

    started = time.perf_counter()
    results = box.run_many(programs)
    wall = time.perf_counter() - started
    outcomes = Counter(r.outcome for r in results)

    trivial = Program("pass\n")
    sandboxed = [box.run(trivial).seconds for _ in range(args.startup)]
    bare = []
    for _ in range(args.startup):
        t = time.perf_counter()
        subprocess.run([sys.executable, "-I", "-S", "-B", "-c", "pass"], check=True)
        bare.append(time.perf_counter() - t)

    print(f"\n{len(programs)} canonical solutions (mHumanEval, {len(units)} languages), {box.workers} at a time, "
          f"{os.cpu_count()} cores\n")
    print("| measure | value |")
    print("|---|---|")
    print(f"| wall for all programs (s) | {wall:.1f} |")
    print(f"| programs per second | {len(programs) / wall:.1f} |")
    print(f"| outcomes | {', '.join(f'{k} {v}' for k, v in outcomes.most_common())} |")
    print(f"| a program that does nothing, in the sandbox (ms, median of {args.startup}) | "
          f"{1000 * statistics.median(sandboxed):.1f} |")
    print(f"| the same as a bare `python -I -S -B` process (ms) | {1000 * statistics.median(bare):.1f} |")
    print(f"| start-up cost of the sandbox per program (ms) | "
          f"{1000 * (statistics.median(sandboxed) - statistics.median(bare)):.1f} |")
    print(f"| target: all {len(programs)} in 60 s or less | {'met' if wall <= 60 else 'MISSED'} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())

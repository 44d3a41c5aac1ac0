"""How fast the sandbox runs programs: every canonical solution of mHumanEval in all eight languages (164 × 8 =
1,312 programs) through ``harness.execution.sandbox.Bubblewrap``, as many at a time as there are cores, both ways
it can run them: a fresh sandbox per program, and (started by root) a sandbox kept per slot whose server forks a
fresh process per program and clears what it left.

    OCTOGLOT_DATA=../shared/data python bench/sandbox_throughput.py [--workers N] [--startup 50]

Prints, for each way, the wall time for all programs, programs per second and the outcome counts (the failures are
the data's own errors: SOURCE.txt; both ways must agree on every program), then the start-up cost per program: the
median wall time of a program that does nothing, in each way and as a bare ``python -I -S -B`` process. Target: all
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
    ways = {"fresh sandbox per program": False}
    if os.geteuid() == 0:
        ways["kept sandbox, forked process per program"] = True
    else:
        print("not root: a kept sandbox needs root (its programs need a uid of their own); fresh sandboxes only")
    walls, outcomes, startup, results = {}, {}, {}, {}
    trivial = Program("pass\n")
    for way, reuse in ways.items():
        box = Bubblewrap(Limits(), workers=args.workers, reuse=reuse)
        started = time.perf_counter()
        results[way] = box.run_many(programs)
        walls[way] = time.perf_counter() - started
        outcomes[way] = Counter(r.outcome for r in results[way])
        times = []
        for _ in range(args.startup):
            t = time.perf_counter()
            box.run(trivial)
            times.append(time.perf_counter() - t)
        startup[way] = statistics.median(times)
        box.close()
    bare = []
    for _ in range(args.startup):
        t = time.perf_counter()
        subprocess.run([sys.executable, "-I", "-S", "-B", "-c", "pass"], check=True)
        bare.append(time.perf_counter() - t)
    bare_median = statistics.median(bare)
    disagree = [n for n in range(len(programs)) if len({r[n].outcome for r in results.values()}) > 1]

    print(f"\n{len(programs)} canonical solutions (mHumanEval, {len(units)} languages), {args.workers} at a time, "
          f"{os.cpu_count()} cores\n")
    print(f"| measure | {' | '.join(ways)} |")
    print("|---|" + "---|" * len(ways))
    print(f"| wall for all programs (s) | {' | '.join(f'{walls[w]:.1f}' for w in ways)} |")
    print(f"| programs per second | {' | '.join(f'{len(programs) / walls[w]:.1f}' for w in ways)} |")
    print(f"| outcomes | {' | '.join(', '.join(f'{k} {v}' for k, v in outcomes[w].most_common()) for w in ways)} |")
    print(f"| a program that does nothing (ms, median of {args.startup}) | "
          f"{' | '.join(f'{1000 * startup[w]:.1f}' for w in ways)} |")
    print(f"| start-up cost per program over a bare `python -I -S -B` ({1000 * bare_median:.1f} ms) | "
          f"{' | '.join(f'{1000 * (startup[w] - bare_median):.1f}' for w in ways)} |")
    print(f"| target: all {len(programs)} in 60 s or less | "
          f"{' | '.join('met' if walls[w] <= 60 else 'MISSED' for w in ways)} |")
    if len(ways) > 1:
        fresh, kept = ways
        print(f"\nkept vs fresh: {walls[fresh] / walls[kept]:.2f}x faster for all programs, "
              f"{startup[fresh] / startup[kept]:.2f}x for a program that does nothing; programs whose outcome "
              f"differs between the ways: {len(disagree)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The ``octoglot`` command line. Heavy libraries are imported only by commands that run a model."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from harness import __version__
from harness.core.errors import OctoglotError

EXAMPLES = """examples:
  octoglot run --model smollm2 --suite quick
  octoglot run --model smollm2 --langs en,de,fr,it,pt,hi,es,th --tasks sib200 --limit 20 --output runs/
  octoglot run --model hf --model-args pretrained=/models/llama,dtype=bfloat16 --tasks sib200 --langs hi,th
  octoglot run --model smollm2 --tasks mhumaneval --limit 10 --samples 5 --temperature 0.8
  octoglot run --model gemma3-270m --tasks niah_single,niah_none,cwe --context-lengths 1k,4k,16k --limit 5
  octoglot tasks
  octoglot leaderboard runs/smollm2-* runs/gemma3-270m-* --out reports/quick/
  octoglot compare runs/smollm2-... runs/gemma3-270m-... --format md
  octoglot compare runs/smollm2-... runs/gemma3-270m-... --format html --png forest.png > compare.html
  octoglot data verify --data-dir ../shared/data
  octoglot export lm-eval --out exported/ --data-dir ../shared/data
  octoglot validate --model smollm2 --tasks sib200,xcopa --langs en,th --limit 3
"""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, exit 2, like every other error
        raise OctoglotError(message)


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got '{text}'") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {value}")
    return value


def unit_interval(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number between 0 and 1, got '{text}'") from None
    if not 0 < value < 1:
        raise argparse.ArgumentTypeError(f"expected a number between 0 and 1, got {value}")
    return value


def sample_options(parser: argparse.ArgumentParser, limit: int | None, limit_help: str) -> None:
    """Which items: languages, a seeded sample, the data directory (the commands that plan requests)."""
    parser.add_argument("--langs", help="comma-separated language codes (default: all eight)")
    parser.add_argument("--limit", type=positive_int, default=limit, help=limit_help)
    parser.add_argument("--data-dir", help="local data directory (else $OCTOGLOT_DATA, ./data)")
    parser.add_argument("--seed", type=int, default=1234)


def model_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--batch-size", type=positive_int, default=8)
    parser.add_argument("--device", default="cpu")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="octoglot", description="Multilingual LLM benchmark harness (en de fr it pt hi es th).",
                     epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"octoglot {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    run = sub.add_parser("run", help="evaluate a model", epilog=EXAMPLES,
                         formatter_class=argparse.RawDescriptionHelpFormatter)
    run.add_argument("--model", default="smollm2",
                     help="alias (smollm2, gemma3-270m) or lm-eval backend (hf, vllm, local-completions, ...)")
    run.add_argument("--model-args", help="k=v,k2=v2 passed to the lm-eval backend")
    run.add_argument("--tasks", help="comma-separated task ids (see `octoglot tasks`)")
    run.add_argument("--suite", help="a named suite: quick (every offline task, small limits), core (all offline data), "
                     "hub (hub-only tasks)")
    run.add_argument("--langs", help="comma-separated language codes (default: all eight)")
    run.add_argument("--limit", type=positive_int, help="a seeded sample of N items per task and language")
    run.add_argument("--seed", type=int, default=1234, help="seed for --limit sampling and the model (default 1234)")
    run.add_argument("--output", default="runs", help="folder that receives the run directory (default runs/)")
    run.add_argument("--data-dir", help="local data directory (else $OCTOGLOT_DATA, ./data, then the hub)")
    run.add_argument("--batch-size", type=positive_int, default=8)
    run.add_argument("--device", default="cpu")
    run.add_argument("--resume", metavar="RUN_DIR",
                     help="continue an interrupted run in its directory, with the settings it was started with")
    run.add_argument("--no-cache", dest="use_cache", action="store_false",
                     help="do not read or write the model-keyed response cache ($OCTOGLOT_RESPONSE_CACHE, "
                          "else $OCTOGLOT_CACHE/responses.sqlite)")
    run.add_argument("--no-shared-prefix", dest="shared_prefix", action="store_false",
                     help="score every multiple-choice option as its own full request, as lm-eval does")
    run.add_argument("--executor", choices=("local", "ray"), default="local",
                     help="where units run: this process (default), or Ray actors (one model instance each)")
    run.add_argument("--ray-address", help="join this Ray cluster (e.g. 10.0.0.1:6379; default: start a local one)")
    run.add_argument("--ray-workers", type=positive_int,
                     help="model instances on Ray (default: one per GPU with a GPU --device, else one per CPU)")
    run.add_argument("--apply-chat-template", action=argparse.BooleanOptionalAction, default=None,
                     help="wrap generation prompts in the model's chat template (default: on for instruct aliases)")
    run.add_argument("--samples", type=positive_int, default=1, metavar="N",
                     help="code tasks: N programs per problem, sampled at --temperature, scored as pass@k (k <= N)")
    run.add_argument("--temperature", type=float, help="sampling temperature of --samples")
    run.add_argument("--context-lengths", metavar="LENGTHS",
                     help="long-context tasks: request lengths in the model's tokens, e.g. 1k,4k,32k,128k (default "
                          "1k,2k,4k); lengths beyond the model's window are skipped and listed in the manifest")
    run.add_argument("--unsafe-exec", action="store_true",
                     help="run model-written programs WITHOUT the bubblewrap sandbox (same limits, host files and "
                          "network reachable); recorded in the manifest")

    tasks = sub.add_parser("tasks", help="list the task × language matrix")
    tasks.add_argument("--data-dir", help="local data directory (else $OCTOGLOT_DATA, ./data)")

    board = sub.add_parser("leaderboard", help="comparison tables from stored run directories (no model)",
                           description="Model × language, model × task and overall tables of each task's primary "
                                       "metric, with 95% CIs and ranks; only like-with-like scores are ranked or "
                                       "averaged.", epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    board.add_argument("run_dirs", nargs="+", type=Path, metavar="RUN_DIR", help="run folders written by octoglot run")
    board.add_argument("--out", type=Path, required=True,
                       help="folder for leaderboard.md/.csv/.json/.tex, index.html and heatmap.png")

    cmp = sub.add_parser("compare", help="paired significance tests between two run directories",
                         description="Compare two runs on every (task, language) both hold: scores, B − A, exact "
                                     "McNemar (0/1 metrics) or paired bootstrap (chrF++, BLEU), Holm-corrected "
                                     "p-values, verdicts; cross-lingual consistency of both.",
                         epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    cmp.add_argument("run_a", metavar="RUN_A", help="run directory of system A")
    cmp.add_argument("run_b", metavar="RUN_B", help="run directory of system B")
    cmp.add_argument("--format", choices=("md", "json", "html"), default="md",
                     help="output format, written to stdout (default md; html: a self-contained page with the "
                          "forest plot)")
    cmp.add_argument("--png", type=Path, metavar="FILE", help="also write the forest plot as a PNG file")
    cmp.add_argument("--alpha", type=unit_interval, default=0.05,
                     help="family-wise significance level after Holm's correction (default 0.05)")

    export = sub.add_parser("export", help="write octoglot's offline tasks in another tool's format")
    export_sub = export.add_subparsers(dest="export_format", required=True, parser_class=_Parser)
    lmeval = export_sub.add_parser("lm-eval", help="lm-eval YAML tasks (one per task and language, a group per task)")
    lmeval.add_argument("--out", required=True, help="folder for the YAML files and their documents")
    lmeval.add_argument("--tasks", help="comma-separated task ids (default: every exportable offline task)")
    sample_options(lmeval, None, "the same seeded N items per task and language as run")

    validate = sub.add_parser("validate", help="parity check: the same requests in octoglot and plain lm-eval")
    validate.add_argument("--model", default="smollm2")
    validate.add_argument("--model-args")
    validate.add_argument("--tasks", default="sib200,xcopa,xwinograd,mgsm_direct")
    sample_options(validate, 5, "items per task and language (default 5)")
    model_options(validate)
    validate.add_argument("--apply-chat-template", action=argparse.BooleanOptionalAction, default=None)
    validate.add_argument("--tolerance", type=float, default=1e-4, help="largest |Δ log-likelihood| allowed")

    backend = sub.add_parser("check-backend", help="do a backend's log-likelihoods agree with a reference's?",
                             description="Send the same log-likelihood requests to --model and --reference and "
                                         "report the largest difference; the verdict is stored and flagged in "
                                         "the manifest and report of later runs on --model.")
    backend.add_argument("--model", required=True, help="the backend to check (alias or lm-eval backend)")
    backend.add_argument("--model-args", help="k=v,k2=v2 for --model")
    backend.add_argument("--reference", default="smollm2", help="the reference (default smollm2 on transformers)")
    backend.add_argument("--reference-args", help="k=v,k2=v2 for --reference")
    backend.add_argument("--tasks", default="sib200,xcopa", help="log-likelihood tasks (default sib200,xcopa)")
    sample_options(backend, 3, "items per task and language (default 3)")
    model_options(backend)
    backend.add_argument("--tolerance", type=float, default=None,
                         help="largest mean |Δ log-likelihood| per continuation token, in nats (default 0.25: "
                              "a 4-bit server passes, a one-token shift does not)")
    backend.add_argument("--format", choices=("md", "json"), default="md")

    data = sub.add_parser("data", help="data directory tools")
    data_sub = data.add_subparsers(dest="data_command", required=True, parser_class=_Parser)
    verify = data_sub.add_parser("verify", help="check that a data directory has every file the packs name")
    verify.add_argument("--data-dir", help="local data directory (else $OCTOGLOT_DATA, ./data)")
    return parser


def cmd_run(args: argparse.Namespace) -> int:
    from harness.core import languages
    from harness.core.tokens import parse_lengths
    from harness.execution.plan import RunConfig
    from harness.execution.run import resume_config
    from harness.tasks import registry, suites

    if args.resume:
        return run_and_score(resume_config(Path(args.resume)), args.resume, resume=Path(args.resume))
    if not args.tasks and not args.suite:
        raise OctoglotError("run: give --tasks or --suite (see `octoglot tasks`)")
    limit = args.limit
    if args.suite:
        suite_tasks, suite_limits = suites.get_suite(args.suite)
        limit = suite_limits if limit is None else limit
    chosen = registry.parse_tasks(args.tasks) if args.tasks else suite_tasks
    chosen = check_sandbox(chosen, args.unsafe_exec, named=bool(args.tasks))
    config = RunConfig(model=args.model, model_args=args.model_args, tasks=chosen,
                       langs=languages.parse_langs(args.langs), limit=limit, seed=args.seed,
                       output=Path(args.output), data_dir=args.data_dir, batch_size=args.batch_size,
                       device=args.device, chat_template=args.apply_chat_template,
                       use_cache=args.use_cache, shared_prefix=args.shared_prefix, executor=args.executor,
                       ray_address=args.ray_address, ray_workers=args.ray_workers, draws=args.samples,
                       temperature=args.temperature, sandbox="unsafe" if args.unsafe_exec else "bubblewrap",
                       local_only=bool(args.suite) and not args.tasks and suites.SUITES[args.suite].source == "local",
                       context_lengths=parse_lengths(args.context_lengths))
    if args.executor != "ray" and (args.ray_address or args.ray_workers):
        raise OctoglotError("--ray-address/--ray-workers: only with --executor ray")
    return run_and_score(config, args.model)


def check_sandbox(chosen: list, unsafe: bool, named: bool) -> list:
    """Tasks whose responses are programs need the sandbox: a task named with --tasks fails without bwrap (one line
    naming the package), a suite leaves them out with a one-line note; --unsafe-exec runs them unsandboxed."""
    from harness.execution import sandbox

    code = [t.id for t in chosen if t.execute]
    if not code:
        return chosen
    if unsafe:
        print(f"octoglot: warning: --unsafe-exec: the programs of {', '.join(code)} run WITHOUT a sandbox (with the "
              "same limits, but the host's files and network reachable)", file=sys.stderr)
        return chosen
    try:
        sandbox.make("bubblewrap")
    except OctoglotError as exc:
        if named:
            raise
        print(f"octoglot: note: {', '.join(code)} left out of the suite: {exc}", file=sys.stderr)
        return [t for t in chosen if not t.execute]
    return chosen


def next_steps(run_dir: Path) -> list[str]:
    """The commands that look at a finished run: its leaderboard page, and a comparison with the most recent other
    run in the same output folder (a placeholder when there is none)."""
    import shlex

    siblings = run_dir.parent.iterdir() if run_dir.parent.is_dir() else []
    others = sorted((p for p in siblings if p.is_dir() and p != run_dir and (p / "results.json").is_file()),
                    key=lambda p: p.stat().st_mtime, reverse=True)
    here, report = shlex.quote(str(run_dir)), shlex.quote(str(run_dir / "report"))
    other = shlex.quote(str(others[0])) if others else "OTHER_RUN_DIR"
    return ["look at it:",
            f"  octoglot leaderboard {here} --out {report}   # tables and {run_dir / 'report' / 'index.html'}",
            f"  octoglot compare {other} {here}   # paired tests against another run of the same tasks"]


def run_and_score(config, label: str, resume: Path | None = None) -> int:
    """Execute the run, score it into results.json, print the table; 1 when a sample failed."""
    from harness.core.backend_verdicts import flag
    from harness.execution.run import execute
    from harness.reporting.terminal import print_table
    from harness.scoring.aggregate import result_line, write_results

    executed = execute(config, resume=resume, describe=result_line)
    scores = write_results(executed.run_dir, executed.units, executed.results)
    run_dir = executed.run_dir
    print_table(scores, title=f"{label}: primary metric (task × language)")
    print(f"run directory: {run_dir}")
    print("\n".join(next_steps(Path(run_dir))))
    warning = flag(executed.manifest.get("backend_check"))
    if warning:
        print(f"octoglot: warning: {warning}", file=sys.stderr)
    if executed.failed:
        print(f"octoglot: {executed.failed} sample(s) failed{first_error(executed)}; see 'error' in "
              f"{run_dir}/samples", file=sys.stderr)
        return 1
    return 0


def first_error(executed) -> str:
    """' (task/lang: the first recorded error)', so the one stderr line says what went wrong."""
    for unit, results in zip(executed.units, executed.results):
        error = next((r.error for r in results if r.error), None)
        if error:
            return f" (first: {unit.task.id}/{unit.lang}: {error})"
    return ""


def cmd_check_backend(args: argparse.Namespace) -> int:
    import json

    from harness.core import languages
    from harness.core.backend_verdicts import flag
    from harness.interop import backend_check
    from harness.tasks import registry

    tolerance = backend_check.TOLERANCE if args.tolerance is None else args.tolerance
    if not tolerance >= 0:
        raise OctoglotError(f"--tolerance: expected a non-negative number of nats, got {args.tolerance}")
    result = backend_check.check(args.model, args.model_args, args.reference, args.reference_args,
                                 registry.parse_tasks(args.tasks), languages.parse_langs(args.langs), args.limit,
                                 args.data_dir, args.seed, args.batch_size, args.device, tolerance)
    print(json.dumps(result, indent=2, ensure_ascii=False) if args.format == "json" else backend_check.markdown(result))
    line = flag(result)
    if line:
        print(f"octoglot: {line}", file=sys.stderr)
        return 1
    return 0


def cmd_tasks(args: argparse.Namespace) -> int:
    from harness.core.languages import LANGUAGES
    from harness.tasks import data, packs
    from harness.tasks.registry import all_tasks

    data_dir = data.resolve_data_dir(args.data_dir)
    all_packs = packs.all_packs()
    width = max(14, *(len(t) + 2 for t in all_tasks()))
    header = f"{'task':<{width}}" + "".join(f"{code:>8}" for code in LANGUAGES) + "  description"
    print(header)
    for task in all_tasks().values():
        cells = []
        for code in LANGUAGES:
            entry = all_packs[code].tasks.get(task.id)
            cells.append("-" if entry is None else data.availability(entry, data_dir))
        print(f"{task.id:<{width}}" + "".join(f"{c:>8}" for c in cells) + f"  {task.description}")
    where = f"{data_dir.path} (from {data_dir.origin})" if data_dir else "none: tasks load from the hub"
    print(f"\nlocal: file present in the data directory; hub: read from the Hugging Face hub; -: not covered\n"
          f"data directory: {where}")
    return 0


def cmd_data_verify(args: argparse.Namespace) -> int:
    from harness.tasks import data, packs

    data_dir = data.resolve_data_dir(args.data_dir)
    if data_dir is None:
        raise OctoglotError("data verify: no data directory: pass --data-dir or set $OCTOGLOT_DATA")
    entries = [(code, task, entry) for code, pack in packs.all_packs().items() for task, entry in pack.tasks.items()]
    problems, warnings = data.verify(data_dir, entries)
    for line in problems:
        print(f"problem: {line}")
    for line in warnings:
        print(f"warning: {line}")
    checked = sum(e.local is not None for _, _, e in entries)
    print(f"{data_dir.path}: {checked} pack files checked: {len(problems)} problem(s), {len(warnings)} warning(s)")
    return 1 if problems else 0


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        if args.command == "run":
            return cmd_run(args)
        if args.command == "tasks":
            return cmd_tasks(args)
        if args.command == "leaderboard":
            from harness.reporting import writers

            return writers.main(args)
        if args.command == "export":
            from harness.interop import export

            return export.main(args)
        if args.command == "validate":
            from harness.interop import validate

            return validate.main(args)
        if args.command == "check-backend":
            return cmd_check_backend(args)
        if args.command == "compare":
            from harness.reporting import compare

            return compare.main(args)
        return cmd_data_verify(args)
    except OctoglotError as exc:
        print(f"octoglot: error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:  # a file that cannot be written (disk full, read-only): one line too
        where = f"{exc.filename}: " if exc.filename else ""
        print(f"octoglot: error: {where}{exc.strerror or exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("octoglot: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())

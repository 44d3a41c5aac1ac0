"""``octoglot leaderboard``: comparison tables from stored run directories (no model).

What goes into a table (every fact read from the run directories, never from today's task registry)
- Each task's primary metric (the score row marked ``primary``), on a 0–100 scale: a metric recorded on a 0–1
  scale × 100, one recorded on 0–100 (chrF++, BLEU) as it is.
- A cell: the score, its 95% CI (the row's ``ci95`` when stored, else value ± 1.96 · stderr) and its rank among the
  models in that column (1 = best, the lowest value first where the metric's lower values are better; ties share
  the lower rank: 1, 1, 3; values are compared at 9 decimals). Intervals are clipped to [0, 100].
- Like with like: in each (task, language) the reference setting is the comparable key (``runs.comparable_key``:
  task version, prompt hash, data checksum/revision, item limit, seed, generation settings, language detector)
  that most runs share (a tie goes to the run listed first). A cell with another key is marked † with the reason
  (``runs.mismatch``), shown, never ranked and left out of every average.
- A cell whose run recorded model errors on some of its samples is marked ✗ with the count: its score covers
  only the samples that were answered, so it is shown, never ranked and left out of every average.
- Averages over tasks leave out tasks whose primary metric is better when lower (a note says which).
- Averages are macro averages: per task, the mean over its languages; overall, the mean over tasks of those task
  means (each task weighs the same, each language weighs the same within a task). Their CI comes from draws
  made within each (task, language) cell (``cell_draws``: ``statistics.cell_draws`` over the cell's stored
  sample records), averaged draw by draw exactly as the scores are averaged; the interval is the 2.5th–97.5th
  percentiles, clipped to [0, 100], and the average's ``stderr`` the draws' standard deviation. A normal
  approximation (mean ± 1.96·√(Σ se²)/k) collapses to zero width where every item of every language is wrong, as
  a tiny model's MGSM is: 0.0 [0.0, 0.0] while each language's own interval reaches 65.8. An average over fewer
  cells than other models have (a cell missing or †) is marked ‡, shown and never ranked.
- One model label with several item limits: the runs are kept as separate rows, labelled ``model [limit N]``, and
  like-with-like marking then applies between those rows as between models. The same row label scoring the same
  (task, language) in two run folders is refused with an error naming both folders.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from harness.core.backend_verdicts import flag
from harness.core.errors import OctoglotError
from harness.core.languages import LANGUAGES, ordered
from harness.reporting import long_context, tool_calls
from harness.reporting.runs import Run, comparable_key, corpus_scorer, load_run, mismatch
from harness.scoring import statistics
from harness.scoring.statistics import Z95

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

MISMATCH, PARTIAL, MISSING, FAILED = "†", "‡", "–", "✗"
SCALE = ("All scores on a 0–100 scale: metrics a run records on a 0–1 scale (accuracy, exact match, F1, pass "
         "rates) × 100, those it records on 0–100 (chrF++, BLEU) as they are.")
CELL = ("Each cell: score [95% CI] #rank among the models in its column (1 = best; ties share a rank).")
CELL_CI = ("CI of one language's score, as its run stored it: Wilson's score interval for 0/1 metrics, mean ± 1.96 se "
           "for other per-item metrics, a percentile bootstrap over segments for corpus metrics; all clipped to "
           "0–100.")
AVERAGE_CI = ("CI of an average: 1,000 draws per (task, language) cell, averaged draw by draw like the scores, "
              "2.5–97.5 percentiles clipped to 0–100. A cell's draws: 0/1 metrics from Jeffreys' Beta(s + ½, "
              "n − s + ½) (a bootstrap over items would collapse to a point when all items are wrong), other per-item "
              "metrics by a bootstrap over items, corpus metrics (chrF++, BLEU) over segments; a cell whose run "
              "stored no per-item values for it: normal draws from its standard error.")
RESAMPLES = 1000
LEGEND = [
    f"{MISMATCH} not comparable with the reference setting of its (task, language): shown, not ranked, "
    "left out of every average (reasons below).",
    f"{FAILED} k: k of the cell's samples failed with a model error; the score covers the others: shown, not "
    "ranked, left out of every average.",
    f"{PARTIAL} an average over fewer cells than other models have (a cell missing, {MISMATCH} or {FAILED}): "
    "shown, not ranked.",
    f"{MISSING} no score.",
]
COLUMNS = ["model", "column", "value", "stderr", "ci_low", "ci_high", "n", "rank", "mark", "note"]


@dataclass
class Table:
    key: str  # "overall", "languages", "task:<id>", "lang:<code>"
    title: str
    caption: str
    cells: pd.DataFrame  # long format, COLUMNS
    models: list[str]  # row order
    columns: list[str]  # column order

    def values(self) -> pd.DataFrame:
        """Model × column of the numeric scores (NaN where there is none)."""
        wide = self.cells.pivot(index="model", columns="column", values="value")
        return wide.reindex(index=self.models, columns=self.columns).rename_axis(index="model", columns=None)

    def display(self) -> pd.DataFrame:
        """Model × column of formatted cells: ``45.0 [40.1, 49.9] #1``, a mark instead of the rank, or –."""
        text = self.cells.assign(text=self.cells.apply(format_cell, axis=1))
        wide = text.pivot(index="model", columns="column", values="text")
        wide = wide.reindex(index=self.models, columns=self.columns).fillna(MISSING)
        return wide.rename_axis(index="model", columns=None)


@dataclass
class Leaderboard:
    overall: Table  # model × task means over languages, plus the overall mean over tasks
    languages: Table  # model × language means over tasks (the heatmap)
    by_task: dict[str, Table]  # model × language of the task's primary metric, plus the mean
    by_lang: dict[str, Table]  # model × task at one language, plus the mean over tasks
    notes: list[str]  # legend, then one line per † cell
    runs: pd.DataFrame  # model (row label), folder, limit, created, args (the model's, credentials redacted)
    # parallel tasks with a 0/1 primary metric: per model and language, the paired difference from English on the
    # items both scored (VS_ENGLISH_COLUMNS)
    vs_english: pd.DataFrame = None
    # tasks whose responses are programs: per model and language, how many programs ended how (OUTCOME_COLUMNS)
    outcomes: pd.DataFrame = None
    # instruction following: per model, task, language and instruction type, the accuracy and count (INSTRUCTION_COLUMNS)
    instructions: pd.DataFrame = None
    # long context (``harness.reporting.long_context``): "lengths", "depths", "effective", "fertility" frames
    context: dict[str, pd.DataFrame] | None = None
    # tool calling (``harness.reporting.tool_calls``): accuracy, failures and argument language per category and
    # per request language (tool_calls.COLUMNS)
    tool_calls: pd.DataFrame = None
    loaded: list[Run] | None = None  # the runs read, in row order (the explorer reuses them and their records)

    def tables(self) -> list[Table]:
        return [self.overall, self.languages, *self.by_task.values(), *self.by_lang.values()]


VS_ENGLISH_COLUMNS = ["model", "task", "lang", "n", "en", "score", "delta", "b", "c", "p_value"]
OUTCOME_ORDER = ("passed", "failed", "error", "timeout", "memory", "sandbox_violation", "data_error", "model error")
OUTCOME_COLUMNS = ["model", "task", "lang", *OUTCOME_ORDER]
VS_ENGLISH = ("Paired difference from English: on the items a model scored in both English and the language (same "
              "ids), the share solved in the language minus in English (× 100), with the exact McNemar p-value "
              "(b: right in English only, c: right in the language only); not corrected for multiple tests.")
INSTRUCTION_COLUMNS = ["model", "task", "lang", "instruction", "n", "strict", "loose"]
INSTRUCTIONS = ("Instruction types: for every instruction type, how often it was followed (strict and loose, × 100) "
                "and how often it was asked, per language: a weak checker or a hard instruction shows as one row.")
OUTCOMES = ("How each program ended (code tasks): passed, failed (a test's assertion), error (any other exception or "
            "crash), timeout, memory, sandbox_violation (network, files, processes, output beyond the sandbox's "
            "limits), data_error (the item is broken in the data: never run, not counted), model error (no response).")


def format_cell(row) -> str:
    core = f"{row.value:.1f}"
    if not (math.isnan(row.ci_low) or math.isnan(row.ci_high)):
        core += f" [{row.ci_low:.1f}, {row.ci_high:.1f}]"
    return f"{core} #{int(row['rank'])}" if row["rank"] == row["rank"] else f"{core} {row.mark}"


# ---------------------------------------------------------------- reading runs


def _limit_text(limit) -> str:
    if isinstance(limit, dict):
        return "limit " + ", ".join(f"{t}={'all' if v is None else v}" for t, v in sorted(limit.items()))
    return "no limit" if limit is None else f"limit {limit}"


def row_labels(runs: list[Run]) -> list[str]:
    """The model label of each run, with ``[limit …]`` added where one model was run with several limits."""
    limits: dict[str, set[str]] = {}
    for run in runs:
        limits.setdefault(run.model, set()).add(_limit_text(run.manifest.get("limit")))
    return [f"{run.model} [{_limit_text(run.manifest.get('limit'))}]" if len(limits[run.model]) > 1 else run.model
            for run in runs]


def _score_rows(runs: list[Run], labels: list[str]) -> list[dict]:
    rows, seen = [], {}
    for index, (run, label) in enumerate(zip(runs, labels, strict=True)):
        for score in run.scores:
            if not score["primary"] or score.get("value") is None:
                continue
            task = score["task"]
            where = (label, task, score["lang"])
            if where in seen:
                raise OctoglotError(f"run folders {runs[seen[where]].path} and {run.path} both score {label} on "
                                    f"{task}/{score['lang']} with the same limit: pass only one of them")
            seen[where] = index
            factor = 100.0 / score["scale"]
            value = score["value"] * factor
            stderr = score["stderr"] * factor if score.get("stderr") is not None else math.nan
            if score.get("ci95"):
                low, high = (bound * factor for bound in score["ci95"])
            else:
                low, high = value - Z95 * stderr, value + Z95 * stderr
            errors = run.n_errors(task, score["lang"])
            mark, note = (FAILED, f"{errors} sample(s) failed with a model error") if errors else ("", "")
            rows.append({"model": label, "task": task, "lang": score["lang"], "metric": score["metric"],
                         "kind": score["kind"], "scale": score["scale"], "key": (label, task, score["lang"]),
                         "higher": bool(score["higher_is_better"]), "value": value, "stderr": stderr, "ci_low": low,
                         "ci_high": high, "n": score.get("n"), "errors": errors, "run": index, "mark": mark,
                         "note": note})
    return rows


def _mark_mismatches(cells: pd.DataFrame, runs: list[Run]) -> list[str]:
    """Mark † every cell whose comparable key differs from the one most runs share; one note per cell."""
    notes = []
    for (task, lang), group in cells.groupby(["task", "lang"], sort=False):
        keys = [comparable_key(runs[r], task, lang) for r in group["run"]]
        shared = [sum(key == other for other in keys) for key in keys]
        reference = runs[group["run"].iloc[shared.index(max(shared))]]  # a tie goes to the run listed first
        for index, run_index in zip(group.index, group["run"], strict=True):
            reason = mismatch(reference, runs[run_index], task, lang)
            metrics = set(group["metric"])
            if not reason and len(metrics) > 1:
                reason = f"primary metrics differ ({', '.join(sorted(metrics))})"
            if reason:
                note = f"{reason} vs the reference run {reference.path.name}"
                cells.loc[index, ["mark", "note"]] = [MISMATCH, note]
                notes.append(f"{MISMATCH} {cells.loc[index, 'model']}, {task}/{lang} "
                             f"(run {runs[run_index].path.name}): {note}")
    return notes


# ---------------------------------------------------------------- averages and ranks


def cell_draws(run: Run, row: dict) -> np.ndarray | None:
    """``RESAMPLES`` draws of one cell's score on the 0–100 scale (see ``AVERAGE_CI``), from the run's sample
    records when they hold the per-item values behind the stored score (as many records with the metric as the row's
    ``n``), else normal draws from the stored standard error; None when neither exists."""
    import numpy as np

    task, lang, metric, kind = row["task"], row["lang"], row["metric"], row["kind"]
    factor, seed = 100.0 / row["scale"], statistics.cell_seed(task, lang)
    records = [r for r in run.samples(task, lang) if r.get("error") is None]
    draws = None
    if kind == "corpus":
        scorer = corpus_scorer(task, metric)
        stats = [(r.get("statistics") or {}).get(metric) for r in records]
        if scorer is not None and stats and all(s is not None for s in stats) and len(stats) == row["n"]:
            draws = statistics.cell_draws("corpus", stats=stats, score_fn=scorer, resamples=RESAMPLES, seed=seed)
    else:
        # the samples the stored score averaged: those with the metric (an item broken in the data has none)
        values = [v for r in records if (v := (r.get("metrics") or {}).get(metric)) is not None]
        if values and len(values) == row["n"]:
            binary = kind == "binary" and all(v in (0, 1) for v in values)
            draws = statistics.cell_draws("binary" if binary else "continuous", values, resamples=RESAMPLES,
                                          seed=seed)
    if draws is not None:
        return draws * factor
    if math.isnan(row["stderr"]):
        return None
    return np.random.default_rng(seed).normal(row["value"], row["stderr"], RESAMPLES)



def error_notes(cells: pd.DataFrame) -> list[str]:
    return [f"{FAILED} {row.model}, {row.task}/{row.lang}: {row.errors} sample(s) failed with a model error; the "
            f"score covers the {row.n} answered" for row in cells[cells["errors"] > 0].itertuples()]


def backend_notes(runs: list[Run], labels: list[str]) -> list[str]:
    """One note per run whose backend failed or disagreed with its reference (``octoglot check-backend``)."""
    return [f"⚠ {label} (run {run.path.name}): {line}" for run, label in zip(runs, labels)
            if (line := flag(run.manifest.get("backend_check")))]


def _mean(frame: pd.DataFrame, by: str, over: str, noun: str, draws: dict) -> pd.DataFrame:
    """Per (model, ``by``): the mean over ``over``, its CI from the averaged draws of the averaged rows (``draws``
    by row ``key``; the new rows' draws are added under their own keys); ‡ where the model lacks an ``over`` value
    that another model has, or where an averaged score is itself ‡. ``frame`` holds no † rows."""
    import pandas as pd

    expected = frame.groupby(by)[over].agg(set)
    rows = []
    for (model, key), group in frame.groupby(["model", by], sort=False):
        k = len(group)
        value = group["value"].mean()
        parts = [draws.get(part) for part in group["key"]]
        low = high = se = math.nan
        if all(part is not None for part in parts):
            mean_draws = statistics.macro_draws(parts)
            draws[(model, by, key)] = mean_draws
            low, high = statistics.percentile_interval(mean_draws, 0.0, 100.0)
            # where every cell is at a bound (all items wrong, or all right) the draws lie inside the range and the
            # percentiles miss the observed 0 or 100: the interval is closed to it, as Brown, Cai and DasGupta close
            # Jeffreys' interval at 0 when nothing succeeded
            low, high = min(low, value), max(high, value)
            se = float(mean_draws.std(ddof=1))
        missing = sorted(expected[key] - set(group[over]))
        inherited = sorted(group.loc[group["mark"] != "", over])
        note = ""
        if missing or inherited:
            note = f"mean over {k} of {len(expected[key])} {noun}"
            note += f"; missing or not comparable: {', '.join(missing)}" if missing else ""
            note += f"; partial averages included: {', '.join(inherited)}" if inherited else ""
        rows.append({"model": model, by: key, "key": (model, by, key), "value": value, "stderr": se, "ci_low": low,
                     "ci_high": high, "n": group["n"].sum(min_count=k), "higher": group["higher"].all(),
                     "mark": PARTIAL if note else "", "note": note})
    return pd.DataFrame(rows, columns=["model", by, "key", "value", "stderr", "ci_low", "ci_high", "n", "higher",
                                       "mark", "note"])


def _rank(long: pd.DataFrame) -> pd.DataFrame:
    """Rank within each column among unmarked cells: 1 = best (the highest value, or the lowest where lower is
    better), ties share the lower rank."""
    ok = long["mark"] == ""
    signed = long["value"].round(9).where(long["higher"], -long["value"].round(9))
    ranks = signed[ok].groupby(long.loc[ok, "column"]).rank(ascending=False, method="min")
    return long.assign(rank=ranks.reindex(long.index))


def _table(key: str, title: str, caption: str, parts: list[pd.DataFrame], column: list[str], models: list[str],
           columns: list[str]) -> Table:
    import pandas as pd

    pieces = [part.assign(column=part[name]) for part, name in zip(parts, column, strict=True) if not part.empty]
    if not pieces:  # e.g. the averages over tasks when every task is better when lower
        return Table(key, title, caption, pd.DataFrame(columns=COLUMNS), models, [])
    long = pd.concat(pieces, ignore_index=True)
    long = _rank(long)[COLUMNS]
    long[["ci_low", "ci_high"]] = long[["ci_low", "ci_high"]].clip(0, 100)  # every primary metric lies in [0, 100]
    present = set(long["column"])
    return Table(key, title, caption, long, models, [c for c in columns if c in present])


# ---------------------------------------------------------------- build


def build(run_dirs: list[Path]) -> Leaderboard:
    """Read the run folders and compute every table; writes nothing."""
    import pandas as pd

    if not run_dirs:
        raise OctoglotError("leaderboard: give at least one run folder")
    runs = [load_run(path) for path in run_dirs]
    labels = row_labels(runs)
    cells = pd.DataFrame(_score_rows(runs, labels))
    if cells.empty:
        raise OctoglotError(f"leaderboard: no primary-metric scores in {', '.join(str(p) for p in run_dirs)}")
    notes = _mark_mismatches(cells, runs) + error_notes(cells) + backend_notes(runs, labels)
    comparable = cells[cells["mark"] == ""]
    draws = {row.key: cell_draws(runs[row.run], row._asdict()) for row in comparable.itertuples()}
    task_means = _mean(comparable, "task", "lang", "languages", draws)
    lower = sorted(set(cells.loc[~cells["higher"], "task"]))
    if lower:
        notes.append(f"Lower is better for {', '.join(lower)}: left out of the averages over tasks.")
    lang_means = _mean(comparable[comparable["higher"]], "lang", "task", "tasks", draws)
    # astype(bool): an empty object column would otherwise be read as a list of column names
    overall = _mean(task_means[task_means["higher"].astype(bool)].assign(all="overall"), "all", "task", "tasks",
                    draws)

    ranked = overall.assign(unranked=overall["mark"] != "").sort_values(["unranked", "value"],
                                                                         ascending=[True, False])
    models = list(dict.fromkeys([*ranked["model"], *labels]))
    langs = ordered(cells["lang"])
    tasks = list(dict.fromkeys(task for run in runs for task in run.tasks() if task in set(cells["task"])))
    tasks += sorted(set(cells["task"]) - set(tasks))
    average = (f"Macro average: per task, the mean over its languages; overall = the mean over tasks of those task "
               f"means (each task weighs the same). {CELL} {AVERAGE_CI}")
    board_overall = _table("overall", "Overall: macro average over languages per task, then over tasks", average,
                           [task_means, overall], ["task", "all"], models, [*tasks, "overall"])
    board_langs = _table("languages", "Per language: mean over tasks",
                         f"Mean over tasks of each task's primary metric, per language. {CELL} {AVERAGE_CI}",
                         [lang_means], ["lang"], models, langs)
    by_task = {}
    for task in tasks:
        primary = "/".join(dict.fromkeys(cells.loc[cells["task"] == task, "metric"]))
        by_task[task] = _table(
            f"task:{task}", f"{task}: {primary} by language",
            f"{task} ({primary}) by model and language; mean = macro average over languages. {CELL} {CELL_CI} "
            f"{AVERAGE_CI}",
            [cells[cells["task"] == task], task_means[task_means["task"] == task].assign(mean="mean")],
            ["lang", "mean"], models, [*langs, "mean"])
    by_lang = {}
    for lang in langs:
        name = LANGUAGES[lang].english_name if lang in LANGUAGES else lang
        by_lang[lang] = _table(
            f"lang:{lang}", f"{name} ({lang}): primary metric by task",
            f"{name}: each task's primary metric by model; mean = mean over tasks. {CELL} {CELL_CI} {AVERAGE_CI}",
            [cells[cells["lang"] == lang], lang_means[lang_means["lang"] == lang].assign(mean="mean")],
            ["task", "mean"], models, [*tasks, "mean"])
    run_table = pd.DataFrame({"model": labels, "folder": [str(r.path) for r in runs],
                              "limit": [_limit_text(r.manifest.get("limit")) for r in runs],
                              "created": [r.manifest.get("created", "") for r in runs],
                              "args": [json.dumps(r.manifest.get("model", {}).get("args", {}), ensure_ascii=False)
                                       for r in runs]})
    return Leaderboard(board_overall, board_langs, by_task, by_lang, [*LEGEND, *notes], run_table,
                       _vs_english(runs, labels), _outcomes(runs, labels), _instructions(runs, labels),
                       _context(runs, labels), tool_calls.slices(runs, labels), runs)


def _context(runs: list[Run], labels: list[str]) -> dict[str, pd.DataFrame] | None:
    """The long-context frames, when some run has sized units."""
    lengths = long_context.by_length(runs, labels)
    if lengths.empty:
        return None
    return {"lengths": lengths, "depths": long_context.by_depth(runs, labels),
            "effective": long_context.effective_lengths(lengths), "fertility": long_context.fertility(runs, labels)}


def _instructions(runs: list[Run], labels: list[str]) -> pd.DataFrame:
    """Accuracy and count per instruction type, for the units whose records carry instruction verdicts."""
    import pandas as pd

    rows = []
    for run, label in zip(runs, labels, strict=True):
        for (task, lang), unit in run.units.items():
            if unit.get("kind") != "generate" or run.version < 2:
                continue
            tally: dict[str, list[int]] = {}
            for record in run.samples(task, lang):
                for verdict in ((record.get("details") or {}).get("instructions") or []):
                    counts = tally.setdefault(verdict["id"].split(":", 1)[1] if verdict["id"][:3] in
                                              ("en:", "fr:", "es:") else verdict["id"], [0, 0, 0])
                    counts[0] += 1
                    counts[1] += bool(verdict["strict"])
                    counts[2] += bool(verdict["loose"])
            rows += [{"model": label, "task": task, "lang": lang, "instruction": name, "n": n, "strict": strict / n,
                      "loose": loose / n} for name, (n, strict, loose) in sorted(tally.items())]
    return pd.DataFrame(rows, columns=INSTRUCTION_COLUMNS)


def _vs_english(runs: list[Run], labels: list[str]) -> pd.DataFrame:
    import pandas as pd

    from harness.reporting import consistency

    rows = []
    for run, label in zip(runs, labels, strict=True):
        for task in run.tasks():
            langs = {lang for t, lang in run.units if t == task}
            rows += [{"model": label, **row} for row in consistency.vs_english(run, task, langs)]
    return pd.DataFrame(rows, columns=VS_ENGLISH_COLUMNS)


def _outcomes(runs: list[Run], labels: list[str]) -> pd.DataFrame:
    """Counts of the programs' outcomes, for the units whose records carry executions (code tasks)."""
    import pandas as pd

    rows = []
    for run, label in zip(runs, labels, strict=True):
        for (task, lang), unit in run.units.items():
            if unit.get("kind") != "generate" or run.version < 2:
                continue
            records = run.samples(task, lang)
            if not any(r.get("execution") or r.get("draws") for r in records):
                continue
            counts = dict.fromkeys(OUTCOME_ORDER, 0)
            for record in records:
                if record.get("error"):
                    counts["model error"] += 1
                for draw in record.get("draws") or [record]:
                    outcome = (draw.get("execution") or {}).get("outcome")
                    if outcome in counts:
                        counts[outcome] += 1
            rows.append({"model": label, "task": task, "lang": lang, **counts})
    return pd.DataFrame(rows, columns=OUTCOME_COLUMNS)

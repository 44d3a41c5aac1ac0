"""The sample explorer (``explorer.html``): every sample of every run, written by ``octoglot leaderboard`` next
to ``index.html``, whose score cells link into it (``link``).

One self-contained page: inline CSS and JavaScript only, no requests (the Content-Security-Policy of index.html).
The samples travel as JSON in a ``<script type="application/json">`` block with ``<``, ``>``, ``&``, U+2028 and
U+2029 written as ``\\u003c`` etc., so no run text can end the block; the page reads it with ``JSON.parse`` and
puts every run string into the document as text (``textContent``), never as HTML.

What a sample shows: model (the leaderboard's row label), run folder, task, language, item id, prompt and choices
(recorded by runs written since the explorer exists; older runs say "not recorded"), response (log-likelihood
tasks: the option with the highest log-likelihood), target, extracted answer, every metric, detected language,
model error and, for code tasks, the program's outcome and stderr tail.

Outcome of a sample (the outcome filter), decided here, the first rule that applies:

- ``error``: the record carries a model error (such a sample is never scored);
- ``other language``: the sample expects its answer in a language and the detector saw another one: the record's
  metric ``lang_fidelity`` is 0. The worker records ``lang_fidelity`` exactly when a sample names its answer
  language (English for translations into English; none for answers in code or tool calls), so which language was
  expected is read from the run, never decided here;
- ``scored``: the task's primary metric is a corpus metric (chrF++, BLEU) and the run records no per-sample 0/1
  metric for the task besides ``lang_fidelity``: no right or wrong per sample;
- ``unscored``: the record has no value of the primary metric (an item broken in the data: never scored);
- ``correct`` / ``wrong``: the primary metric has its best value (binary: 1; continuous, e.g. F1: full marks, the
  metric's scale; 0 where lower is better) or not.

Tasks whose corpus primary metric averages per-sample verdicts (IFEval's ``ifeval`` over instructions, BFCL's
``bfcl`` over categories) are judged by their first per-sample 0/1 metric as the run lists them (``verdict_metric``:
IFEval's ``prompt_strict``, BFCL's ``accuracy``); translation tasks, whose only 0/1 metric is ``lang_fidelity``, are
``scored``. Every per-sample metric shows with every sample.

Long texts are cut in the middle, head and tail kept, with a marker naming the file that holds the whole text:
responses, targets and other texts beyond ``TEXT_CAP`` characters, prompts and choices beyond ``PROMPT_CAP``
(long-context prompts run to 500 KB). Prompts and choice lists are stored once and referred to by index (the
same prompt is given to every model), model, task and language by index into their lists.
"""

from __future__ import annotations

import json
import math
from html import escape
from pathlib import Path
from urllib.parse import quote

from harness.core.languages import ordered
from harness.reporting.leaderboard import row_labels
from harness.reporting.runs import Run, load_run

TEXT_CAP = 100_000
PROMPT_CAP = 20_000
CORRECT, WRONG, ERROR, OTHER_LANGUAGE, SCORED, UNSCORED = (
    "correct", "wrong", "error", "other language", "scored", "unscored")
OUTCOMES = (CORRECT, WRONG, OTHER_LANGUAGE, ERROR, SCORED, UNSCORED)
NOT_RECORDED = "(not recorded by this run)"
PAGE = "explorer.html"
CSP = "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'"
ABOUT = (
    "Every sample of every run. Outcome: correct or wrong by the task's primary metric (continuous metrics such as "
    "F1: correct only with full marks; where the primary metric averages per-sample verdicts, as IFEval's and "
    "BFCL's do, by the first per-sample 0/1 metric: prompt_strict, accuracy); error: the model failed (never "
    "scored); other language: the answer was expected in a language and the detector saw another one; scored: the "
    "primary metric is a corpus metric (chrF++, BLEU), no right or wrong per sample; unscored: no value of the "
    "primary metric (an item broken in "
    f"the data). Texts longer than {TEXT_CAP:,} characters (prompts and choices: {PROMPT_CAP:,}) are cut in the "
    "middle with a marker naming the sample file that holds the whole text. Click an item id for the same item in "
    "every language and model. The search matches id, prompt, response, target and extracted answer, ignoring case.")


# ---------------------------------------------------------------- one sample


def verdict_metric(run: Run, task: str) -> tuple[str | None, dict | None]:
    """The metric that says right or wrong per sample, with its facts: the primary metric, or where that is a
    corpus metric the run's first other 0/1 metric of the task but ``lang_fidelity`` (module docstring)."""
    primary = run.primary(task)
    facts = run.facts(task, primary) if primary else None
    if facts is None or facts["kind"] != "corpus":
        return primary, facts
    names = dict.fromkeys(s["metric"] for s in run.scores if s["task"] == task)
    for name in names:
        other = run.facts(task, name)
        if name != "lang_fidelity" and other and other["kind"] == "binary":
            return name, other
    return primary, facts


def outcome(record: dict, facts: dict | None, primary: str | None) -> str:
    """The sample's outcome (module docstring): error, other language, scored, unscored, correct or wrong.
    ``primary``/``facts``: the metric that judges the sample (``verdict_metric``) and its facts."""
    metrics = record.get("metrics") or {}
    if record.get("error"):
        return ERROR
    if metrics.get("lang_fidelity") == 0:
        return OTHER_LANGUAGE
    if facts is not None and facts["kind"] == "corpus":
        return SCORED
    value = metrics.get(primary) if primary else None
    if facts is None or value is None:
        return UNSCORED
    best = facts["scale"] if facts["higher_is_better"] else 0
    return CORRECT if math.isclose(value, best, abs_tol=1e-9) else WRONG


def cap(text: str | None, limit: int, where: str) -> str | None:
    """``text`` cut to about ``limit`` characters: head and tail kept, a marker in between naming ``where`` the
    whole text is."""
    if text is None or len(text) <= limit:
        return text
    keep = limit // 2
    cut = len(text) - 2 * keep
    return f"{text[:keep]}\n[… {cut:,} characters cut; the whole text is in {where} …]\n{text[-keep:]}"


def as_text(value) -> str | None:
    """A recorded value as shown: strings as they are, several gold answers joined with `` | ``, others as JSON
    or ``str``."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, (list, tuple)):
        return " | ".join(str(v) for v in value)
    return json.dumps(value, ensure_ascii=False) if isinstance(value, dict) else str(value)


def _option(index: int | None, choices: list | None) -> str | None:
    if index is None:
        return None
    text = choices[index] if choices and 0 <= index < len(choices) else None
    return f"option {index}" + (f": {text}" if text is not None else "")


def picked(loglikelihoods: list | None) -> int | None:
    """The option a log-likelihood sample chose: the one with the highest log-likelihood."""
    if not loglikelihoods:
        return None
    return max(range(len(loglikelihoods)), key=lambda i: loglikelihoods[i])


def _metric_value(value):
    """A metric as the page shows it: 4 decimals; NaN and infinities as text (JSON has no such numbers)."""
    if isinstance(value, float):
        return round(value, 4) if math.isfinite(value) else str(value)
    return value


# ---------------------------------------------------------------- all samples


class _Interned:
    """Strings (or lists of strings) stored once, referred to by index."""

    def __init__(self):
        self.items: list = []
        self.index: dict = {}

    def add(self, value) -> int:
        if value is None:
            return -1
        key = json.dumps(value, ensure_ascii=False) if isinstance(value, list) else value
        if key not in self.index:
            self.index[key] = len(self.items)
            self.items.append(value)
        return self.index[key]


COLUMNS = ("run", "task", "lang", "id", "out", "prompt", "choices", "gold", "pick", "response", "target",
           "extracted", "metrics", "detected", "error", "exec")


class _Builder:
    """Collects the samples of every run into column arrays (``COLUMNS``) and the lists they index into."""

    def __init__(self):
        self.columns: dict[str, list] = {name: [] for name in COLUMNS}
        self.prompts, self.choice_lists = _Interned(), _Interned()
        self.metrics: dict[str, int] = {}
        self.tasks: dict[str, dict] = {}
        self.langs: set[str] = set()

    def unit(self, run_index: int, run: Run, task: str, lang: str) -> None:
        primary = run.primary(task)
        judge, facts = verdict_metric(run, task)
        info = self.tasks.setdefault(task, {"name": task, "parallel": False, "primary": primary})
        info["parallel"] = info["parallel"] or run.parallel(task)
        self.langs.add(lang)
        where = f"samples/{lang}/{task}.jsonl of run {run.path.name}"
        loglikelihood = run.units.get((task, lang), {}).get("kind") == "loglikelihood"
        for record in run.samples(task, lang):
            self.sample(run_index, task, lang, record, outcome(record, facts, judge), where, loglikelihood)

    def sample(self, run_index: int, task: str, lang: str, record: dict, verdict: str, where: str,
               loglikelihood: bool) -> None:
        col = self.columns
        choices = record.get("choices")
        choices = [cap(str(c), PROMPT_CAP, where) for c in choices] if isinstance(choices, list) else None
        is_ll = loglikelihood or record.get("loglikelihoods") is not None
        target = record.get("target")
        gold = target if is_ll and isinstance(target, int) and not isinstance(target, bool) else None
        pick = picked(record.get("loglikelihoods")) if is_ll else None
        response = _option(pick, choices) if is_ll else as_text(record.get("response"))
        execution = record.get("execution") or None
        col["run"].append(run_index)
        col["task"].append(task)
        col["lang"].append(lang)
        col["id"].append(str(record.get("id")))
        col["out"].append(OUTCOMES.index(verdict))
        col["prompt"].append(self.prompts.add(cap(as_text(record.get("prompt")), PROMPT_CAP, where)))
        col["choices"].append(self.choice_lists.add(choices))
        col["gold"].append(gold)
        col["pick"].append(pick)
        col["response"].append(cap(response, TEXT_CAP, where))
        col["target"].append(cap(_option(gold, choices) if gold is not None else as_text(target), TEXT_CAP, where))
        col["extracted"].append(cap(as_text(record.get("extracted")), TEXT_CAP, where))
        col["metrics"].append([x for name, value in (record.get("metrics") or {}).items()
                               for x in (self.metrics.setdefault(name, len(self.metrics)), _metric_value(value))])
        col["detected"].append(as_text(record.get("detected_lang")))
        col["error"].append(cap(as_text(record.get("error")), TEXT_CAP, where))
        col["exec"].append(None if not isinstance(execution, dict) else
                           [execution.get("outcome"), cap(as_text(execution.get("detail")), TEXT_CAP, where),
                            cap(as_text(execution.get("stderr_tail")), TEXT_CAP, where)])

    def data(self, runs: list[Run], labels: list[str]) -> dict:
        """The page's data: lists, and the sample columns with task and language as indices into them."""
        models = list(dict.fromkeys(labels))
        langs = ordered(self.langs)
        tasks = list(self.tasks)
        columns = dict(self.columns)
        columns["task"] = _indices(columns["task"], tasks)
        columns["lang"] = _indices(columns["lang"], langs)
        return {"format_version": 1, "caps": {"text": TEXT_CAP, "prompt": PROMPT_CAP}, "not_recorded": NOT_RECORDED,
                "outcomes": list(OUTCOMES), "models": models,
                "runs": [{"folder": run.path.name, "model": models.index(label)} for run, label in zip(runs, labels)],
                "tasks": [self.tasks[t] for t in tasks], "langs": langs, "metrics": list(self.metrics),
                "prompts": self.prompts.items, "choices": self.choice_lists.items, "samples": columns}


def _indices(values: list[str], names: list[str]) -> list[int]:
    position = {name: i for i, name in enumerate(names)}
    return [position[v] for v in values]


def build(run_dirs: list[Path]) -> dict:
    """The explorer's data from the run folders (as stored; writes nothing)."""
    return from_runs([load_run(path) for path in run_dirs])


def from_runs(runs: list[Run]) -> dict:
    """The explorer's data from runs already read (the leaderboard's: their records are read once)."""
    labels = row_labels(runs)
    builder = _Builder()
    for index, run in enumerate(runs):
        for task in run.tasks():
            for lang in ordered(lang for t, lang in run.units if t == task):
                builder.unit(index, run, task, lang)
    return builder.data(runs, labels)


# ---------------------------------------------------------------- the page


def script_json(data: dict) -> str:
    """``data`` as JSON that is safe inside a script block: nothing in it can end the block or start markup
    (``<``, ``>``, ``&`` escaped), JavaScript line separators escaped, lone surrogates replaced."""
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    for char, escaped in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"), ("\u2028", "\\u2028"),
                          ("\u2029", "\\u2029")):
        text = text.replace(char, escaped)
    return text.encode("utf-8", "replace").decode("utf-8")


def link(model: str | None = None, task: str | None = None, lang: str | None = None) -> str:
    """The explorer's address filtered to a model, task and language (any may be left out), not yet
    HTML-escaped: ``explorer.html#model=…&task=…&lang=…`` with URL-encoded values."""
    parts = [f"{key}={quote(value, safe='')}" for key, value in (("model", model), ("task", task), ("lang", lang))
             if value is not None]
    return PAGE + ("#" + "&".join(parts) if parts else "")


def render(data: dict) -> str:
    """The whole page."""
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{CSP}">
<title>octoglot sample explorer</title>
<style>{CSS}</style>
</head>
<body>
<h1>octoglot sample explorer</h1>
<nav><a href="index.html">leaderboard</a></nav>
<p class="about">{escape(ABOUT)}</p>
<div id="filters">
<label>model <select id="f-model"></select></label>
<label>task <select id="f-task"></select></label>
<label>language <select id="f-lang"></select></label>
<label>outcome <select id="f-outcome"></select></label>
<label>search <input id="f-q" type="search" placeholder="id, prompt, response, target, answer"></label>
</div>
<p id="tally"><strong id="count"></strong> <span id="outcome-counts"></span></p>
<p id="note"></p>
<main id="list-view">
<div class="pager"><button id="prev" type="button">previous</button> <span id="page"></span>
<button id="next" type="button">next</button></div>
<div id="list"></div>
</main>
<section id="parallel" hidden>
<button id="back" type="button">back to the list</button>
<h2 id="p-title"></h2>
<p id="p-note"></p>
<table id="p-grid"></table>
</section>
<script type="application/json" id="data">{script_json(data)}</script>
<script>{JS}</script>
</body>
</html>
"""


def page(runs: list[Run]) -> str:
    """``explorer.html`` for the runs."""
    return render(from_runs(runs))


CSS = """
body { font: 14px/1.4 system-ui, sans-serif; margin: 1.5em; color: #222; }
.about { max-width: 70em; color: #555; font-size: 12px; }
#filters label { margin-right: 1em; }
#filters select, #filters input { max-width: 18em; }
#outcome-counts button { margin-left: .4em; }
.pager { margin: .6em 0; }
.sample { border: 1px solid #ccc; border-radius: 4px; padding: .4em .6em; margin: .5em 0; }
.head span { margin-right: .8em; }
.head .model { font-weight: bold; }
.field { margin: .15em 0; }
.field > .name { color: #555; margin-right: .4em; }
pre { white-space: pre-wrap; word-break: break-word; margin: .2em 0 .2em 1em; max-height: 40em; overflow: auto;
      background: #f7f7f7; padding: .3em; }
summary { cursor: pointer; }
summary .name { color: #555; margin-right: .4em; }
summary .preview { color: #777; }
.missing { color: #999; font-style: italic; }
.badge { display: inline-block; padding: 0 .4em; border-radius: 3px; font-size: 12px; }
.o-correct { background: #c8efc8; } .o-wrong { background: #f6c6c6; } .o-error { background: #333; color: #fff; }
.o-other-language { background: #f8e0a0; } .o-scored { background: #dde4f4; } .o-unscored { background: #e4e4e4; }
ol.choices li.gold { font-weight: bold; }
button.id { font-family: monospace; }
#p-grid { border-collapse: collapse; }
#p-grid th, #p-grid td { border: 1px solid #ccc; padding: .3em; vertical-align: top; max-width: 30em; }
#p-grid td .answer { display: block; white-space: pre-wrap; word-break: break-word; }
#p-grid tbody th { text-align: left; font-weight: normal; max-width: 20em; }
#p-grid tbody th .lang { font-weight: bold; }
"""

JS = r"""
(function () {
  "use strict";
  var D = JSON.parse(document.getElementById("data").textContent);
  var S = D.samples, N = S.id.length, PER_PAGE = 50, SHORT = 160;
  var modelOf = new Int32Array(N);
  for (var i = 0; i < N; i++) { modelOf[i] = D.runs[S.run[i]].model; }
  var state = {model: "", task: "", lang: "", outcome: "", q: "", item: null, itemTask: ""};
  var result = [], page = 0, hay = null, promptHay = null, byItem = null, lastHash = null, pushed = false;
  var $ = function (id) { return document.getElementById(id); };

  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) { node.className = cls; }
    if (text !== undefined && text !== null) { node.textContent = text; }
    return node;
  }
  function badge(outcome) {
    return el("span", "badge o-" + D.outcomes[outcome].replace(/ /g, "-"), D.outcomes[outcome]);
  }
  function options(select, names, all) {
    select.appendChild(el("option", null, all)).value = "";
    names.forEach(function (name) { select.appendChild(el("option", null, name)).value = name; });
  }
  function taskName(i) { return D.tasks[S.task[i]].name; }

  // ------------------------------------------------------------ filters and the URL hash
  function readHash() {
    var next = {model: "", task: "", lang: "", outcome: "", q: "", item: null, itemTask: ""};
    location.hash.replace(/^#/, "").split("&").forEach(function (part) {
      var at = part.indexOf("=");
      if (at < 0) { return; }
      var key = part.slice(0, at), value;
      try { value = decodeURIComponent(part.slice(at + 1)); } catch (e) { return; }
      if (key === "item") { next.item = value; } else if (key === "in") { next.itemTask = value; }
      else if (next.hasOwnProperty(key)) { next[key] = value; }
    });
    return next;
  }
  function hashOf(st) {
    var parts = [];
    ["model", "task", "lang", "outcome", "q"].forEach(function (key) {
      if (st[key]) { parts.push(key + "=" + encodeURIComponent(st[key])); }
    });
    if (st.item !== null) {
      parts.push("item=" + encodeURIComponent(st.item), "in=" + encodeURIComponent(st.itemTask));
    }
    return "#" + parts.join("&");
  }
  function writeHash(newEntry) {
    lastHash = hashOf(state);
    if (location.hash.replace(/^#$/, "") === lastHash.replace(/^#$/, "")) { return; }
    if (newEntry) { location.hash = lastHash; } else { location.replace(lastHash); }
  }
  function indexOf(names, name) { return name ? names.indexOf(name) : -1; }

  function matches(i, q) {
    if (!hay) { hay = new Array(N); promptHay = new Array(D.prompts.length); }
    if (hay[i] === undefined) {
      hay[i] = [S.id[i], S.response[i] || "", S.target[i] || "", S.extracted[i] || ""].join("\n").toLowerCase();
    }
    if (hay[i].indexOf(q) >= 0) { return true; }
    var p = S.prompt[i];
    if (p < 0) { return false; }
    if (promptHay[p] === undefined) { promptHay[p] = D.prompts[p].toLowerCase(); }
    return promptHay[p].indexOf(q) >= 0;
  }

  function apply(keepPage) {
    var model = indexOf(D.models, state.model), task = -1, lang = indexOf(D.langs, state.lang);
    D.tasks.forEach(function (t, k) { if (t.name === state.task) { task = k; } });
    var outcome = indexOf(D.outcomes, state.outcome), q = state.q.toLowerCase();
    var unknown = [];
    if (state.model && model < 0) { unknown.push("model " + state.model); }
    if (state.task && task < 0) { unknown.push("task " + state.task); }
    if (state.lang && lang < 0) { unknown.push("language " + state.lang); }
    if (state.outcome && outcome < 0) { unknown.push("outcome " + state.outcome); }
    $("note").textContent = unknown.length ? "Not in this report: " + unknown.join(", ") + "." : "";
    var counts = D.outcomes.map(function () { return 0; });
    result = [];
    for (var i = 0; i < N; i++) {
      if ((state.model && modelOf[i] !== model) || (state.task && S.task[i] !== task) ||
          (state.lang && S.lang[i] !== lang)) { continue; }
      if (q && !matches(i, q)) { continue; }
      counts[S.out[i]]++;
      if (!state.outcome || S.out[i] === outcome) { result.push(i); }
    }
    if (!keepPage) { page = 0; }
    showCounts(counts);
    renderPage();
  }

  function showCounts(counts) {
    $("count").textContent = result.length + (result.length === 1 ? " sample" : " samples");
    var box = $("outcome-counts");
    box.textContent = "";
    D.outcomes.forEach(function (name, k) {
      var button = el("button", null, name + ": " + counts[k]);
      button.type = "button";
      button.setAttribute("data-outcome", name);
      button.setAttribute("data-count", String(counts[k]));
      button.addEventListener("click", function () { setFilter("outcome", state.outcome === name ? "" : name); });
      box.appendChild(button);
      $("f-outcome").options[k + 1].textContent = name + " (" + counts[k] + ")";
    });
  }

  function setFilter(key, value) {
    state[key] = value;
    syncControls();
    apply(false);
    writeHash(false);
  }
  function syncControls() {
    ["model", "task", "lang", "outcome"].forEach(function (key) { $("f-" + key).value = state[key]; });
    if ($("f-q").value !== state.q) { $("f-q").value = state.q; }
  }

  // ------------------------------------------------------------ one sample
  // a labelled text: inline when short, else collapsed and filled when first opened; a missing text is left out,
  // or said so where the run should have recorded it (the prompt)
  function field(parent, name, text, collapsed) {
    var row = el("div", "field");
    row.setAttribute("data-field", name);
    if (text === null || text === undefined) {
      if (name !== "prompt") { return; }
      row.appendChild(el("span", "name", name));
      row.appendChild(el("span", "missing", D.not_recorded));
    } else if (!collapsed && text.length <= SHORT && text.indexOf("\n") < 0) {
      row.appendChild(el("span", "name", name));
      row.appendChild(el("span", "value", text));
    } else {
      var box = el("details"), summary = el("summary");
      summary.appendChild(el("span", "name", name + " (" + text.length + " characters)"));
      summary.appendChild(el("span", "preview", text.slice(0, 80).replace(/\s+/g, " ")));
      box.appendChild(summary);
      box.addEventListener("toggle", function () {  // filled when first opened: long texts cost nothing until then
        if (box.open && box.childNodes.length === 1) { box.appendChild(el("pre", "value", text)); }
      });
      row.appendChild(box);
    }
    parent.appendChild(row);
  }

  function choices(parent, i) {
    var list = D.choices[S.choices[i]], ol = el("ol", "choices");
    ol.start = 0;
    list.forEach(function (text, k) {
      var li = el("li", k === S.gold[i] ? "gold" : null, text);
      var marks = [];
      if (k === S.gold[i]) { marks.push("gold"); }
      if (k === S.pick[i]) { marks.push("picked"); }
      if (marks.length) { li.appendChild(el("span", "mark", "  \u2190 " + marks.join(", "))); }
      ol.appendChild(li);
    });
    var row = el("div", "field");
    row.setAttribute("data-field", "choices");
    row.appendChild(el("span", "name", "choices"));
    row.appendChild(ol);
    parent.appendChild(row);
  }

  function metricsText(i) {
    var m = S.metrics[i], parts = [];
    for (var k = 0; k < m.length; k += 2) { parts.push(D.metrics[m[k]] + " " + m[k + 1]); }
    return parts.join(" \u00b7 ");
  }

  function idButton(i) {
    var button = el("button", "id", S.id[i]);
    button.type = "button";
    button.title = "this item in every language and model";
    button.addEventListener("click", function () { openParallel(taskName(i), S.id[i]); });
    return button;
  }

  function card(i) {
    var box = el("div", "sample"), head = el("div", "head");
    box.setAttribute("data-index", String(i));
    head.appendChild(badge(S.out[i]));
    head.appendChild(el("span", "model", D.models[modelOf[i]]));
    head.appendChild(el("span", "run", D.runs[S.run[i]].folder));
    head.appendChild(el("span", "task", taskName(i)));
    head.appendChild(el("span", "lang", D.langs[S.lang[i]]));
    head.appendChild(el("span", null, "id"));
    head.appendChild(idButton(i));
    box.appendChild(head);
    field(box, "prompt", S.prompt[i] < 0 ? null : D.prompts[S.prompt[i]], true);
    if (S.choices[i] >= 0) { choices(box, i); }
    field(box, "response", S.response[i], false);
    field(box, "target", S.target[i], false);
    field(box, "extracted", S.extracted[i], false);
    if (S.metrics[i].length) { field(box, "metrics", metricsText(i), false); }
    field(box, "detected language", S.detected[i], false);
    field(box, "error", S.error[i], false);
    var ex = S.exec[i];
    if (ex) {
      field(box, "program outcome", (ex[0] || "") + (ex[1] ? " (" + ex[1] + ")" : ""), false);
      if (ex[2]) { field(box, "stderr tail", ex[2], true); }
    }
    return box;
  }

  function renderPage() {
    var pages = Math.max(1, Math.ceil(result.length / PER_PAGE));
    page = Math.min(page, pages - 1);
    var list = $("list"), frag = document.createDocumentFragment();
    result.slice(page * PER_PAGE, (page + 1) * PER_PAGE).forEach(function (i) { frag.appendChild(card(i)); });
    list.textContent = "";
    list.appendChild(frag);
    $("page").textContent = "page " + (page + 1) + " of " + pages;
    $("prev").disabled = page === 0;
    $("next").disabled = page >= pages - 1;
  }

  // ------------------------------------------------------------ the parallel view
  function itemIndex() {
    if (!byItem) {
      byItem = {};
      for (var i = 0; i < N; i++) {
        var key = S.task[i] + "\u0000" + S.id[i];
        (byItem[key] = byItem[key] || []).push(i);
      }
    }
    return byItem;
  }

  function openParallel(task, id) {
    pushed = true;
    state.item = id;
    state.itemTask = task;
    writeHash(true);
    show();
  }

  function renderParallel() {
    var task = -1;
    D.tasks.forEach(function (t, k) { if (t.name === state.itemTask) { task = k; } });
    var grid = $("p-grid");
    grid.textContent = "";
    $("p-title").textContent = "Item " + state.item + " of " + state.itemTask + " in every language and model";
    if (task < 0) { $("p-note").textContent = "Not in this report: task " + state.itemTask + "."; return; }
    var langs = {}, models = {};
    for (var i = 0; i < N; i++) {
      if (S.task[i] === task) { langs[S.lang[i]] = true; models[modelOf[i]] = true; }
    }
    var items = itemIndex()[task + "\u0000" + state.item] || [];
    $("p-note").textContent = items.length + " samples." + (D.tasks[task].parallel ? "" :
      " This task's items are not parallel across languages: the same id may be a different item.");
    var langList = D.langs.map(function (_, k) { return k; }).filter(function (k) { return langs[k]; });
    var modelList = D.models.map(function (_, k) { return k; }).filter(function (k) { return models[k]; });
    var head = el("tr");
    head.appendChild(el("th", null, "language"));
    modelList.forEach(function (m) { head.appendChild(el("th", "model", D.models[m])); });
    grid.appendChild(el("thead")).appendChild(head);
    var body = grid.appendChild(el("tbody"));
    langList.forEach(function (l) {
      var tr = el("tr");
      tr.setAttribute("data-lang", D.langs[l]);
      var th = tr.appendChild(el("th"));
      th.appendChild(el("div", "lang", D.langs[l]));
      var first = items.filter(function (i) { return S.lang[i] === l; })[0];
      if (first !== undefined) {  // what was asked in this language, and the answer wanted
        field(th, "prompt", S.prompt[first] < 0 ? null : D.prompts[S.prompt[first]], true);
        field(th, "target", S.target[first], false);
      }
      modelList.forEach(function (m) {
        var td = el("td");
        td.setAttribute("data-model", D.models[m]);
        var mine = items.filter(function (i) { return S.lang[i] === l && modelOf[i] === m; });
        if (!mine.length) { td.appendChild(el("span", "missing", "\u2013")); }
        mine.forEach(function (i) { td.appendChild(parallelCell(i)); });
        tr.appendChild(td);
      });
      body.appendChild(tr);
    });
  }

  function parallelCell(i) {
    var box = el("div", "psample");
    box.setAttribute("data-id", S.id[i]);
    box.setAttribute("data-lang", D.langs[S.lang[i]]);
    box.appendChild(badge(S.out[i]));
    if (S.extracted[i] !== null) { box.appendChild(el("span", "answer", "answer: " + S.extracted[i])); }
    field(box, "response", S.response[i], false);
    field(box, "error", S.error[i], false);
    return box;
  }

  function show() {
    var parallel = state.item !== null;
    $("parallel").hidden = !parallel;
    $("list-view").hidden = parallel;
    $("filters").hidden = parallel;
    $("tally").hidden = parallel;
    if (parallel) { renderParallel(); }
  }

  // ------------------------------------------------------------ wiring
  options($("f-model"), D.models, "all models");
  options($("f-task"), D.tasks.map(function (t) { return t.name; }), "all tasks");
  options($("f-lang"), D.langs, "all languages");
  options($("f-outcome"), D.outcomes, "all outcomes");
  ["model", "task", "lang", "outcome"].forEach(function (key) {
    $("f-" + key).addEventListener("change", function () { setFilter(key, this.value); });
  });
  var typing = null;
  $("f-q").addEventListener("input", function () {
    var value = this.value;
    clearTimeout(typing);
    typing = setTimeout(function () { setFilter("q", value); }, 150);
  });
  $("prev").addEventListener("click", function () { page--; renderPage(); window.scrollTo(0, 0); });
  $("next").addEventListener("click", function () { page++; renderPage(); window.scrollTo(0, 0); });
  $("back").addEventListener("click", function () {
    if (pushed) { history.back(); return; }
    state.item = null;
    writeHash(false);
    show();
  });
  function fromHash() {
    if (location.hash.replace(/^#$/, "") === (lastHash || "").replace(/^#$/, "")) { return; }
    var next = readHash(), filtersChanged = false;
    ["model", "task", "lang", "outcome", "q"].forEach(function (key) {
      if (next[key] !== state[key]) { filtersChanged = true; }
    });
    state = next;
    lastHash = location.hash;
    syncControls();
    if (filtersChanged || !result.length) { apply(false); }
    show();
  }
  window.addEventListener("hashchange", fromHash);
  state = readHash();
  lastHash = location.hash;
  syncControls();
  apply(false);
  show();
  window.explorerReady = performance.now();
})();
"""

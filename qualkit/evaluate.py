"""How well the suggesters agree with a gold standard: `qualkit evaluate`.

Both inputs are coded-segments tables. The train table stands for codings a researcher accepted;
the test table's codes are the gold standard and are never shown to the suggesters.

Per code: precision, recall, F1 and Cohen's kappa on presence/absence per turn, over the turns
(with text) of the speakers the code applies to. Every code the gold has or the machine suggested
there is scored, so suggesting a code the gold never has counts as errors (precision 0, F1 0).
A figure whose formula divides 0 by 0 is undefined (NaN; null in JSON; "–" when printed), never
a made-up 0 or 1: precision of a code never suggested, recall of a code the gold lacks, kappa
when both sides are one constant column. Macro averages skip undefined values and say over how
many codes they average.

For each exclusive parent: the multi-class kappa and accuracy over its children with "none" (no
child) as a class of its own, over all the turns of the speakers the parent applies to. The same
for each suggester on its own and for the combination.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from .agreement import cohen_kappa
from .fileio import atomic_write_text
from .model import Codebook, ImportedDocument, Suggestion, speaker_matches
from .suggest.base import Scope, SegmentView, decide, views_of

Progress = Callable[[int, int, str], None]

NAN = float("nan")
NONE = "none"  # the class of a turn without a child of an exclusive parent
METRICS = ("precision", "recall", "f1", "kappa")


@dataclass
class CodeMetrics:
    precision: float  # NaN when the code was never suggested on the scored turns
    recall: float  # NaN when the gold never has the code there
    f1: float
    kappa: float  # NaN when undefined (both sides one constant column)
    support: int  # turns whose gold has the code
    predicted: int = 0  # turns the machine suggested it for
    turns: int = 0  # turns scored (those of the speakers the code applies to)


@dataclass
class GroupMetrics:
    kappa: float  # multi-class, 'none' included; NaN when undefined
    accuracy: float
    support: int  # turns scored: every turn of the speakers the parent applies to
    gold_none: int = 0  # of those, turns whose gold carries no child
    predicted_none: int = 0  # turns the machine left without a child


@dataclass
class TurnSet:
    """The turns a set of figures rests on: those of one speaker scope of the codebook."""

    speakers: str  # e.g. "participant"; "all" when the codebook names no speakers
    turns: int
    transcripts: int
    codes: list[str] = field(default_factory=list)
    groups: list[str] = field(default_factory=list)

    def describe(self) -> str:
        who = "" if self.speakers == "all" else f"{self.speakers} "
        return (f"{self.turns} {who}turn{'s' if self.turns != 1 else ''} of {self.transcripts} "
                f"transcript{'s' if self.transcripts != 1 else ''}")


@dataclass
class Evaluation:
    codes: dict[str, CodeMetrics]
    macro: dict[str, float]
    groups: dict[str, GroupMetrics]
    suggesters: dict[str, Evaluation] = field(default_factory=dict)
    info: dict[str, Any] = field(default_factory=dict)
    predictions: list[Suggestion] = field(default_factory=list, repr=False)
    macro_over: dict[str, int] = field(default_factory=dict)  # codes behind each macro figure
    scored_on: list[TurnSet] = field(default_factory=list)
    unscored: list[str] = field(default_factory=list)  # neither in the gold nor suggested

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: undefined figures (NaN) become None (null)."""
        out: dict[str, Any] = {
            "codes": {c: vars(m) for c, m in self.codes.items()},
            "macro": dict(self.macro),
            "macro_over": dict(self.macro_over),
            "groups": {g: vars(m) for g, m in self.groups.items()},
            "scored_on": [vars(t) for t in self.scored_on],
            "unscored": list(self.unscored),
        }
        if self.suggesters:
            out["suggesters"] = {name: {"macro": e.macro, "macro_over": e.macro_over,
                                        "groups": {g: vars(m) for g, m in e.groups.items()}}
                                 for name, e in self.suggesters.items()}
        if self.info:
            out["info"] = self.info
        return json_ready(out)


def json_ready(value: Any) -> Any:
    """A copy with every NaN float replaced by None (JSON has no NaN)."""
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, dict):
        return {k: json_ready(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_ready(v) for v in value]
    return value


def gold_codes(docs: Sequence[ImportedDocument]) -> dict[tuple[str, int], set[str]]:
    """Per (document, segment): the codes at least half of the document's coders applied."""
    gold: dict[tuple[str, int], set[str]] = {}
    for doc in docs:
        coders = {c.coder for c in doc.codings} or {""}
        need = max(1, (len(coders) + 1) // 2)
        votes: dict[int, Counter[str]] = {}
        for c in doc.codings:
            votes.setdefault(c.segment_index, Counter())[c.code_id] += 1  # type: ignore[arg-type]
        for seg in doc.transcript.segments:
            gold[(doc.transcript.name, seg.index)] = {
                code for code, n in votes.get(seg.index, Counter()).items() if n >= need}
    return gold


def _ratio(num: float, den: float) -> float:
    return num / den if den else NAN


def _r(x: float) -> float:
    return x if math.isnan(x) else round(x, 4)


def _mean(values: Sequence[float]) -> tuple[float, int]:
    """Mean of the defined values and how many there were (NaN, 0 when none is defined)."""
    defined = [v for v in values if not math.isnan(v)]
    return (round(sum(defined) / len(defined), 4) if defined else NAN), len(defined)


def code_metrics(truth: Sequence[bool], guess: Sequence[bool]) -> CodeMetrics:
    """Presence/absence figures for one code over paired turns."""
    tp = sum(t and g for t, g in zip(truth, guess))
    fp = sum(g and not t for t, g in zip(truth, guess))
    fn = sum(t and not g for t, g in zip(truth, guess))
    return CodeMetrics(_r(_ratio(tp, tp + fp)), _r(_ratio(tp, tp + fn)),
                       _r(_ratio(2 * tp, 2 * tp + fp + fn)),
                       _r(cohen_kappa(truth, guess, undefined=NAN)), tp + fn, tp + fp, len(truth))


def macro_average(codes: dict[str, CodeMetrics]) -> tuple[dict[str, float], dict[str, int]]:
    """Macro averages over the codes, skipping undefined values, and how many each is over."""
    macro, over = {}, {}
    for k in METRICS:
        macro[k], over[k] = _mean([getattr(m, k) for m in codes.values()])
    return macro, over


def score_predictions(views: Sequence[SegmentView], gold: dict[tuple[str, int], set[str]],
                      predicted: Sequence[Suggestion], scope: Scope) -> Evaluation:
    """Compare suggestions with the gold standard, per code and per exclusive parent.

    ``predicted`` may be any objects with ``transcript``, ``segment_index`` and ``code_id``.
    """
    codebook = scope.codebook
    pred: dict[tuple[str, int], set[str]] = {}
    for s in predicted:
        pred.setdefault((s.transcript, s.segment_index), set()).add(s.code_id)
    in_scope = [v for v in views if v.segment.text.strip()]
    index = {c: j for j, c in enumerate(scope.codes)}
    masks = [scope.mask(v.segment) for v in in_scope]

    def applies(code: str) -> list[bool]:
        if code in index:
            return [bool(m[index[code]]) for m in masks]
        allowed = codebook.speakers_for(code)  # a code the codebook lacks: the codebook's own
        return [speaker_matches(allowed, v.segment) for v in in_scope]

    themes = {c.id for c in codebook.all_codes() if c.is_theme}
    candidates = [c for c in scope.codes if c not in themes]
    extra: set[str] = set()
    for v in in_scope:
        key = (v.transcript, v.segment.index)
        extra |= (gold.get(key, set()) | pred.get(key, set())) - set(candidates)
    candidates += sorted(extra)
    codes: dict[str, CodeMetrics] = {}
    unscored: list[str] = []
    turn_sets: dict[tuple[str, ...], TurnSet] = {}

    def turn_set(code: str, keys: list[tuple[str, int]], group: bool = False) -> None:
        speakers = tuple(codebook.speakers_for(code)) or ("all",)
        ts = turn_sets.setdefault(speakers, TurnSet(", ".join(speakers), len(keys),
                                                    len({t for t, _ in keys})))
        (ts.groups if group else ts.codes).append(code)

    for code in candidates:
        keys = [(v.transcript, v.segment.index)
                for v, ok in zip(in_scope, applies(code)) if ok]
        truth = [code in gold.get(k, ()) for k in keys]
        guess = [code in pred.get(k, ()) for k in keys]
        if not any(truth) and not any(guess):
            if code not in extra:
                unscored.append(code)
            continue
        codes[code] = code_metrics(truth, guess)
        turn_set(code, keys)
    macro, over = macro_average(codes)
    groups: dict[str, GroupMetrics] = {}
    for parent, kids in scope.exclusive.items():
        keys = [(v.transcript, v.segment.index)
                for v, ok in zip(in_scope, applies(parent)) if ok]
        if not keys:
            continue
        truth_l = [next((k for k in kids if k in gold.get(key, ())), NONE) for key in keys]
        guess_l = [next((k for k in kids if k in pred.get(key, ())), NONE) for key in keys]
        acc = sum(a == b for a, b in zip(truth_l, guess_l)) / len(keys)
        groups[parent] = GroupMetrics(_r(cohen_kappa(truth_l, guess_l, undefined=NAN)),
                                      round(acc, 4), len(keys), truth_l.count(NONE),
                                      guess_l.count(NONE))
        turn_set(parent, keys, group=True)
    return Evaluation(codes, macro, groups, macro_over=over,
                      scored_on=list(turn_sets.values()), unscored=unscored)


def evaluate(codebook: Codebook, test: Sequence[ImportedDocument],
             train: Sequence[ImportedDocument] = (), embedder: Any = None,
             progress: Progress | None = None) -> Evaluation:
    """Fit on ``train`` (may be empty: the codebook alone), suggest for ``test``, compare."""
    from .embed import Embedder
    from .suggest.combine import CombinedSuggester
    from .suggest.training import examples_from_documents

    examples = examples_from_documents(train, codebook) if train else []
    if progress:
        progress(0, 3, "training")
    embedder = embedder or Embedder()
    if embedder.spec.adapts:  # the map of similarities read from the text it is measured on
        from .suggest.semantic import SCALE_TRANSCRIPTS, evenly, study_scale

        embedder.scale = study_scale(codebook, embedder,
                                     evenly([doc.transcript for doc in test], SCALE_TRANSCRIPTS))
    combined = CombinedSuggester(embedder).fit(codebook, examples)
    views = [v for doc in test for v in views_of(doc.transcript)]
    if progress:
        progress(1, 3, "suggesting")
    parts = {name: part.score(views) for name, part in combined.components_.items()}  # type: ignore
    gold = gold_codes(test)
    scope = combined.scope_
    if progress:
        progress(2, 3, "scoring")
    predictions = combined.decide(combined.combine(parts, len(views)), views)
    result = score_predictions(views, gold, predictions, scope)
    result.predictions = predictions
    for name, scores in parts.items():
        alone = decide(scores, views, scope, name,
                       exhaustive=combined.exhaustive_ if name == "learned" else ())
        result.suggesters[name] = score_predictions(views, gold, alone, scope)
    result.suggesters["combined"] = replace(result, suggesters={}, predictions=[])
    result.info = {"embeddings": embedder.spec.key,
                   "train_documents": len(train), "train_examples": len(examples),
                   "test_documents": len(test), "test_segments": len(views),
                   "stacked": combined.stacked, "exhaustive": combined.exhaustive_}
    if progress:
        progress(3, 3, "")
    return result


def write_json(result: Evaluation, path: str | Path) -> Path:
    return atomic_write_text(path, json.dumps(result.to_dict(), indent=2, allow_nan=False) + "\n")


def num(x: float, width: int = 6) -> str:
    """A figure for the terminal: three decimals, or '–' when undefined."""
    return f"{'–':>{width}}" if math.isnan(x) else f"{x:{width}.3f}"


def _macro_note(over: dict[str, int], codes: int) -> str:
    parts = [f"F1 over {over.get('f1', 0)} codes"]
    if over.get("precision", 0) != codes:
        parts.append(f"precision over {over.get('precision', 0)} (codes suggested at least once)")
    if over.get("recall", 0) != codes:
        parts.append(f"recall over {over.get('recall', 0)} (codes the gold has)")
    if over.get("kappa", 0) != codes:
        parts.append(f"kappa over {over.get('kappa', 0)} (defined)")
    return "; ".join(parts)


def format_evaluation(result: Evaluation) -> str:
    """A plain-text table for the terminal."""
    lines = ["Presence of each code per turn, over the turns (with text) of the speakers it "
             "applies to:"]
    for ts in result.scored_on:
        what = []
        if ts.codes:
            what.append(f"{len(ts.codes)} code{'s' if len(ts.codes) != 1 else ''}")
        if ts.groups:
            what.append(f"{len(ts.groups)} exclusive parent{'s' if len(ts.groups) != 1 else ''}")
        lines.append(f"  over {ts.describe()}: {', '.join(what)}")
    if not result.scored_on:
        lines.append("  no turn to score")
    lines.append("")
    lines.append(f"{'code':28} {'prec':>6} {'recall':>6} {'F1':>6} {'kappa':>6} {'support':>7} "
                 f"{'suggested':>9} {'turns':>6}")
    for code, m in result.codes.items():
        lines.append(f"{code:28} {num(m.precision)} {num(m.recall)} {num(m.f1)} {num(m.kappa)} "
                     f"{m.support:7d} {m.predicted:9d} {m.turns:6d}")
    mac = result.macro
    lines.append(f"{'macro':28} {num(mac['precision'])} {num(mac['recall'])} {num(mac['f1'])} "
                 f"{num(mac['kappa'])}")
    lines.append(f"  ({_macro_note(result.macro_over, len(result.codes))}; – = undefined)")
    if result.unscored:
        lines.append("  not scored (neither in the gold nor suggested): "
                     + ", ".join(result.unscored))
    if result.groups:
        lines.append("")
        lines.append(f"{'exclusive parent':28} {'kappa':>6} {'acc':>6} {'turns':>6} "
                     f"{'gold none':>9} {'machine none':>12}")
        for g, gm in result.groups.items():
            lines.append(f"{g:28} {num(gm.kappa)} {num(gm.accuracy)} {gm.support:6d} "
                         f"{gm.gold_none:9d} {gm.predicted_none:12d}")
        lines.append("  (multi-class over the children with 'none' as a class, over every turn "
                     "of the parent's speakers)")
    if result.suggesters:
        lines.append("")
        names = list(result.groups)
        lines.append(f"{'suggester':12} {'macro F1':>8} {'kappa':>6}"
                     + "".join(f" {g[:22]:>22}" for g in names))
        for name, e in result.suggesters.items():
            lines.append(f"{name:12} {num(e.macro['f1'], 8)} {num(e.macro['kappa'])}"
                         + "".join(f" {num(e.groups[g].kappa if g in e.groups else NAN, 22)}"
                                   for g in names))
    if "embeddings" in result.info:
        lines.append(f"  (similarity and learning with the {result.info['embeddings']} "
                     "embedding model)")
    return "\n".join(lines)

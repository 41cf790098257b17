"""How well the suggesters agree with a gold standard: `qualkit evaluate`.

Both inputs are coded-segments tables. The train table stands for codings a researcher accepted;
the test table's codes are the gold standard and are never shown to the suggesters. Per code:
precision, recall, F1 and Cohen's kappa on presence/absence per segment (over the segments whose
speaker the code applies to); for each exclusive parent, the multi-class kappa over its children
(a segment the machine leaves without a child counts as 'none'). The same for each suggester on
its own and for the combination.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

from .agreement import cohen_kappa
from .fileio import atomic_write_text
from .model import Codebook, ImportedDocument, Suggestion
from .suggest.base import Scope, SegmentView, decide, views_of

Progress = Callable[[int, int, str], None]


@dataclass
class CodeMetrics:
    precision: float
    recall: float
    f1: float
    kappa: float
    support: int


@dataclass
class GroupMetrics:
    kappa: float
    accuracy: float
    support: int


@dataclass
class Evaluation:
    codes: dict[str, CodeMetrics]
    macro: dict[str, float]
    groups: dict[str, GroupMetrics]
    suggesters: dict[str, "Evaluation"] = field(default_factory=dict)
    info: dict[str, Any] = field(default_factory=dict)
    predictions: list[Suggestion] = field(default_factory=list, repr=False)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "codes": {c: vars(m) for c, m in self.codes.items()},
            "macro": dict(self.macro),
            "groups": {g: vars(m) for g, m in self.groups.items()},
        }
        if self.suggesters:
            out["suggesters"] = {name: {"macro": e.macro,
                                        "groups": {g: vars(m) for g, m in e.groups.items()}}
                                 for name, e in self.suggesters.items()}
        if self.info:
            out["info"] = self.info
        return out


def gold_codes(docs: Sequence[ImportedDocument]) -> dict[tuple[str, int], set[str]]:
    """Per (document, segment): the codes at least half of the document's coders applied."""
    gold: dict[tuple[str, int], set[str]] = {}
    for doc in docs:
        coders = {c.coder for c in doc.codings} or {""}
        need = max(1, (len(coders) + 1) // 2)
        votes: dict[int, Counter[str]] = {}
        for c in doc.codings:
            votes.setdefault(c.segment_index, Counter())[c.code_id] += 1  # type: ignore[index]
        for seg in doc.transcript.segments:
            gold[(doc.transcript.name, seg.index)] = {
                code for code, n in votes.get(seg.index, Counter()).items() if n >= need}
    return gold


def _prf(tp: int, fp: int, fn: int) -> tuple[float, float, float]:
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return p, r, f


def score_predictions(views: Sequence[SegmentView], gold: dict[tuple[str, int], set[str]],
                      predicted: Sequence[Suggestion], scope: Scope) -> Evaluation:
    """Compare suggestions with the gold standard, per code and per exclusive parent."""
    pred: dict[tuple[str, int], set[str]] = {}
    for s in predicted:
        pred.setdefault((s.transcript, s.segment_index), set()).add(s.code_id)
    codes: dict[str, CodeMetrics] = {}
    in_scope = [(v, scope.mask(v.segment)) for v in views if v.segment.text.strip()]
    themes = {c.id for c in scope.codebook.all_codes() if c.is_theme}
    for j, code in enumerate(scope.codes):
        if code in themes:
            continue
        truth, guess = [], []
        for v, mask in in_scope:
            if not mask[j]:
                continue
            key = (v.transcript, v.segment.index)
            truth.append(code in gold.get(key, ()))
            guess.append(code in pred.get(key, ()))
        if not truth:
            continue
        tp = sum(t and g for t, g in zip(truth, guess))
        fp = sum(g and not t for t, g in zip(truth, guess))
        fn = sum(t and not g for t, g in zip(truth, guess))
        p, r, f = _prf(tp, fp, fn)
        codes[code] = CodeMetrics(round(p, 4), round(r, 4), round(f, 4),
                                  round(cohen_kappa(truth, guess), 4), sum(truth))
    scored = [m for m in codes.values() if m.support > 0]
    macro = {k: round(sum(getattr(m, k) for m in scored) / len(scored), 4) if scored else 0.0
             for k in ("precision", "recall", "f1", "kappa")}
    groups: dict[str, GroupMetrics] = {}
    index = {c: j for j, c in enumerate(scope.codes)}
    for parent, kids in scope.exclusive.items():
        truth_l, guess_l = [], []
        for v, mask in in_scope:
            if not mask[index[kids[0]]]:
                continue
            key = (v.transcript, v.segment.index)
            t = [k for k in kids if k in gold.get(key, ())]
            if not t:
                continue
            g = [k for k in kids if k in pred.get(key, ())]
            truth_l.append(t[0])
            guess_l.append(g[0] if g else "none")
        if truth_l:
            acc = sum(a == b for a, b in zip(truth_l, guess_l)) / len(truth_l)
            groups[parent] = GroupMetrics(round(cohen_kappa(truth_l, guess_l), 4),
                                          round(acc, 4), len(truth_l))
    return Evaluation(codes, macro, groups)


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
    combined = CombinedSuggester(embedder or Embedder()).fit(codebook, examples)
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
    result.suggesters["combined"] = Evaluation(result.codes, result.macro, result.groups)
    result.info = {"train_documents": len(train), "train_examples": len(examples),
                   "test_documents": len(test), "test_segments": len(views),
                   "stacked": bool(combined.stack_), "exhaustive": combined.exhaustive_}
    if progress:
        progress(3, 3, "")
    return result


def write_json(result: Evaluation, path: str | Path) -> Path:
    return atomic_write_text(path, json.dumps(result.to_dict(), indent=2) + "\n")


def format_evaluation(result: Evaluation) -> str:
    """A plain-text table for the terminal."""
    lines = [f"{'code':28} {'prec':>6} {'recall':>6} {'F1':>6} {'kappa':>6} {'support':>7}"]
    for code, m in result.codes.items():
        lines.append(f"{code:28} {m.precision:6.3f} {m.recall:6.3f} {m.f1:6.3f} {m.kappa:6.3f} "
                     f"{m.support:7d}")
    mac = result.macro
    lines.append(f"{'macro':28} {mac['precision']:6.3f} {mac['recall']:6.3f} {mac['f1']:6.3f} "
                 f"{mac['kappa']:6.3f}")
    if result.groups:
        lines.append("")
        lines.append(f"{'exclusive parent':28} {'kappa':>6} {'acc':>6} {'support':>7}")
        for g, m in result.groups.items():
            lines.append(f"{g:28} {m.kappa:6.3f} {m.accuracy:6.3f} {m.support:7d}")
    if result.suggesters:
        lines.append("")
        names = list(result.groups)
        lines.append(f"{'suggester':12} {'macro F1':>8} {'kappa':>6}"
                     + "".join(f" {g[:22]:>22}" for g in names))
        for name, e in result.suggesters.items():
            lines.append(f"{name:12} {e.macro['f1']:8.3f} {e.macro['kappa']:6.3f}"
                         + "".join(f" {e.groups[g].kappa if g in e.groups else float('nan'):22.3f}"
                                   for g in names))
    return "\n".join(lines)

"""The combined suggester: rule, semantic and learned evidence merged into one ranked list.

With a person's decisions to learn from, the three scores for each code are stacked by a small
logistic regression fitted on out-of-fold scores (folds by transcript), which makes the
combined confidence a calibrated probability, and each code's threshold is set where its F1 on
those out-of-fold scores is best. Without decisions, rule and semantic evidence are merged as a
noisy-OR (either source is enough; both together is stronger).
"""

from __future__ import annotations

from typing import Iterable, Iterator, Sequence

import numpy as np

from ..embed import Embedder
from ..model import Codebook, Suggestion, Transcript
from .base import Example, Scope, Scores, SegmentView, check_fitted, decide, views_of
from .learned import LearnedSuggester, reweight, tune_weights
from .rules import RuleSuggester
from .semantic import SemanticSuggester

MIN_GROUPS = 3  # transcripts needed for out-of-fold stacking


def noisy_or(*values: np.ndarray) -> np.ndarray:
    out = np.ones_like(values[0])
    for v in values:
        out *= 1.0 - np.clip(v, 0.0, 1.0)
    return 1.0 - out


class CombinedSuggester:
    """Rules + semantic similarity + learned models, one calibrated confidence per suggestion."""

    name = "combined"

    def __init__(self, embedder: Embedder | None = None, semantic: bool = True,
                 learned: bool = True, folds: int = 3, seed: int = 0) -> None:
        self.embedder = embedder
        self.semantic = semantic
        self.learned = learned
        self.folds = folds
        self.seed = seed

    def _components(self, codebook: Codebook, examples: Sequence[Example],
                    with_learned: bool = True) -> dict[str, object]:
        embedder = self.embedder or Embedder()
        parts: dict[str, object] = {"rules": RuleSuggester().fit(codebook)}
        if self.semantic:
            parts["semantic"] = SemanticSuggester(embedder).fit(codebook, examples)
        if self.learned and with_learned and examples:
            learned = LearnedSuggester(embedder).fit(codebook, examples)
            if learned.fitted:
                parts["learned"] = learned
        return parts

    def fit(self, codebook: Codebook, examples: Sequence[Example] = ()) -> "CombinedSuggester":
        self.embedder = self.embedder or Embedder()
        self.scope_ = Scope(codebook)
        self.codes_ = self.scope_.codes
        self.components_ = self._components(codebook, examples)
        learned = self.components_.get("learned")
        self.exhaustive_ = list(getattr(learned, "exhaustive_", []))
        self.stack_: dict[str, tuple[list[int], object, dict[int, int]]] = {}
        self.thresholds_: dict[str, float] = {}
        self.weights_: dict[str, np.ndarray] = {}  # per exclusive parent, per stack class
        groups = sorted({ex.view.transcript for ex in examples})
        if learned is not None and len(groups) >= MIN_GROUPS:
            self._fit_stack(codebook, examples, groups)
        return self

    def _raw(self, parts: dict[str, object], views: Sequence[SegmentView]) -> dict[str, Scores]:
        return {name: part.score(views) for name, part in parts.items()}  # type: ignore

    def _fit_stack(self, codebook: Codebook, examples: Sequence[Example],
                   groups: list[str]) -> None:
        from sklearn.linear_model import LogisticRegression

        rng = np.random.default_rng(self.seed)
        order = list(rng.permutation(groups))
        fold_of = {g: i % self.folds for i, g in enumerate(order)}
        n, k = len(examples), len(self.codes_)
        oof = {name: np.zeros((n, k)) for name in self.components_}
        # The learned suggester keeps its own out-of-fold scores (folds by transcript, too):
        # use them rather than refitting its stack once per fold here.
        learned_oof = getattr(self.components_.get("learned"), "oof_", None)
        if learned_oof is not None:
            oof["learned"] = learned_oof
        for fold in range(self.folds):
            train = [ex for ex in examples if fold_of[ex.view.transcript] != fold]
            test = [i for i, ex in enumerate(examples) if fold_of[ex.view.transcript] == fold]
            if not train or not test:
                continue
            parts = self._components(codebook, train, with_learned=learned_oof is None)
            raw = self._raw(parts, [examples[i].view for i in test])
            for name in oof:
                if name in raw:
                    oof[name][test] = raw[name].values
        column = {c: j for j, c in enumerate(self.codes_)}
        grouped = {c for kids in self.scope_.exclusive.values() for c in kids}
        for parent, kids in self.scope_.exclusive.items():
            cols = [column[c] for c in kids]
            rows, ys = [], []
            for i, ex in enumerate(examples):
                hit = [column[c] for c in kids if c in ex.positive]
                if hit or any(c in ex.negative for c in kids):
                    rows.append(i)
                    ys.append(hit[0] if hit else -1)
            if len(set(ys)) < 2:
                continue
            X = self._stack_features(oof, rows, cols)
            # Balanced classes, as in the learned models: otherwise the majority child (say,
            # neutral talk) swallows the rarer ones that matter most.
            model = LogisticRegression(C=1.0, max_iter=2000, class_weight="balanced").fit(X, ys)
            self.stack_[parent] = (cols, model, {int(c): int(c) for c in model.classes_ if c >= 0})
            # Per-class weights on the probabilities, tuned for kappa (the learned suggester's
            # decision step, repeated on the stacked probabilities).
            classes = [int(c) for c in model.classes_]
            self.weights_[parent] = tune_weights(model.predict_proba(X),
                                                 np.array([classes.index(y) for y in ys]))
        for code, j in column.items():
            if code in grouped:
                continue
            rows = [i for i, ex in enumerate(examples) if code in ex.positive or
                    code in ex.negative]
            ys = [int(code in examples[i].positive) for i in rows]
            if sum(ys) < 2 or len(ys) - sum(ys) < 2:
                continue
            X = self._stack_features(oof, rows, [j])
            model = LogisticRegression(C=1.0, max_iter=2000).fit(X, ys)
            self.stack_[code] = ([j], model, {1: j})
            p = model.predict_proba(X)[:, 1]
            self.thresholds_[code] = _best_f1_threshold(p, np.array(ys))

    def _stack_features(self, raw: dict[str, np.ndarray], rows: Sequence[int] | slice,
                        cols: list[int]) -> np.ndarray:
        return np.hstack([raw[name][rows][:, cols] for name in sorted(raw)])

    def score(self, views: Sequence[SegmentView]) -> Scores:
        check_fitted(self, "components_")
        parts = self._raw(self.components_, views)
        return self.combine(parts, len(views))

    def combine(self, parts: dict[str, Scores], n: int) -> Scores:
        """Merge component scores (as returned by each component's ``score``)."""
        out = Scores.empty(n, self.codes_)
        base = noisy_or(*(parts[name].values for name in ("rules", "semantic") if name in parts))
        if "learned" in parts and not self.stack_:
            learned = parts["learned"].values
            out.values = np.where(learned > 0, learned, base)
        else:
            out.values = base
        raw = {name: s.values for name, s in parts.items()}
        for key, (cols, model, target) in self.stack_.items():
            proba = reweight(model.predict_proba(self._stack_features(raw, slice(None), cols)),
                             self.weights_.get(key))
            for c_index, cls in enumerate(model.classes_):
                if int(cls) in target:
                    out.values[:, target[int(cls)]] = proba[:, c_index]
        for name in ("rules", "semantic", "learned"):
            if name not in parts:
                continue
            for key, text in parts[name].rationale.items():
                if out.values[key] > 0:
                    out.rationale[key] = (out.rationale[key] + "; " + text) \
                        if key in out.rationale else text
            for key, span in parts[name].spans.items():
                out.spans.setdefault(key, span)
        return out

    def suggest(self, transcripts: Iterable[Transcript]
                ) -> Iterator[tuple[Transcript, list[Suggestion]]]:
        for transcript in transcripts:
            views = views_of(transcript)
            yield transcript, self.decide(self.score(views), views)

    @property
    def source(self) -> str:
        """The suggesters behind these suggestions, e.g. 'rules+semantic'."""
        return "+".join(self.components_)

    def decide(self, scores: Scores, views: Sequence[SegmentView],
               source: str | None = None) -> list[Suggestion]:
        return decide(scores, views, self.scope_, source or self.source, self.thresholds_,
                      self.exhaustive_)


def _best_f1_threshold(p: np.ndarray, y: np.ndarray) -> float:
    best, best_t = -1.0, 0.5
    for t in np.linspace(0.1, 0.9, 33):
        pred = p >= t
        tp = float((pred & (y == 1)).sum())
        f1 = 2 * tp / (pred.sum() + y.sum()) if (pred.sum() + y.sum()) else 0.0
        if f1 > best:
            best, best_t = f1, float(t)
    return best_t

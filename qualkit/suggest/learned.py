"""Learned suggester: scikit-learn models trained on a researcher's own decisions.

Each exclusive parent gets one multi-class task over its children (plus "none" where turns
may have no child), each other code a yes/no task. With decisions from at least three
transcripts a task is a small stack (docs/annomi-recipe.md): four level-1 logistic regressions,
each on one kind of evidence (the turn's words; its embedding with the other speaker's
neighbouring turns; hand-made dialogue features; everything at once), and a level-2 logistic
regression over their probabilities taken out of fold, with folds by transcript so a model is
never judged on a conversation it has seen. Per-class decision weights are then tuned for
Cohen's kappa on those out-of-fold probabilities. With fewer transcripts (a project just
started) one model on everything is fitted, which takes a second or two.

``oof_`` keeps the out-of-fold scores of the training examples, so the combined suggester can
stack on them without refitting this suggester per fold. ``uncertainty`` orders segments for
review, most informative first (active learning).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..embed import DIM, Embedder
from ..model import Codebook
from .base import Example, Scope, Scores, SegmentView, check_fitted
from .features import Block, Vectorizers, embed_views

MIN_PER_CLASS = 2
MIN_GROUPS = 3  # transcripts needed before the stack and its out-of-fold scores
MIN_STACK_ROWS = 60  # examples a task needs before it is stacked
LEVEL1 = ("words", "embeddings", "dialogue", "mixed")
# Regularisation per level-1 model, chosen by grouped cross-validation (docs/annomi-recipe.md).
C = {"words": 1.0, "embeddings": 0.03, "dialogue": 0.1, "mixed": 0.3}
MIXED_DENSE_SCALE = 0.05
TOL = 1e-3  # tried 1e-4: the same kappas on the development split, 2.5 times slower
WEIGHT_GRID = np.exp(np.linspace(-1.2, 1.2, 25))


@dataclass
class Split:
    """Dense and sparse columns side by side, never joined: scoring needs only their product
    with the coefficients, and joining them costs more than the product."""

    dense: np.ndarray
    sparse: Any

    @property
    def shape(self) -> tuple[int, int]:
        return (self.dense.shape[0], self.dense.shape[1] + self.sparse.shape[1])

    def __getitem__(self, rows: Any) -> Split:
        return Split(self.dense[rows], self.sparse[rows])

    def dot(self, coef: np.ndarray) -> np.ndarray:
        d = self.dense.shape[1]
        return self.dense @ coef[:, :d].T + np.asarray(self.sparse @ coef[:, d:].T)


@dataclass
class Design:
    """The level-1 design matrices of a batch, built once and shared by every task."""

    words: Any  # sparse: word 1-2-grams | character 2-5-grams
    n_word: int
    embeddings: np.ndarray
    dialogue: np.ndarray
    mixed: Any  # scaled dense features | word 1-2-grams (sparse to fit, a Split to score)
    n_mixed_dense: int

    def rows(self, name: str, rows: Any) -> Any:
        return getattr(self, name)[rows]


@dataclass
class Featurizer:
    """Turns views into level-1 design matrices; fitted on the training turns."""

    embedder: Embedder
    char: bool = True
    vectorizers: Vectorizers | None = None
    mean: np.ndarray | None = None
    scale: np.ndarray | None = None

    def fit(self, views: Sequence[SegmentView], block: Block) -> Featurizer:
        self.vectorizers = Vectorizers.fit([v.segment.text for v in views], self.char)
        dense = np.hstack([block.hand, block.cosines])
        self.mean = dense.mean(axis=0)
        std = dense.std(axis=0)
        self.scale = np.where(std > 1e-9, std, 1.0)
        return self

    def block(self, views: Sequence[SegmentView]) -> Block:
        return embed_views(views, self.embedder)

    def design(self, block: Block, fitting: bool = False) -> Design:
        from scipy import sparse

        assert self.vectorizers is not None and self.mean is not None
        word = self.vectorizers.word.transform(block.texts)
        n_word = word.shape[1]
        blocks = [word]
        if self.vectorizers.char is not None:
            blocks.append(self.vectorizers.char.transform(block.texts))
        text = sparse.hstack(blocks).tocsr()
        dialogue = (np.hstack([block.hand, block.cosines]) - self.mean) / self.scale
        # The turn and the other speaker's turns around it (NEIGHBOURS order: 3 and 4).
        emb = np.hstack([block.emb[:, :DIM], block.emb[:, 3 * DIM:5 * DIM]])
        dense = np.hstack([block.emb, dialogue]) * MIXED_DENSE_SCALE
        mixed = sparse.hstack([sparse.csr_matrix(dense), word]).tocsr() if fitting \
            else Split(dense, word)
        return Design(text, n_word, emb, dialogue, mixed, dense.shape[1])

    def terms(self) -> np.ndarray:
        """The word vocabulary, for rationales (built once: it is large)."""
        assert self.vectorizers is not None
        if getattr(self, "_terms", None) is None:
            self._terms = self.vectorizers.word.get_feature_names_out()
        return self._terms


@dataclass
class _Task:
    """One exclusive parent or one code: which code column each class stands for (-1: none)."""

    name: str
    classes: list[int]
    level1: dict[str, Any] = field(default_factory=dict)
    level2: Any = None
    weights: np.ndarray | None = None

    def proba(self, design: Design) -> np.ndarray:
        probs = {name: _proba(est, getattr(design, name), self.classes)
                 for name, est in self.level1.items()}
        if self.level2 is not None:
            p = _proba(self.level2, _level2_input([probs[n] for n in LEVEL1]), self.classes)
        else:
            p = probs["mixed"]
        return reweight(p, self.weights)


def _predict(est: Any, X: Any) -> np.ndarray:
    """``predict_proba`` of a fitted logistic regression, without scikit-learn's per-call input
    checks (they cost more than the product itself on a 40-turn transcript)."""
    coef = getattr(est, "coef_", None)
    if coef is None:
        return est.predict_proba(np.zeros((X.shape[0], 1)))
    z = (X.dot(coef) if isinstance(X, Split) else np.asarray(X @ coef.T)) + est.intercept_
    if coef.shape[0] == 1:
        p1 = 1.0 / (1.0 + np.exp(-z[:, 0]))
        return np.column_stack([1.0 - p1, p1])
    z -= z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def _proba(est: Any, X: Any, classes: list[int]) -> np.ndarray:
    """Probabilities in ``classes`` order (a fold may have lacked a class: probability 0)."""
    out = np.zeros((X.shape[0], len(classes)))
    p = _predict(est, X)
    for k, c in enumerate(est.classes_):
        out[:, classes.index(int(c))] = p[:, k]
    return out


def _level2_input(probs: list[np.ndarray]) -> np.ndarray:
    """Level 2 reads log-probabilities (better than raw probabilities in cross-validation)."""
    return np.log(np.clip(np.hstack(probs), 1e-4, 1.0))


def reweight(p: np.ndarray, weights: np.ndarray | None) -> np.ndarray:
    if weights is None:
        return p
    q = p * weights
    return q / np.maximum(q.sum(axis=1, keepdims=True), 1e-12)


def kappa(y: np.ndarray, pred: np.ndarray) -> float:
    """Cohen's kappa of two label arrays (textbook formula; 0 when chance agreement is 1)."""
    labels, inv = np.unique(np.concatenate([y, pred]), return_inverse=True)
    a, b = inv[:len(y)], inv[len(y):]
    k = len(labels)
    m = np.bincount(a * k + b, minlength=k * k).reshape(k, k) / max(len(y), 1)
    po, pe = np.trace(m), float(m.sum(axis=1) @ m.sum(axis=0))
    return (po - pe) / (1 - pe) if pe < 1 else 0.0


def tune_weights(p: np.ndarray, y: np.ndarray, passes: int = 3) -> np.ndarray:
    """Per-class multipliers on the probabilities whose argmax agrees best with ``y`` (kappa)."""
    w = np.ones(p.shape[1])
    best = kappa(y, p.argmax(axis=1))
    for _ in range(passes):
        improved = False
        for k in range(p.shape[1]):
            for g in WEIGHT_GRID:
                trial = w.copy()
                trial[k] = g
                score = kappa(y, (p * trial).argmax(axis=1))
                if score > best + 1e-9:
                    best, w, improved = score, trial, True
        if not improved:
            break
    return w / w.max()


def _logistic(C: float) -> Any:
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(C=C, max_iter=3000, class_weight="balanced", tol=TOL)


def _fit_level1(name: str, design: Design, rows: np.ndarray, y: np.ndarray) -> Any:
    if len(set(y.tolist())) < 2:
        from sklearn.dummy import DummyClassifier

        return DummyClassifier(strategy="prior").fit(np.zeros((len(y), 1)), y)
    return _logistic(C[name]).fit(design.rows(name, rows), y)


class LearnedSuggester:
    """Stacked logistic regressions over words, embeddings and the dialogue around each turn."""

    name = "learned"

    def __init__(self, embedder: Embedder | None = None, folds: int = 5, char: bool = True,
                 stack: bool = True) -> None:
        self.embedder = embedder
        self.folds = folds
        self.char = char
        self.stack = stack

    def fit(self, codebook: Codebook, examples: Sequence[Example] = ()) -> LearnedSuggester:
        scope = Scope(codebook)
        column = {c: j for j, c in enumerate(scope.codes)}
        grouped = {k for kids in scope.exclusive.values() for k in kids}
        self.scope_ = scope
        self.codes_ = scope.codes
        self.tasks_: list[_Task] = []
        self.exhaustive_: list[str] = []
        self.n_examples_ = len(examples)
        self.oof_: np.ndarray | None = None
        if not examples:
            self.features_ = None
            return self
        views = [ex.view for ex in examples]
        featurizer = Featurizer(self.embedder or Embedder(), self.char)
        block = featurizer.block(views)
        featurizer.fit(views, block)
        design = featurizer.design(block, fitting=True)
        groups = np.array([v.transcript for v in views])
        stacked = self.stack and len(set(groups.tolist())) >= MIN_GROUPS
        oof = np.zeros((len(examples), len(self.codes_))) if stacked else None
        labelled: list[tuple[str, list[int], list[int]]] = []  # name, rows, labels
        for parent, kids in scope.exclusive.items():
            rows, labels = [], []
            for i, ex in enumerate(examples):
                if not scope.mask(ex.view.segment)[column[kids[0]]]:
                    continue
                hit = [column[k] for k in kids if k in ex.positive]
                rows.append(i)
                labels.append(hit[0] if hit else -1)
            counts = {c: labels.count(c) for c in set(labels)}
            if len([c for c, n in counts.items() if n >= MIN_PER_CLASS]) < 2:
                continue
            if counts.get(-1, 0) <= 0.02 * len(labels):
                self.exhaustive_.append(parent)
            keep = [(r, y) for r, y in zip(rows, labels) if counts[y] >= MIN_PER_CLASS]
            labelled.append((parent, [r for r, _ in keep], [y for _, y in keep]))
        for code, j in column.items():
            if code in grouped:
                continue
            rows = [i for i, ex in enumerate(examples) if code in ex.positive or
                    code in ex.negative]
            ys = [j if code in examples[i].positive else -1 for i in rows]
            if ys.count(j) < MIN_PER_CLASS or ys.count(-1) < MIN_PER_CLASS:
                continue
            labelled.append((code, rows, ys))
        for name, rows, ys in labelled:
            task, p = self._fit_task(name, design, np.array(rows), np.array(ys), groups, stacked)
            self.tasks_.append(task)
            if oof is not None and p is not None:
                for k, col in enumerate(task.classes):
                    if col >= 0:
                        oof[rows, col] = p[:, k]
        self.oof_ = oof
        self.features_ = featurizer
        return self

    def _fit_task(self, name: str, design: Design, rows: np.ndarray, y: np.ndarray,
                  groups: np.ndarray, stacked: bool) -> tuple[_Task, np.ndarray | None]:
        """Fit one task; with ``stacked``, also return its out-of-fold probabilities."""
        classes = sorted(set(y.tolist()))
        task = _Task(name, classes)
        if not stacked:
            task.level1["mixed"] = _fit_level1("mixed", design, rows, y)
            return task, None
        from sklearn.model_selection import GroupKFold

        g = groups[rows]
        use_stack = len(rows) >= MIN_STACK_ROWS
        names = LEVEL1 if use_stack else ("mixed",)
        folds = GroupKFold(n_splits=min(self.folds, len(set(g.tolist()))))
        level1 = {n: np.zeros((len(rows), len(classes))) for n in names}
        for train, test in folds.split(rows, y, g):
            for n in names:
                est = _fit_level1(n, design, rows[train], y[train])
                level1[n][test] = _proba(est, design.rows(n, rows[test]), classes)
        for n in names:
            task.level1[n] = _fit_level1(n, design, rows, y)
        if use_stack:
            stacked_X = _level2_input([level1[n] for n in LEVEL1])
            task.level2 = _logistic(1.0).fit(stacked_X, y)
            p = _proba(task.level2, stacked_X, classes)
        else:
            p = level1["mixed"]
        task.weights = tune_weights(p, np.array([classes.index(c) for c in y]))
        return task, reweight(p, task.weights)

    @property
    def fitted(self) -> bool:
        return bool(getattr(self, "tasks_", None))

    def score(self, views: Sequence[SegmentView]) -> Scores:
        check_fitted(self, "tasks_")
        scores = Scores.empty(len(views), self.codes_)
        rows = [i for i, v in enumerate(views) if v.segment.text.strip()
                and self.scope_.mask(v.segment).any()]
        if not self.tasks_ or not rows:
            return scores
        featurizer = self.features_
        if featurizer is None:  # set by fit() whenever it trained a task
            raise RuntimeError("LearnedSuggester has trained tasks but no fitted features")
        design = featurizer.design(featurizer.block([views[i] for i in rows]))
        terms = featurizer.terms()
        for task in self.tasks_:
            proba = task.proba(design)
            for k, col in enumerate(task.classes):
                if col >= 0:
                    scores.values[rows, col] = proba[:, k]
            best = proba.argmax(axis=1)
            for r, i in enumerate(rows):
                col = task.classes[best[r]]
                if col >= 0 and proba[r, best[r]] >= 0.3:
                    scores.rationale[(i, col)] = self._why(task, design, r, col, terms)
        return scores

    def _why(self, task: _Task, design: Design, r: int, col: int, terms: np.ndarray) -> str:
        """The words in this segment that pushed the model most towards the code."""
        why = f"learned from {self.n_examples_} decisions"
        name = "words" if "words" in task.level1 else "mixed"
        est = task.level1[name]
        coef = getattr(est, "coef_", None)
        if coef is None:
            return why
        own = [int(c) for c in est.classes_]
        if coef.shape[0] > 1:
            weights = coef[own.index(col)]
        else:
            weights = coef[0] if own[1] == col else -coef[0]
        X = getattr(design, name)
        if isinstance(X, Split):  # the mixed model: its word columns follow the dense ones
            X, weights = X.sparse, weights[design.n_mixed_dense:]
        start, end = X.indptr[r], X.indptr[r + 1]
        idx, data = X.indices[start:end], X.data[start:end]
        keep = idx < design.n_word  # word n-grams, not character n-grams
        idx, contrib = idx[keep], data[keep] * weights[idx[keep]]
        top = [terms[idx[t]] for t in np.argsort(contrib)[::-1][:3] if contrib[t] > 0]
        return why + (f"; strongest terms: {', '.join(top)}" if top else "")


def uncertainty(values: np.ndarray) -> np.ndarray:
    """Per segment: how unsure the models are about its most uncertain code (1 = a coin toss)."""
    if not values.size:
        return np.zeros(len(values))
    return (1.0 - np.abs(2.0 * values - 1.0)).max(axis=1)

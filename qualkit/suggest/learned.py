"""Learned suggester: scikit-learn models trained on a researcher's own decisions.

Features per segment: its sentence embedding, the neighbouring turn's embedding and their
similarity (a reflection echoes what was just said; an answer depends on the question), TF-IDF
word n-grams, and a few surface cues (question marks, length, first-person and future forms).
Exclusive parents get one multinomial model over their children; other codes one binary model
each. ``uncertainty`` orders segments for review, most informative first (active learning).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Sequence

import numpy as np

from ..embed import Embedder
from ..model import Codebook
from .base import Example, Scope, Scores, SegmentView, check_fitted

MIN_PER_CLASS = 2
WH = re.compile(r"^\s*(what|how|why|when|where|who|which|do|does|did|is|are|can|could|would|"
                r"will|have|has|tell me)\b", re.I)
FIRST_FUTURE = re.compile(r"\b(i'?m going to|i will|i'll|i want|i need|i could|i should|"
                          r"i can|i'd like)\b", re.I)
NEGATION = re.compile(r"\b(not|n't|never|no|don't|can't|won't)\b", re.I)


def surface(text: str) -> list[float]:
    t = text.strip()
    words = t.split()
    return [float(t.endswith("?")), float("?" in t), float(bool(WH.match(t))),
            np.log1p(len(words)) / 5.0, float(bool(FIRST_FUTURE.search(t))),
            float(bool(NEGATION.search(t))),
            sum(w.lower().strip(",.?!") in ("you", "you're", "your") for w in words) / (1 + len(words)),
            sum(w.lower().strip(",.?!") in ("i", "i'm", "me", "my") for w in words) / (1 + len(words))]


@dataclass
class Features:
    """Turns views into one feature matrix; fitted on training texts (TF-IDF vocabulary)."""

    embedder: Embedder
    tfidf: object = None

    def fit(self, views: Sequence[SegmentView]) -> "Features":
        from sklearn.feature_extraction.text import TfidfVectorizer

        self.tfidf = TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True,
                                     max_features=50000).fit([v.segment.text for v in views])
        return self

    def transform(self, views: Sequence[SegmentView]):  # -> scipy.sparse matrix
        from scipy import sparse

        texts = [v.segment.text for v in views]
        prev = [v.previous.text if v.previous is not None else "" for v in views]
        emb = self.embedder.encode(texts)
        known = [i for i, t in enumerate(prev) if t.strip()]
        emb_prev = np.zeros_like(emb)
        if known:
            emb_prev[known] = self.embedder.encode([prev[i] for i in known])
        cos = (emb * emb_prev).sum(axis=1, keepdims=True)
        dense = np.hstack([emb, emb_prev, emb * emb_prev, cos,
                           np.array([surface(t) for t in texts]),
                           np.array([[v.position] for v in views])])
        return sparse.hstack([sparse.csr_matrix(dense), self.tfidf.transform(texts)]).tocsr()

    def terms(self) -> np.ndarray:
        return self.tfidf.get_feature_names_out()


@dataclass
class _Model:
    columns: list[int]  # code columns this model predicts
    estimator: object
    classes: list[int] = field(default_factory=list)  # column per estimator class (-1: none)


class LearnedSuggester:
    """Logistic-regression models over embeddings, context and TF-IDF features."""

    name = "learned"

    def __init__(self, embedder: Embedder | None = None, C: float = 2.0) -> None:
        self.embedder = embedder
        self.C = C

    def fit(self, codebook: Codebook, examples: Sequence[Example] = ()) -> "LearnedSuggester":
        from sklearn.linear_model import LogisticRegression

        scope = Scope(codebook)
        column = {c: j for j, c in enumerate(scope.codes)}
        grouped = {k for kids in scope.exclusive.values() for k in kids}
        self.scope_ = scope
        self.codes_ = scope.codes
        self.models_: list[_Model] = []
        self.exhaustive_: list[str] = []
        self.n_examples_ = len(examples)
        if not examples:
            self.features_ = None
            return self
        features = Features(self.embedder or Embedder()).fit([ex.view for ex in examples])
        X = features.transform([ex.view for ex in examples])
        for parent, kids in scope.exclusive.items():
            in_scope = [i for i, ex in enumerate(examples)
                        if scope.mask(ex.view.segment)[column[kids[0]]]]
            labels = []
            for i in in_scope:
                hit = [column[k] for k in kids if k in examples[i].positive]
                labels.append(hit[0] if hit else -1)
            counts = {c: labels.count(c) for c in set(labels)}
            if len([c for c, n in counts.items() if n >= MIN_PER_CLASS]) < 2:
                continue
            if counts.get(-1, 0) <= 0.02 * len(labels):
                self.exhaustive_.append(parent)
            rows = [i for i, y in zip(in_scope, labels) if counts[y] >= MIN_PER_CLASS]
            ys = [y for y in labels if counts[y] >= MIN_PER_CLASS]
            est = LogisticRegression(C=self.C, max_iter=2000, class_weight="balanced")
            est.fit(X[rows], ys)
            self.models_.append(_Model([column[k] for k in kids], est, [int(c) for c in est.classes_]))
        for code, j in column.items():
            if code in grouped:
                continue
            rows, ys = [], []
            for i, ex in enumerate(examples):
                if code in ex.positive or code in ex.negative:
                    rows.append(i)
                    ys.append(int(code in ex.positive))
            if sum(ys) < MIN_PER_CLASS or len(ys) - sum(ys) < MIN_PER_CLASS:
                continue
            est = LogisticRegression(C=self.C, max_iter=2000, class_weight="balanced")
            est.fit(X[rows], ys)
            self.models_.append(_Model([j], est, [-1, j]))
        self.features_ = features
        return self

    @property
    def fitted(self) -> bool:
        return bool(getattr(self, "models_", None))

    def score(self, views: Sequence[SegmentView]) -> Scores:
        check_fitted(self, "models_")
        scores = Scores.empty(len(views), self.codes_)
        rows = [i for i, v in enumerate(views) if v.segment.text.strip()
                and self.scope_.mask(v.segment).any()]
        if not self.models_ or not rows:
            return scores
        X = self.features_.transform([views[i] for i in rows])
        terms = self.features_.terms()
        n_dense = X.shape[1] - len(terms)
        for model in self.models_:
            proba = model.estimator.predict_proba(X)
            for k, col in enumerate(model.classes):
                if col >= 0:
                    scores.values[rows, col] = proba[:, k]
            coef = model.estimator.coef_
            for r, i in enumerate(rows):
                k = int(np.argmax(proba[r]))
                col = model.classes[k]
                if col < 0 or proba[r, k] < 0.3:
                    continue
                weights = coef[k] if coef.shape[0] > 1 else (coef[0] if k == 1 else -coef[0])
                scores.rationale[(i, col)] = self._why(X, r, weights, n_dense, terms)
        return scores

    def _why(self, X, r: int, weights: np.ndarray, n_dense: int, terms: np.ndarray) -> str:
        """The words in this segment that pushed the model most towards the code."""
        start, end = X.indptr[r], X.indptr[r + 1]
        idx, data = X.indices[start:end], X.data[start:end]
        keep = idx >= n_dense
        idx, contrib = idx[keep], data[keep] * weights[idx[keep]]
        top = [terms[idx[t] - n_dense] for t in np.argsort(contrib)[::-1][:3] if contrib[t] > 0]
        why = f"learned from {self.n_examples_} decisions"
        return why + (f"; strongest terms: {', '.join(top)}" if top else "")


def uncertainty(values: np.ndarray) -> np.ndarray:
    """Per segment: how unsure the models are about its most uncertain code (1 = a coin toss)."""
    if not values.size:
        return np.zeros(len(values))
    return (1.0 - np.abs(2.0 * values - 1.0)).max(axis=1)

"""Semantic suggester: sentence embeddings compared with what the codebook says about each code.

Each code's prototypes are its definition, include rules and examples, plus extracts a person
has already accepted for it. A segment's score for a code is the best cosine similarity between
any of its sentences and any prototype, mapped to [0, 1]; the best sentence is the span and the
nearest prototype the rationale. With enough decisions for a code, that mapping is fitted to them
(Platt scaling); otherwise a fixed curve is used.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from ..embed import Embedder
from ..model import Codebook
from .base import Example, Scope, Scores, SegmentView, check_fitted
from .rules import sentence_bounds

MIN_CHUNK_WORDS = 5
MAX_EXTRACTS = 200
CENTER, SLOPE = 0.45, 12.0  # default similarity -> score curve (sim 0.45 -> 0.5)
MIN_CALIBRATION = 3  # positives and negatives a code needs before its curve is fitted


def chunks(text: str) -> list[tuple[int, int]]:
    """Sentence spans of ``text`` (trimmed), short sentences merged into their neighbour."""
    bounds = sentence_bounds(text)
    spans = [(a, b) for a, b in zip(bounds, bounds[1:]) if text[a:b].strip()]
    merged: list[tuple[int, int]] = []
    for a, b in spans:
        if merged and len(text[merged[-1][0]:merged[-1][1]].split()) < MIN_CHUNK_WORDS:
            merged[-1] = (merged[-1][0], b)
        else:
            merged.append((a, b))
    if len(merged) > 1 and len(text[merged[-1][0]:merged[-1][1]].split()) < MIN_CHUNK_WORDS:
        last = merged.pop()
        merged[-1] = (merged[-1][0], last[1])
    out = []
    for a, b in merged or [(0, len(text))]:
        piece = text[a:b]
        start = a + len(piece) - len(piece.lstrip())
        out.append((start, start + len(piece.strip())))
    return out


@dataclass
class _Prototype:
    code: int
    text: str
    kind: str  # "definition", "include rule", "example", "accepted extract"


def _short(text: str, limit: int = 90) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


class SemanticSuggester:
    """Similarity between segment sentences and each code's definition, rules and examples."""

    name = "semantic"

    def __init__(self, embedder: Embedder | None = None, max_extracts: int = MAX_EXTRACTS) -> None:
        self.embedder = embedder
        self.max_extracts = max_extracts

    def fit(self, codebook: Codebook, examples: Sequence[Example] = ()) -> "SemanticSuggester":
        embedder = self.embedder or Embedder()
        scope = Scope(codebook)
        column = {c: j for j, c in enumerate(scope.codes)}
        protos: list[_Prototype] = []
        for code in codebook.all_codes():
            if code.is_theme:
                continue  # themes are found through their codes, not suggested themselves
            j = column[code.id]
            if code.definition.strip():
                protos.append(_Prototype(j, f"{code.name}: {code.definition}", "definition"))
            protos += [_Prototype(j, t, "include rule") for t in code.include]
            protos += [_Prototype(j, t, "example") for t in code.examples]
        extracts: dict[int, list[str]] = {}
        for ex in examples:
            for code in ex.positive:
                if code in column:
                    extracts.setdefault(column[code], []).append(ex.view.segment.text)
        for j, texts in extracts.items():
            for text in list(dict.fromkeys(texts))[-self.max_extracts:]:
                protos.append(_Prototype(j, text, "accepted extract"))
        self.embedder_ = embedder
        self.scope_ = scope
        self.codes_ = scope.codes
        self.prototypes_ = protos
        self.proto_vectors_ = embedder.encode([p.text for p in protos]) if protos else \
            np.zeros((0, 384), dtype=np.float32)
        self.proto_code_ = np.array([p.code for p in protos], dtype=int)
        self.curves_ = self._calibrate(examples, column)
        return self

    def _similarities(self, views: Sequence[SegmentView], exclude_self: bool = False
                      ) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[list[tuple[int, int]]]]:
        """Per view and code: best similarity, index of the best prototype, best chunk index.

        With ``exclude_self`` a view is not compared with an accepted extract of its own text
        (used when calibrating on the very decisions the extracts came from)."""
        n, k = len(views), len(self.codes_)
        sims = np.full((n, k), -1.0)
        best_proto = np.full((n, k), -1, dtype=int)
        best_chunk = np.zeros((n, k), dtype=int)
        # Only segments some code applies to (e.g. not the interviewer's) are embedded.
        spans = [chunks(v.segment.text) if v.segment.text.strip()
                 and self.scope_.mask(v.segment).any() else [] for v in views]
        texts = [v.segment.text[a:b] for v, sp in zip(views, spans) for a, b in sp]
        if not texts or not len(self.prototypes_):
            return sims, best_proto, best_chunk, spans
        vectors = self.embedder_.encode(texts)
        all_sims = vectors @ self.proto_vectors_.T  # (chunks, prototypes)
        owner = np.repeat(np.arange(n), [len(sp) for sp in spans])
        if exclude_self:
            own: dict[str, list[int]] = {}
            for c, proto in enumerate(self.prototypes_):
                if proto.kind == "accepted extract":
                    own.setdefault(proto.text, []).append(c)
            for i, view in enumerate(views):
                cols = own.get(view.segment.text)
                if cols:
                    all_sims[np.ix_(owner == i, cols)] = -1.0
        counts = np.array([len(sp) for sp in spans])
        first_chunk = np.concatenate([[0], np.cumsum(counts)[:-1]])
        # Per chunk and code: the best prototype of that code; then per view and code, the
        # best chunk (the first of equals), for all views at once.
        n_chunks = len(texts)
        code_best = np.full((n_chunks, k), -np.inf)
        code_arg = np.full((n_chunks, k), -1, dtype=int)
        for j in range(k):
            cols = np.flatnonzero(self.proto_code_ == j)
            if not len(cols):
                continue
            sub = all_sims[:, cols]
            arg = sub.argmax(axis=1)
            code_best[:, j] = sub[np.arange(n_chunks), arg]
            code_arg[:, j] = cols[arg]
        has = np.flatnonzero(counts > 0)
        starts = first_chunk[has]
        view_best = np.maximum.reduceat(code_best, starts, axis=0)
        at_best = code_best == np.repeat(view_best, counts[has], axis=0)
        pick = np.minimum.reduceat(np.where(at_best, np.arange(n_chunks)[:, None], n_chunks),
                                   starts, axis=0)
        valid = np.isfinite(view_best)
        sims[has] = np.where(valid, view_best, -1.0)
        best_proto[has] = np.where(valid, code_arg[pick, np.arange(k)[None, :]], -1)
        best_chunk[has] = np.where(valid, pick - starts[:, None], 0)
        return sims, best_proto, best_chunk, spans

    def _calibrate(self, examples: Sequence[Example], column: dict[str, int]
                   ) -> dict[int, tuple[float, float]]:
        """Per-code (slope, intercept) fitted to decisions, where a code has enough of them."""
        if not examples:
            return {}
        from sklearn.linear_model import LogisticRegression

        sims, _, _, _ = self._similarities([ex.view for ex in examples], exclude_self=True)
        curves: dict[int, tuple[float, float]] = {}
        for code, j in column.items():
            rows = [(i, 1 if code in ex.positive else 0) for i, ex in enumerate(examples)
                    if code in ex.positive or code in ex.negative]
            labels = [y for _, y in rows]
            if sum(labels) >= MIN_CALIBRATION and len(labels) - sum(labels) >= MIN_CALIBRATION:
                x = sims[[i for i, _ in rows], j][:, None]
                model = LogisticRegression(C=10.0).fit(x, labels)
                curves[j] = (float(model.coef_[0, 0]), float(model.intercept_[0]))
        return curves

    def score(self, views: Sequence[SegmentView]) -> Scores:
        check_fitted(self, "prototypes_")
        sims, best_proto, best_chunk, spans = self._similarities(views)
        scores = Scores.empty(len(views), self.codes_)
        for j in range(len(self.codes_)):
            slope, intercept = self.curves_.get(j, (SLOPE, -SLOPE * CENTER))
            scores.values[:, j] = 1.0 / (1.0 + np.exp(-(slope * sims[:, j] + intercept)))
        scores.values[best_proto < 0] = 0.0
        for i, j in zip(*np.nonzero(scores.values >= 0.3)):
            i, j = int(i), int(j)
            proto = self.prototypes_[best_proto[i, j]]
            scores.rationale[(i, j)] = f'similar ({sims[i, j]:.2f}) to {proto.kind} ' \
                                       f'"{_short(proto.text)}"'
            a, b = spans[i][best_chunk[i, j]]
            start = views[i].segment.start
            scores.spans[(i, j)] = (start + a, start + b)
        return scores

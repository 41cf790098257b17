"""Semantic suggester: sentence embeddings compared with what the codebook says about each code.

Each code's prototypes are its definition, include rules and examples (its name alone when it
has none of these), and, with ``extracts``, passages a person has accepted for it. A segment's
score for a code is the best cosine similarity between any of its sentences and any prototype,
mapped to [0, 1] by a fixed curve; the best sentence is the span and the nearest prototype the
rationale. Exclude rules and passages a person rejected for the code are negative prototypes: a
turn at least as close to one of them as to any positive prototype scores half as much.
Calibration against decisions is the combined suggester's job, done out of fold.

The curve was set on MiniLM's similarities. Another model's are mapped onto that scale per
study (``study_scale``): how similar a study's sentences are to its codebook under e5 depends on
the language (German interviews with a German codebook sit far higher than English with
English), so a fixed map would flood one study and starve another.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TypeVar

import numpy as np

from ..embed import Embedder
from ..model import Codebook, Transcript
from .base import Example, Scope, Scores, SegmentView, check_fitted, views_of
from .rules import sentence_bounds

T = TypeVar("T")
MIN_CHUNK_WORDS = 5
MAX_EXTRACTS = 200
# similarity -> score curve (sim 0.45 -> 0.5), on MiniLM's scale (another model's: study_scale)
CENTER, SLOPE = 0.45, 12.0
PENALTY = 0.5  # a turn nearer a code's exclude rule or a rejected passage than to the code
NEAR_REJECTED = 0.6  # similarity to a rejected passage that counts as "like it"
BATCH_TURNS = 2000  # turns scored at once: memory stays bounded, the cost per turn flat
BATCH_CELLS = 1_000_000  # and at most this many turn x code cells (a large codebook: fewer)
# A study's scale: the quantiles of each turn's best similarity to each code's prototypes,
# mapped by a straight line onto MiniLM's, the mean over the English sample study and ten
# AnnoMI sessions (``python -m benchmarks.embedders --data both --fit-scale`` prints them).
SCALE_QUANTILES = (0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95, 0.99)
REFERENCE_SIMILARITY = (0.282, 0.295, 0.308, 0.323, 0.34, 0.36, 0.383, 0.406, 0.444, 0.504,
                        0.645)
MIN_SCALE_PAIRS = 300  # fewer turn x code pairs: the model's fixed map (``EmbeddingModel.scale``)
SCALE_TRANSCRIPTS = 40  # a study's scale reads at most this many transcripts,
SCALE_TURNS = 30  # and at most this many turns of each, evenly spread


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

    def __init__(self, embedder: Embedder | None = None, max_extracts: int = MAX_EXTRACTS,
                 codebook: bool = True, extracts: bool = True,
                 batch_size: int = BATCH_TURNS, scale: tuple[float, float] | None = None
                 ) -> None:
        self.embedder = embedder
        self.scale = scale  # None: the embedder's (its study's) map onto MiniLM's scale
        self.max_extracts = max_extracts
        self.codebook = codebook
        self.extracts = extracts
        self.batch_size = batch_size  # turns embedded and compared at once (a turn's score
        # depends on that turn alone, so batches change only memory and speed, and the last
        # float32 bit of a similarity: the matrix product's kernel depends on its shape)

    def fit(self, codebook: Codebook, examples: Sequence[Example] = ()) -> SemanticSuggester:
        embedder = self.embedder or Embedder()
        scope = Scope(codebook)
        column = {c: j for j, c in enumerate(scope.codes)}
        protos: list[_Prototype] = []
        negatives: list[_Prototype] = []
        for code in codebook.all_codes():
            if code.is_theme:
                continue  # themes are found through their codes, not suggested themselves
            j = column[code.id]
            negatives += [_Prototype(j, t, "exclude rule") for t in code.exclude]
            if not self.codebook:
                continue
            if code.definition.strip():
                protos.append(_Prototype(j, f"{code.name}: {code.definition}", "definition"))
            protos += [_Prototype(j, t, "include rule") for t in code.include]
            protos += [_Prototype(j, t, "example") for t in code.examples]
            if not (code.definition.strip() or code.include or code.examples):
                protos.append(_Prototype(j, code.name, "name"))
        accepted: dict[int, list[str]] = {}
        rejected: dict[int, list[str]] = {}
        for ex in examples:
            for code_id in ex.positive:
                if code_id in column:
                    accepted.setdefault(column[code_id], []).append(ex.view.segment.text)
            for code_id in ex.rejected:
                if code_id in column:
                    rejected.setdefault(column[code_id], []).append(ex.view.segment.text)
        if self.extracts:
            for j, texts in accepted.items():
                for text in list(dict.fromkeys(texts))[-self.max_extracts:]:
                    protos.append(_Prototype(j, text, "accepted extract"))
        for j, texts in rejected.items():
            for text in list(dict.fromkeys(texts))[-self.max_extracts:]:
                negatives.append(_Prototype(j, text, "rejected passage"))
        self.embedder_ = embedder
        self.scale_ = self.scale or embedder.scale  # kept: a cluster worker has its own embedder
        self.scope_ = scope
        self.codes_ = scope.codes
        self.prototypes_ = protos
        self.proto_vectors_ = embedder.encode([p.text for p in protos]) if protos else \
            np.zeros((0, 384), dtype=np.float32)
        self.proto_code_ = np.array([p.code for p in protos], dtype=int)
        self.negatives_ = negatives
        self.negative_vectors_ = embedder.encode([p.text for p in negatives]) if negatives \
            else np.zeros((0, 384), dtype=np.float32)
        self.negative_code_ = np.array([p.code for p in negatives], dtype=int)
        # which negatives are passages a person rejected (the others: exclude rules)
        self.rejected_ = np.array([p.kind == "rejected passage" for p in negatives], dtype=bool)
        return self

    def _common(self, sims: np.ndarray) -> np.ndarray:
        """Similarities on the scale the curve and ``NEAR_REJECTED`` were set on (MiniLM's)."""
        return on_scale(sims, self.scale_)

    def _similarities(self, views: Sequence[SegmentView]
                      ) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[list[tuple[int, int]]],
                                 np.ndarray, np.ndarray]:
        """Per view and code: best similarity, index of the best prototype, best chunk index,
        the chunks; and the best similarity to a negative prototype with its index."""
        n, k = len(views), len(self.codes_)
        neg_sims = np.full((n, k), -1.0)
        neg_best = np.full((n, k), -1, dtype=int)
        sims = np.full((n, k), -1.0)
        best_proto = np.full((n, k), -1, dtype=int)
        best_chunk = np.zeros((n, k), dtype=int)
        # Only segments some code applies to (e.g. not the interviewer's) are embedded.
        spans = [chunks(v.segment.text) if v.segment.text.strip()
                 and self.scope_.mask(v.segment).any() else [] for v in views]
        texts = [v.segment.text[a:b] for v, sp in zip(views, spans) for a, b in sp]
        if not texts or not len(self.prototypes_):
            return sims, best_proto, best_chunk, spans, neg_sims, neg_best
        vectors = self.embedder_.encode(texts)
        all_sims = self._common(vectors @ self.proto_vectors_.T)  # (chunks, prototypes)
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
        if len(self.negatives_):
            neg_raw = vectors @ self.negative_vectors_.T  # (chunks, negatives)
            neg_all = self._common(neg_raw)
            # A rejected passage is the study's own text, so a turn's likeness to it is not
            # moved by the codebook's language the study's map corrects for: the model's
            # fixed map (a German turn is far more like another German turn than like an
            # English definition; on the study's map, a turn in the same interview as a
            # rejected passage would count against the code)
            passages = np.flatnonzero(self.rejected_)
            if len(passages):
                neg_all[:, passages] = on_scale(neg_raw[:, passages],
                                                self.embedder_.spec.scale)
            for j in np.unique(self.negative_code_):
                cols = np.flatnonzero(self.negative_code_ == j)
                sub = neg_all[:, cols]
                per_view = np.maximum.reduceat(sub.max(axis=1), starts)
                arg_chunk = np.maximum.reduceat(sub, starts, axis=0).argmax(axis=1)
                neg_sims[has, j] = per_view
                neg_best[has, j] = cols[arg_chunk]
        return sims, best_proto, best_chunk, spans, neg_sims, neg_best

    def score(self, views: Sequence[SegmentView]) -> Scores:
        """Scores for every view, ``batch_size`` views at a time: the sentences of one batch
        are embedded and compared with the prototypes together, so memory is bounded by the
        batch, not the transcript."""
        check_fitted(self, "prototypes_")
        scores = Scores.empty(len(views), self.codes_)
        step = max(1, min(int(self.batch_size), BATCH_CELLS // max(len(self.codes_), 1)))
        for lo in range(0, len(views), step):
            self._score_batch(views[lo:lo + step], lo, scores)
        return scores

    def _score_batch(self, views: Sequence[SegmentView], offset: int, scores: Scores) -> None:
        """Fill rows ``offset`` onwards of ``scores`` with these views' scores and evidence."""
        sims, best_proto, best_chunk, spans, neg_sims, neg_best = self._similarities(views)
        values = 1.0 / (1.0 + np.exp(-SLOPE * (sims - CENTER)))
        values[best_proto < 0] = 0.0
        against = (neg_best >= 0) & (neg_sims >= sims) & (best_proto >= 0)
        # A rejected passage counts against only a turn that is close to it, not one that
        # merely shares the interview's way of talking.
        rejected = self.rejected_ if len(self.rejected_) else np.array([False])
        against &= ~(rejected[np.maximum(neg_best, 0)] & (neg_sims < NEAR_REJECTED))
        values[against] *= PENALTY
        scores.values[offset:offset + len(views)] = values
        for i, j in zip(*np.nonzero(values >= 0.3)):
            i, j = int(i), int(j)
            proto = self.prototypes_[best_proto[i, j]]
            why = f'similar ({sims[i, j]:.2f}) to {proto.kind} "{_short(proto.text)}"'
            if against[i, j]:
                neg = self.negatives_[neg_best[i, j]]
                why += f'; but as close ({neg_sims[i, j]:.2f}) to {neg.kind} "{_short(neg.text)}"'
            scores.rationale[(offset + i, j)] = why
            a, b = spans[i][best_chunk[i, j]]
            start = views[i].segment.start
            scores.spans[(offset + i, j)] = (start + a, start + b)


def on_scale(sims: np.ndarray, scale: tuple[float, float]) -> np.ndarray:
    """Similarities through a map (slope, intercept) onto MiniLM's scale."""
    a, b = scale
    return sims if (a, b) == (1.0, 0.0) else np.clip(a * sims + b, -1.0, 1.0)


def evenly(items: Sequence[T], most: int) -> list[T]:
    """At most ``most`` of ``items``, evenly spread, in order."""
    if len(items) <= most:
        return list(items)
    return [items[i * len(items) // most] for i in range(most)]


def line_onto_reference(sims: np.ndarray) -> tuple[float, float]:
    """The least-squares line (slope, intercept) through the quantiles (``SCALE_QUANTILES``)
    of ``sims`` against MiniLM's (``REFERENCE_SIMILARITY``)."""
    slope, intercept = np.polyfit(np.quantile(sims, SCALE_QUANTILES), REFERENCE_SIMILARITY, 1)
    return float(slope), float(intercept)


def study_scale(codebook: Codebook, embedder: Embedder, transcripts: Iterable[Transcript]
                ) -> tuple[float, float]:
    """The straight line mapping this study's similarities (up to ``SCALE_TURNS`` coded
    speakers' turns of each transcript against the codebook's prototypes; no codings read)
    onto MiniLM's scale: least squares through their quantiles against
    ``REFERENCE_SIMILARITY``. MiniLM keeps its own scale (nothing is read); a study too small
    to say, or whose line is implausible (a slope more than twice or less than half the
    model's fixed one), keeps the model's fixed map."""
    spec = embedder.spec
    if not spec.adapts:
        return spec.scale
    scope = Scope(codebook)
    views: list[SegmentView] = []
    for transcript in transcripts:
        views += evenly([v for v in views_of(transcript)
                         if v.segment.text.strip() and scope.mask(v.segment).any()], SCALE_TURNS)
    probe = SemanticSuggester(embedder, extracts=False, scale=(1.0, 0.0)).fit(codebook)
    sims = probe._similarities(views)[0]
    raw = sims[(sims > -1.0) & (sims < 0.999)]  # not an example quoted word for word
    if raw.size < MIN_SCALE_PAIRS:
        return spec.scale
    line = line_onto_reference(raw)
    if not (np.isfinite(line[0]) and spec.scale[0] / 2 <= line[0] <= spec.scale[0] * 2):
        return spec.scale
    return line

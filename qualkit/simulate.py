"""Replay a researcher against a gold standard: `qualkit evaluate --simulate`.

The real regime of qualkit is a researcher starting from a codebook alone, reviewing machine
suggestions transcript by transcript and retraining now and then. This module replays that in a
real temporary project, with a gold coded-segments table standing in for the researcher:

1. Every gold transcript is imported without its codes and the suggesters run (`qualkit code`).
2. Transcripts are opened in a fixed, seeded random order. In each, the researcher decides its
   pending suggestions in the review queue's order (``review.pending``): accept where the gold
   turn has the code; accept as a sibling (``review.accept`` with ``code_id``) where the gold has
   a sibling of the suggested code (same parent) and not the code itself; reject otherwise. Then
   they code by hand, over the whole turn, the gold codes no suggestion found. Every accept,
   reject and hand code is one decision.
3. At each checkpoint (a number of decisions, reached once the decisions so far are at least
   that; the transcript in progress is finished first) the suggesters are retrained as the app
   does (``code_project`` over the transcripts not yet reviewed) and measured on those
   transcripts only: ``evaluate.score_predictions`` per code and macro; suggestions and gold
   codes per turn; the share of turns with five or more suggestions; top-1 and top-3 precision;
   a reliability table of the shown confidences and their expected calibration error; review
   effort. Beside it, a baseline trained on the same decisions: per code, TF-IDF and a
   class-balanced logistic regression.

The replay stops early when no transcript is left to measure on.
"""

from __future__ import annotations

import json
import math
import random
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import QualkitError
from .evaluate import (
    NAN,
    Evaluation,
    format_evaluation,
    gold_codes,
    json_ready,
    num,
    score_predictions,
)
from .fileio import atomic_write_text
from .model import Codebook, ImportedDocument, Suggestion

Progress = Callable[[int, int, str], None]

CHECKPOINTS = (0, 25, 50, 100, 200, 400, 800)
SUGGESTERS = ("rules", "semantic", "learned")
RESEARCHER = "researcher"
MANY = 5  # a turn with this many suggestions or more is a wall of suggestions
BINS = 10


@dataclass
class ReliabilityBin:
    """Suggestions whose shown confidence falls in [low, high) (the last bin includes 1)."""

    low: float
    high: float
    count: int
    mean_confidence: float  # NaN when empty
    precision: float  # share the gold has; NaN when empty


@dataclass
class Tally:
    """Decisions made so far, by kind."""

    accepted: int = 0
    accepted_as: int = 0  # accepted with a sibling code
    rejected: int = 0
    hand_coded: int = 0

    @property
    def decisions(self) -> int:
        return self.accepted + self.accepted_as + self.rejected + self.hand_coded

    @property
    def found(self) -> int:
        """Gold codings coded so far (every gold code of a reviewed transcript ends up coded)."""
        return self.accepted + self.accepted_as + self.hand_coded

    def add(self, other: Tally) -> None:
        self.accepted += other.accepted
        self.accepted_as += other.accepted_as
        self.rejected += other.rejected
        self.hand_coded += other.hand_coded


@dataclass
class Checkpoint:
    """The figures at one checkpoint, measured on the transcripts not yet reviewed."""

    checkpoint: int  # the largest checkpoint reached by this measurement
    passed: list[int]  # every checkpoint it stands for (several when one transcript crossed them)
    decisions: int  # decisions actually made so far
    tally: Tally
    reviewed: int  # transcripts reviewed
    measured: int  # transcripts measured on (the others)
    turns: int  # coded speakers' turns (with text) in the measured transcripts
    training_examples: int  # examples the learned suggester trained on
    learned_codes: list[str]  # codes (and exclusive parents) a learned model took over
    machine: Evaluation
    baseline: Evaluation
    codebook: Evaluation  # the codebook alone (no decisions) on the same turns
    suggestions: int  # suggestions shown (the strongest few per turn) on the measured turns
    calibrated: int  # of those, how many show a percentage (a calibrated probability)
    gold_codings: int  # gold codes on the measured turns
    suggestions_per_turn: float
    gold_per_turn: float
    many_share: float  # share of turns with MANY or more suggestions
    many_turns: int
    top1_precision: float  # NaN when no turn has a suggestion
    top3_precision: float
    turns_with_suggestions: int
    reliability: list[ReliabilityBin]
    ece: float
    ece_floor: float  # the ECE perfectly calibrated percentages would show at these counts
    effort: float  # gold codings found per decision so far; NaN before any decision
    seconds: float  # retraining and suggesting for this checkpoint

    @property
    def found(self) -> int:
        return self.tally.found

    def to_dict(self) -> dict[str, Any]:
        return json_ready({
            "checkpoint": self.checkpoint, "passed": self.passed, "decisions": self.decisions,
            "accepted": self.tally.accepted, "accepted_as": self.tally.accepted_as,
            "rejected": self.tally.rejected, "hand_coded": self.tally.hand_coded,
            "found": self.found, "effort": self.effort,
            "reviewed": self.reviewed, "measured": self.measured, "turns": self.turns,
            "training_examples": self.training_examples, "learned_codes": self.learned_codes,
            "machine": self.machine.to_dict(), "baseline": self.baseline.to_dict(),
            "codebook": self.codebook.to_dict(),
            "suggestions": self.suggestions, "calibrated": self.calibrated,
            "gold_codings": self.gold_codings,
            "suggestions_per_turn": self.suggestions_per_turn,
            "gold_per_turn": self.gold_per_turn, "many_share": self.many_share,
            "many_turns": self.many_turns, "top1_precision": self.top1_precision,
            "top3_precision": self.top3_precision,
            "turns_with_suggestions": self.turns_with_suggestions,
            "reliability": [vars(b) for b in self.reliability], "ece": self.ece,
            "ece_floor": self.ece_floor,
            "seconds": self.seconds})


@dataclass
class Simulation:
    checkpoints: list[Checkpoint]
    codebook: str
    transcripts: int
    turns: int  # coded speakers' turns with text, all transcripts
    gold_codings: int
    order: list[str]  # the order the transcripts were opened in
    suggesters: tuple[str, ...]
    seed: int
    stopped: str = ""  # why the replay stopped before the last checkpoint, if it did
    seconds: float = 0.0
    embeddings: str = "english"  # the embedding model (embed.EMBEDDINGS)

    def to_dict(self) -> dict[str, Any]:
        return {"codebook": self.codebook, "transcripts": self.transcripts, "turns": self.turns,
                "gold_codings": self.gold_codings, "order": self.order,
                "suggesters": list(self.suggesters), "embeddings": self.embeddings,
                "seed": self.seed, "stopped": self.stopped,
                "seconds": round(self.seconds, 1),
                "checkpoints": [c.to_dict() for c in self.checkpoints]}


# ---------------------------------------------------------------------------------------------
# Input


def parse_checkpoints(text: str | Iterable[int]) -> tuple[int, ...]:
    """'0,25,50' (or numbers) -> sorted distinct checkpoints; a bad value is a QualkitError."""
    items = [p.strip() for p in text.split(",")] if isinstance(text, str) else list(text)
    out = set()
    for item in items:
        if item == "":
            continue
        try:
            value = int(item)
        except (TypeError, ValueError):
            raise QualkitError(f"checkpoint {item!r} is not a whole number", field="--checkpoints",
                               hint="give decision counts separated by commas, e.g. 0,25,50"
                               ) from None
        if value < 0:
            raise QualkitError(f"checkpoint {value} is negative", field="--checkpoints",
                               hint="give decision counts of 0 or more")
        out.add(value)
    if not out:
        raise QualkitError("no checkpoints given", field="--checkpoints",
                           hint="give decision counts separated by commas, e.g. 0,25,50")
    return tuple(sorted(out))


def parse_suggesters(text: str | Iterable[str]) -> tuple[str, ...]:
    items = [p.strip() for p in text.split(",")] if isinstance(text, str) else list(text)
    chosen = tuple(s for s in items if s)
    unknown = [s for s in chosen if s not in SUGGESTERS]
    if unknown or not chosen:
        raise QualkitError(f"unknown suggester {unknown[0]!r}" if unknown else "no suggester",
                           field="--suggesters", hint=f"choose from {', '.join(SUGGESTERS)}")
    return chosen


# ---------------------------------------------------------------------------------------------
# Measures


def reliability(confidences: Sequence[float], correct: Sequence[bool], bins: int = BINS
                ) -> tuple[list[ReliabilityBin], float]:
    """Reliability table over equal-width bins of confidence, and the expected calibration
    error: the count-weighted mean of |observed precision - mean confidence| over the bins
    (Naeini et al. 2015). NaN when there is no confidence at all."""
    if len(confidences) != len(correct):
        raise ValueError("one correctness value per confidence")
    members: list[list[int]] = [[] for _ in range(bins)]
    for i, c in enumerate(confidences):
        members[min(int(c * bins), bins - 1) if c > 0 else 0].append(i)
    table, ece, n = [], 0.0, len(confidences)
    for b, idx in enumerate(members):
        if idx:
            conf = sum(confidences[i] for i in idx) / len(idx)
            prec = sum(bool(correct[i]) for i in idx) / len(idx)
            ece += len(idx) / n * abs(prec - conf)
        else:
            conf = prec = NAN
        table.append(ReliabilityBin(round(b / bins, 4), round((b + 1) / bins, 4), len(idx),
                                    _r(conf), _r(prec)))
    return table, (round(ece, 4) if n else NAN)


def ece_floor(confidences: Sequence[float], draws: int = 200, seed: int = 0) -> float:
    """The expected calibration error that perfectly calibrated percentages would show on this
    many suggestions: the mean ECE when each suggestion is right with exactly its shown
    probability (seeded draws). Binned ECE is biased upwards on small counts (a few hundred
    suggestions give about 0.05 even when every percentage is exact), so an ECE is read
    against this floor."""
    import numpy as np

    if not len(confidences):
        return NAN
    rng = np.random.default_rng(seed)
    conf = np.asarray(confidences, dtype=float)
    eces = [reliability(list(conf), list(rng.random(len(conf)) < conf))[1]
            for _ in range(draws)]
    return round(float(np.mean(eces)), 4)


def top_k_precision(ranked: Sequence[Sequence[bool]], k: int) -> float:
    """Mean over turns (each a list of correct/incorrect by descending score, at least one) of
    the share correct among its (at most k) best-scored suggestions."""
    shares = [sum(r[:k]) / len(r[:k]) for r in ranked if r]
    return round(sum(shares) / len(shares), 4) if shares else NAN


def _r(x: float) -> float:
    return x if math.isnan(x) else round(x, 4)


def _ratio(a: float, b: float) -> float:
    return round(a / b, 4) if b else NAN


def human_ceiling(codebook: Codebook, first: Sequence[ImportedDocument],
                  second: Sequence[ImportedDocument]) -> Evaluation:
    """One coder's table scored against another's with the same scorer as the machine (per code
    F1 of one against the other, macro-averaged)."""
    from .suggest.base import Scope, views_of

    views = [v for doc in second for v in views_of(doc.transcript)]
    coded = [Suggestion(code_id=c.code_id, transcript=doc.transcript.name,
                        segment_index=c.segment_index, start=c.start, end=c.end, score=1.0,
                        source=c.coder) for doc in first for c in doc.codings
             if c.segment_index is not None]
    return score_predictions(views, gold_codes(second), coded, Scope(codebook))


def _coded_turns(views: Sequence[Any], scope: Any) -> list[Any]:
    """Views of the turns some code applies to (the coded speakers' turns), with text."""
    return [v for v in views if v.segment.text.strip() and scope.mask(v.segment).any()]


def baseline(train: Sequence[tuple[Any, set[str]]], target: Sequence[Any], scope: Any,
             seed: int = 0) -> list[Suggestion]:
    """Per code: TF-IDF words and a class-balanced logistic regression, trained on the reviewed
    turns (``(view, codes the researcher coded there)``: positive where the code was coded,
    negative elsewhere, rejected or not), predicting the target views. A code with no positive
    or no negative turn yet predicts nothing."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    if not train or not target:
        return []
    themes = {c.id for c in scope.codebook.all_codes() if c.is_theme}
    vectorizer = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True)
    vectorizer.fit([v.segment.text for v, _ in train])
    train_masks = [scope.mask(v.segment) for v, _ in train]
    target_masks = [scope.mask(v.segment) for v in target]
    out: list[Suggestion] = []
    for j, code in enumerate(scope.codes):
        if code in themes:
            continue
        rows = [i for i, m in enumerate(train_masks) if m[j]]
        y = [code in train[i][1] for i in rows]
        if not any(y) or all(y):
            continue
        X = vectorizer.transform([train[i][0].segment.text for i in rows])
        model = LogisticRegression(class_weight="balanced", max_iter=2000, random_state=seed)
        model.fit(X, y)
        where = [i for i, m in enumerate(target_masks) if m[j]]
        if not where:
            continue
        proba = model.predict_proba(vectorizer.transform(
            [target[i].segment.text for i in where]))[:, list(model.classes_).index(True)]
        for i, p in zip(where, proba):
            if p >= 0.5:
                seg = target[i].segment
                out.append(Suggestion(code_id=code, transcript=target[i].transcript,
                                      segment_index=seg.index, start=seg.start, end=seg.end,
                                      score=round(float(p), 4), source="baseline"))
    return out


# ---------------------------------------------------------------------------------------------
# The replay


def _siblings(codebook: Codebook) -> dict[str, list[str]]:
    """Code -> the other children of its parent (top-level codes have none)."""
    out: dict[str, list[str]] = {}
    for code in codebook.all_codes():
        kids = [k.id for k in code.children]
        for k in kids:
            out[k] = [s for s in kids if s != k]
    return out


def review_transcript(store: Any, name: str, gold: dict[int, set[str]], codebook: Codebook,
                      coder: str = RESEARCHER) -> Tally:
    """The researcher decides one transcript's pending suggestions in the queue's order, then
    codes by hand (over the whole turn) the gold codes no suggestion found."""
    from . import review

    tally = Tally()
    siblings = _siblings(codebook)
    coded: dict[int, set[str]] = defaultdict(set)
    while True:  # a queue may hold some suggestions back until others are decided
        queue = review.pending(store, coder, transcript=name)
        if not queue:
            break
        undecided = {(c.segment_index, c.code_id)
                     for c in review.undecided(store.codings(transcript=name), coder)}
        for sug in queue:
            seg = sug.segment_index
            want = gold.get(seg, set())  # type: ignore[arg-type]
            undecided.discard((seg, sug.code_id))
            if sug.code_id in want and sug.code_id not in coded[seg]:  # type: ignore[index]
                review.accept(store, sug.id, coder, codebook=codebook)  # type: ignore[arg-type]
                coded[seg].add(sug.code_id)  # type: ignore[index]
                tally.accepted += 1
                continue
            # a sibling the gold has, not coded yet and not itself waiting to be decided here
            instead = [c for c in siblings.get(sug.code_id, ()) if c in want
                       and c not in coded[seg] and (seg, c) not in undecided]  # type: ignore
            if sug.code_id not in want and instead:
                review.accept(store, sug.id, coder, code_id=instead[0],  # type: ignore[arg-type]
                              codebook=codebook)
                coded[seg].add(instead[0])  # type: ignore[index]
                tally.accepted_as += 1
            else:
                review.reject(store, sug.id, coder)  # type: ignore[arg-type]
                tally.rejected += 1
    transcript = store.load_transcript(name)
    known = set(codebook.ids())
    order = {c: i for i, c in enumerate(codebook.ids())}
    for seg in transcript.segments:
        missing = sorted((gold.get(seg.index, set()) - coded[seg.index]) & known,
                         key=order.__getitem__)
        for code in missing:
            review.code_passage(store, name, seg.start, seg.end, code, coder, codebook=codebook)
            coded[seg.index].add(code)
            tally.hand_coded += 1
    return tally


def measure(store: Any, codebook: Codebook, docs: Sequence[ImportedDocument],
            reviewed: Sequence[ImportedDocument], coder: str = RESEARCHER, seed: int = 0,
            suggesters: Iterable[str] = SUGGESTERS, embeddings: str | None = None
            ) -> dict[str, Any]:
    """The figures on ``docs`` (transcripts not yet reviewed) from the suggestions the app
    shows there (``review.first_per_turn``: the strongest few per turn), beside the codebook
    alone on the same turns and the baseline trained on the researcher's codings in
    ``reviewed``."""
    from .review import first_per_turn
    from .suggest.base import Scope, views_of

    scope = Scope(codebook)
    views = [v for doc in docs for v in views_of(doc.transcript)]
    gold = gold_codes(docs)
    names = {doc.transcript.name for doc in docs}
    shown = [c for c in first_per_turn([c for name in sorted(names) for c in store.codings(
        transcript=name, status="suggested")]) if c.segment_index is not None]
    shown_s = [Suggestion(code_id=c.code_id, transcript=c.transcript,
                          segment_index=c.segment_index, start=c.start, end=c.end,
                          score=c.score if c.score is not None else 0.0, source=c.source)
               for c in shown if c.segment_index is not None]
    machine = score_predictions(views, gold, shown_s, scope)
    # the baseline learns from what the researcher coded in the reviewed transcripts
    train: list[tuple[Any, set[str]]] = []
    for doc in reviewed:
        mine: dict[int, set[str]] = defaultdict(set)
        for c in store.codings(transcript=doc.transcript.name, status="accepted", coder=coder):
            if c.segment_index is not None:
                mine[c.segment_index].add(c.code_id)
        train.extend((v, mine[v.segment.index]) for v in
                     _coded_turns(views_of(doc.transcript), scope))
    turns = _coded_turns(views, scope)
    base = score_predictions(views, gold, baseline(train, turns, scope, seed), scope)
    keys = {(v.transcript, v.segment.index) for v in turns}
    per_turn: dict[tuple[str, int], list[tuple[Suggestion, float | None]]] = defaultdict(list)
    for s, c in zip(shown_s, shown):
        if (s.transcript, s.segment_index) in keys:
            per_turn[(s.transcript, s.segment_index)].append((s, c.confidence))
    ranked = [[s.code_id in gold.get(k, ()) for s, _ in sorted(ss, key=lambda p: -p[0].score)]
              for k, ss in per_turn.items()]
    counted = [p for ss in per_turn.values() for p in ss]
    # Calibration is judged where the app shows a percentage: suggestions with a confidence.
    with_pct = [(s, conf) for s, conf in counted if conf is not None]
    confidences = [conf for _, conf in with_pct]
    table, ece = reliability(confidences,
                             [s.code_id in gold.get((s.transcript, s.segment_index), ())
                              for s, _ in with_pct])
    calibrated = len(with_pct)
    n_gold = sum(len(gold.get(k, ())) for k in keys)
    many = sum(len(ss) >= MANY for ss in per_turn.values())
    return dict(measured=len(docs), turns=len(turns), machine=machine, baseline=base,
                codebook=codebook_alone(store, codebook, docs, views, gold, scope, suggesters,
                                        embeddings),
                suggestions=len(counted), calibrated=calibrated, gold_codings=n_gold,
                suggestions_per_turn=_ratio(len(counted), len(turns)),
                gold_per_turn=_ratio(n_gold, len(turns)), many_share=_ratio(many, len(turns)),
                many_turns=many, top1_precision=top_k_precision(ranked, 1),
                top3_precision=top_k_precision(ranked, 3), turns_with_suggestions=len(ranked),
                reliability=table, ece=ece, ece_floor=ece_floor(confidences))


def codebook_alone(store: Any, codebook: Codebook, docs: Sequence[ImportedDocument],
                   views: Sequence[Any], gold: dict[tuple[str, int], set[str]], scope: Any,
                   suggesters: Iterable[str] = SUGGESTERS, embeddings: str | None = None
                   ) -> Evaluation:
    """What the codebook alone (no decisions) suggests on the same turns, as the app would show
    it (with the project's embedding model): the yardstick learning must never fall below."""
    from .embed import Embedder
    from .pipeline import fit_study_scale
    from .suggest.base import shown, views_of
    from .suggest.combine import CombinedSuggester

    embedder = Embedder(store, embeddings=embeddings)
    if "semantic" in suggesters:
        fit_study_scale(store, codebook, embedder)  # as the project's own runs do
    suggester = CombinedSuggester(embedder, suggesters).fit(codebook)
    out: list[Suggestion] = []
    for doc in docs:
        doc_views = views_of(doc.transcript)
        out += shown(suggester.decide(suggester.score(doc_views), doc_views))
    return score_predictions(views, gold, out, scope)


def simulate(codebook: str | Path, gold: Sequence[ImportedDocument],
             checkpoints: Iterable[int] = CHECKPOINTS, suggesters: Iterable[str] = SUGGESTERS,
             seed: int = 0, progress: Progress | None = None,
             workdir: str | Path | None = None, embeddings: str | None = None) -> Simulation:
    """Replay a researcher against ``gold`` (documents with their gold codings) in a fresh
    project made with ``codebook`` (a file or a bundled name) and ``embeddings`` (a model
    of ``embed.EMBEDDINGS``, English MiniLM by default) in ``workdir`` (default: a temporary
    folder, removed afterwards). Returns one ``Checkpoint`` per measurement."""
    targets = parse_checkpoints(checkpoints)
    chosen = parse_suggesters(suggesters)
    if not gold:
        raise QualkitError("the gold table has no documents", field="--test")
    names = [doc.transcript.name for doc in gold]
    if len(set(names)) != len(names):
        raise QualkitError("the gold table repeats a document name", field="document")
    if workdir is not None:
        return _simulate(codebook, gold, targets, chosen, seed, progress, Path(workdir),
                         embeddings)
    with tempfile.TemporaryDirectory(prefix="qualkit-simulate-") as tmp:
        return _simulate(codebook, gold, targets, chosen, seed, progress, Path(tmp),
                         embeddings)


def _simulate(codebook_path: str | Path, gold: Sequence[ImportedDocument],
              targets: tuple[int, ...], suggesters: tuple[str, ...], seed: int,
              progress: Progress | None, root: Path, embeddings: str | None) -> Simulation:
    from .pipeline import code_project
    from .project import init_project
    from .suggest.base import Scope, views_of

    started = time.perf_counter()
    project = init_project(root / "project", codebook_path, actor=RESEARCHER,
                           embeddings=embeddings)
    try:
        codebook = project.codebook()
        scope = Scope(codebook)
        by_name = {doc.transcript.name: doc for doc in gold}
        for doc in gold:
            outcome = project.store.add_document(ImportedDocument(doc.transcript, []),
                                                 RESEARCHER)
            if outcome.status != "added":
                raise QualkitError(f"document {doc.transcript.name!r} has the same text as "
                                   f"{outcome.name!r}", field="document",
                                   hint="each gold document must be a different transcript")
        gold_by_doc = {name: {seg: codes for (doc, seg), codes in gold_codes([d]).items()}
                       for name, d in by_name.items()}
        order = sorted(by_name)
        random.Random(seed).shuffle(order)
        all_turns = [v for d in gold for v in _coded_turns(views_of(d.transcript), scope)]
        gold_total = sum(len(gold_by_doc[v.transcript].get(v.segment.index, ()))
                         for v in all_turns)
        n = len(order)

        def report(done: int, item: str) -> None:
            if progress:
                progress(done, n, item)

        report(0, "suggesting from the codebook alone")
        t0 = time.perf_counter()
        coded = code_project(project, None, RESEARCHER, suggesters=suggesters)
        first_seconds = time.perf_counter() - t0
        tally = Tally()
        reviewed: list[str] = []
        results: list[Checkpoint] = []
        k, stopped = 0, ""
        while True:
            passed = [t for t in targets[k:] if t <= tally.decisions]
            if passed:
                left = [name for name in order if name not in reviewed]
                if not left:
                    stopped = (f"every transcript was reviewed after {tally.decisions} "
                               f"decisions: nothing left to measure checkpoint {passed[0]} on")
                    break
                seconds = first_seconds
                if reviewed:
                    report(len(reviewed), f"checkpoint {passed[-1]}: retraining on "
                                          f"{tally.decisions} decisions")
                    t0 = time.perf_counter()
                    coded = code_project(project, left, RESEARCHER, suggesters=suggesters)
                    seconds = time.perf_counter() - t0
                report(len(reviewed), f"checkpoint {passed[-1]}: measuring")
                figures = measure(project.store, codebook, [by_name[x] for x in left],
                                  [by_name[x] for x in reviewed], seed=seed,
                                  suggesters=suggesters, embeddings=project.embeddings)
                results.append(Checkpoint(
                    checkpoint=passed[-1], passed=passed, decisions=tally.decisions,
                    tally=Tally(**vars(tally)), reviewed=len(reviewed),
                    training_examples=coded.examples, learned_codes=coded.learned_codes,
                    effort=_ratio(tally.found, tally.decisions), seconds=round(seconds, 1),
                    **figures))
                k += len(passed)
            if k >= len(targets):
                break
            left = [name for name in order if name not in reviewed]
            if not left:
                stopped = (f"every transcript was reviewed after {tally.decisions} decisions, "
                           f"before checkpoint {targets[k]}")
                break
            name = left[0]
            report(len(reviewed), f"reviewing {name} ({tally.decisions} decisions so far)")
            tally.add(review_transcript(project.store, name, gold_by_doc[name], codebook))
            reviewed.append(name)
        report(n, "")
        return Simulation(results, f"{codebook.name} {codebook.version}", n, len(all_turns),
                          gold_total, order, suggesters, seed, stopped,
                          time.perf_counter() - started, project.embeddings)
    finally:
        project.close()


# ---------------------------------------------------------------------------------------------
# Output


def write_json(sim: Simulation, path: str | Path) -> Path:
    return atomic_write_text(path, json.dumps(sim.to_dict(), indent=2, allow_nan=False) + "\n")


def _pct(x: float) -> str:
    return "–" if math.isnan(x) else f"{x:.1%}"


def format_checkpoint(cp: Checkpoint) -> str:
    """One checkpoint's figures for the terminal."""
    t = cp.tally
    also = f" (also {', '.join(map(str, cp.passed[:-1]))})" if len(cp.passed) > 1 else ""
    lines = [f"== checkpoint {cp.checkpoint}{also}: {cp.decisions} decisions ({t.accepted} "
             f"accepted, {t.accepted_as} accepted as a sibling, {t.rejected} rejected, "
             f"{t.hand_coded} coded by hand) ==",
             f"reviewed {cp.reviewed} transcripts; every figure below is on the other "
             f"{cp.measured}, not yet reviewed ({cp.turns} turns of the coded speakers); "
             f"learned from {cp.training_examples} examples; retrain and suggest {cp.seconds} s",
             f"suggestions from a learned model for {len(cp.learned_codes)} codes"
             + (f": {', '.join(cp.learned_codes)}" if cp.learned_codes else
                " (the codebook alone for every code)"),
             "", "machine:", format_evaluation(cp.machine), "",
             f"baseline (TF-IDF + class-balanced logistic regression per code, same decisions): "
             f"macro F1 {num(cp.baseline.macro['f1'], 0)} over "
             f"{cp.baseline.macro_over.get('f1', 0)} codes (machine "
             f"{num(cp.machine.macro['f1'], 0)} over {cp.machine.macro_over.get('f1', 0)}); "
             f"baseline macro kappa "
             f"{num(cp.baseline.macro['kappa'], 0)}",
             f"suggestions per turn {num(cp.suggestions_per_turn, 0)} against gold codes per "
             f"turn {num(cp.gold_per_turn, 0)} (ratio "
             f"{num(_ratio(cp.suggestions_per_turn, cp.gold_per_turn), 0)}); turns with "
             f"{MANY} or more suggestions: {_pct(cp.many_share)} ({cp.many_turns} of {cp.turns})",
             f"top-1 precision {num(cp.top1_precision, 0)}, top-3 precision "
             f"{num(cp.top3_precision, 0)} over {cp.turns_with_suggestions} turns with a "
             f"suggestion",
             f"codebook alone on the same turns: macro F1 {num(cp.codebook.macro['f1'], 0)}",
             f"reliability of the percentages shown: {cp.calibrated} of {cp.suggestions} "
             f"suggestions show one (the others show their evidence); expected calibration "
             f"error {num(cp.ece, 0)} (perfectly calibrated percentages would show "
             f"{num(cp.ece_floor, 0)} on as many suggestions):",
             f"  {'confidence':12} {'count':>6} {'mean conf':>9} {'precision':>9}"]
    for b in cp.reliability:
        lines.append(f"  {b.low:.1f}-{b.high:.1f}      {b.count:6d} {num(b.mean_confidence, 9)} "
                     f"{num(b.precision, 9)}")
    lines.append(f"review effort: {t.found} gold codings found in {cp.decisions} decisions "
                 f"({num(cp.effort, 0)} per decision; {t.accepted + t.accepted_as} of them from "
                 f"suggestions)")
    return "\n".join(lines)


def format_summary(sim: Simulation, ceiling: float | None = None) -> str:
    """One line per checkpoint: the headline figures side by side."""
    head = (f"{'checkpoint':>10} {'decisions':>9} {'reviewed':>8} {'turns':>6} {'macro F1':>8} "
            f"{'codebook':>8} {'baseline':>8} {'kappa':>6} {'ECE':>6} {'floor':>6} {'with %':>6} "
            f"{'sug/turn':>8} {'gold/turn':>9} "
            f"{'>=5':>6} {'top-1':>6} {'top-3':>6} {'effort':>6}")
    if ceiling is not None:
        head += f" {'of human':>8}"
    lines = [head]
    for cp in sim.checkpoints:
        line = (f"{cp.checkpoint:>10} {cp.decisions:>9} {cp.reviewed:>8} {cp.turns:>6} "
                f"{num(cp.machine.macro['f1'], 8)} {num(cp.codebook.macro['f1'], 8)} "
                f"{num(cp.baseline.macro['f1'], 8)} "
                f"{num(cp.machine.macro['kappa'])} {num(cp.ece)} {num(cp.ece_floor)} "
                f"{_pct(_ratio(cp.calibrated, cp.suggestions)):>6} "
                f"{num(cp.suggestions_per_turn, 8)} {num(cp.gold_per_turn, 9)} "
                f"{_pct(cp.many_share):>6} {num(cp.top1_precision)} {num(cp.top3_precision)} "
                f"{num(cp.effort)}")
        if ceiling is not None:
            line += f" {_pct(_ratio(cp.machine.macro['f1'], ceiling)):>8}"
        lines.append(line)
    return "\n".join(lines)


def format_simulation(sim: Simulation, ceiling: float | None = None) -> str:
    """Every checkpoint's tables, then the summary."""
    lines = [f"Replay of a researcher: codebook {sim.codebook}; {sim.transcripts} transcripts, "
             f"{sim.turns} turns of the coded speakers, {sim.gold_codings} gold codings; "
             f"suggesters {','.join(sim.suggesters)}; {sim.embeddings} embeddings; "
             f"transcripts opened in a random order "
             f"(seed {sim.seed})", ""]
    for cp in sim.checkpoints:
        lines += [format_checkpoint(cp), ""]
    if sim.stopped:
        lines += [f"stopped early: {sim.stopped}", ""]
    lines += ["summary (figures on the transcripts not yet reviewed at each checkpoint; effort: "
              "gold codings found per decision):", format_summary(sim, ceiling),
              f"replay took {sim.seconds:.0f} s"]
    return "\n".join(lines)

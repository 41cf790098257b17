"""The combined suggester: the codebook's evidence first, learning only where it has earned it.

Without decisions a code's score is the codebook's own: rule matches and similarity to its
definition, include rules and examples, merged as a noisy-OR (either source is enough; both
together is stronger), with its exclude rules and rejected passages counting against it. Such a
score ranks suggestions; no percentage is claimed for it.

With decisions, every component's scores on the decided turns are collected out of fold (folds
by transcript), and for each code (each exclusive parent as one multi-class task):

- the codes outside exclusive parents share one pooled stack: a logistic regression on the
  codebook score and the learned model's score, the same two weights for every code, so a
  sparse code borrows the evidence of the others (docs/study.md, "One stack for all codes");
  a code whose own decisions the pool scores worse than the codebook does stays with the
  codebook;
  a code with ``MIN_TAKEOVER`` decisions each way may also get a stack of every component of
  its own, which must then beat the pooled stack (or the codebook); an exclusive parent gets
  a multi-class stack of every component. A stack takes over only with ``MIN_TAKEOVER``
  decisions each way, scores that vary and an out-of-fold F1 that beats what it replaces
  interview by interview, with 95% confidence (``surely_better``); a parent's stack needs a
  kappa ``EXCLUSIVE_MARGIN`` above the codebook's and no fold worse. So a handful of
  decisions, or a gain a few interviews show by chance, cannot make a code worse than the
  codebook alone;
- percentages (``confidence``) come from one calibration fitted on every code's decided turns
  where the code would have been suggested (its out-of-fold score at or above its scorer's
  threshold: the population whose percentages are shown), Platt scaling with a shrunken
  offset per code; a code shows a percentage once it has ``MIN_CODE_CALIBRATION`` such turns
  and the pool has ``MIN_CALIBRATION`` right and wrong. A sparse code alone never has enough
  decisions for its own curve, and fitted on all turns a curve is shaped by the many far below
  the threshold, not by the suggestions it labels (docs/study.md, "Calibration"). Nor is a
  percentage shown before the decisions span ``MIN_CALIBRATION_INTERVIEWS`` interviews:
  fitted on one or two, percentages were off by 0.07 to 0.26 on the next ones in the replay.
  A code's threshold stays where its scorer's own default falls on the calibrated scale.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from ..embed import Embedder
from ..model import Codebook, Suggestion, Transcript
from .base import Example, Scope, Scores, SegmentView, check_fitted, decide, views_of
from .learned import kappa, reweight, tune_weights
from .registry import SUGGESTERS, chosen

if TYPE_CHECKING:
    from sklearn.linear_model import LogisticRegression

MIN_GROUPS = 2  # transcripts needed for out-of-fold scores (folds by transcript)
MIN_CALIBRATION = 5  # right and wrong suggestion-like turns the pool needs for a calibration
MIN_CODE_CALIBRATION = 3  # such turns a code needs before its suggestions show a percentage
CALIBRATION_C = 1.0  # inverse L2 strength: shrinks each code's offset towards the pool
# Interviews a percentage must rest on: how often a suggestion is right differs from one
# interview to the next, and one or two cannot show by how much (docs/study.md).
MIN_CALIBRATION_INTERVIEWS = 3
MIN_TAKEOVER = 10  # positive and negative decisions before a learned model may take a code over
MIN_POOLED = 3  # positive and negative decisions a code needs to join the pooled stack
# A yes/no stack takes a code over where, interview by interview, its out-of-fold F1 beats what
# it replaces: the one-sided lower confidence bound of the mean per-interview gain must be above
# MARGIN. A fixed margin on the pooled gain refused clear gains at eight interviews and could
# not tell a real gain from chance at four (docs/study.md).
CONFIDENCE = 0.95
MARGIN = 0.0
# An exclusive parent's stack is judged on kappa over all its speaker's turns: this much above
# the codebook's, no transcript fold worse. Judged interview by interview instead, it was
# refused where it helped on AnnoMI, whose sessions run from 12 to 262 utterances.
EXCLUSIVE_MARGIN = 0.05
MIN_SPREAD = 0.05  # a model whose scores barely vary (std below this) has learned nothing
CODEBOOK_THRESHOLD = 0.6  # codebook only: a keyword with some likeness, or a clear likeness
RULES_THRESHOLD = 0.5  # rules alone (no similarity to weigh them with): one keyword
# An exclusive parent shows at most one child per turn, so its best child needs less to show.
EXCLUSIVE_THRESHOLD = 0.5
CODEBOOK_PARTS = ("rules", "semantic")


def noisy_or(*values: np.ndarray) -> np.ndarray:
    out = np.ones_like(values[0])
    for v in values:
        out *= 1.0 - np.clip(v, 0.0, 1.0)
    return 1.0 - out


@dataclass
class Calibration:
    """Platt scaling of one code's score: p = 1 / (1 + exp(-(a * logit(score) + b))).
    (Isotonic regression from 200 decisions was tried in the replay and was no better.)"""

    a: float
    b: float

    @classmethod
    def fit(cls, score: np.ndarray, y: np.ndarray) -> Calibration:
        from sklearn.linear_model import LogisticRegression

        model = LogisticRegression(C=1.0).fit(_logit(score)[:, None], y)
        return cls(float(model.coef_[0, 0]), float(model.intercept_[0]))

    def __call__(self, score: np.ndarray) -> np.ndarray:
        return 1.0 / (1.0 + np.exp(-(self.a * _logit(score) + self.b)))


@dataclass
class Decided:
    """One code's decided turns where it would have been suggested: the chosen scorer's
    out-of-fold scores there and whether the code was right."""

    code: str
    learned: bool  # scored by a learned stack (its own scale), else by the codebook
    score: np.ndarray
    y: np.ndarray
    interview: np.ndarray  # the transcript of each turn


def pooled_calibration(decided: Sequence[Decided]) -> dict[str, Calibration]:
    """One Platt scaling over every code's suggestion-like turns, with a slope per scorer and
    an L2-shrunken offset per code, read back as each code's own curve. Codes with fewer than
    ``MIN_CODE_CALIBRATION`` turns get none; so does everything when the pool has fewer than
    ``MIN_CALIBRATION`` right or wrong or comes from fewer than ``MIN_CALIBRATION_INTERVIEWS``
    interviews, or when the score does not rise with being right."""
    from sklearn.linear_model import LogisticRegression

    decided = [d for d in decided if len(d.y)]
    interviews = {name for d in decided for name in d.interview.tolist()}
    if len(interviews) < MIN_CALIBRATION_INTERVIEWS:
        return {}
    y = np.concatenate([d.y for d in decided])
    if min(int(y.sum()), int(len(y) - y.sum())) < MIN_CALIBRATION:
        return {}
    codes = sorted({d.code for d in decided})
    X = np.zeros((len(y), 3 + len(codes)))
    row = 0
    for d in decided:
        rows = slice(row, row + len(d.y))
        X[rows, 1 if d.learned else 0] = _logit(d.score)
        X[rows, 2] = float(d.learned)
        X[rows, 3 + codes.index(d.code)] = 1.0
        row += len(d.y)
    model = LogisticRegression(C=CALIBRATION_C, max_iter=2000).fit(X, y)
    w, b = model.coef_[0], float(model.intercept_[0])
    out: dict[str, Calibration] = {}
    for d in decided:
        slope = float(w[1 if d.learned else 0])
        if len(d.y) >= MIN_CODE_CALIBRATION and slope > 0:
            out[d.code] = Calibration(slope, b + float(w[2]) * d.learned
                                      + float(w[3 + codes.index(d.code)]))
    return out


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, 1e-4, 1 - 1e-4)
    return np.log(p / (1 - p))


class FoldAverage:
    """The stack models fitted on each fold, averaged. Their scores are distributed like the
    out-of-fold scores that the takeover and the calibration were judged on; one model refitted
    on everything would be surer of itself than that, and its percentages too high."""

    def __init__(self, models: list[LogisticRegression], classes: list[int]) -> None:
        self.models = models
        self.classes_ = np.array(classes)

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        where = {int(c): k for k, c in enumerate(self.classes_)}
        out = np.zeros((len(X), len(self.classes_)))
        for model in self.models:
            p = model.predict_proba(X)
            for k, c in enumerate(model.classes_):
                out[:, where[int(c)]] += p[:, k]
        return out / max(len(self.models), 1)


@dataclass
class Choice:
    """What a code's suggestions rest on, and the out-of-fold evidence for it."""

    scorer: str  # "codebook" or "learned" (the stack)
    positives: int
    negatives: int
    codebook_quality: float  # out-of-fold F1 at its threshold (kappa for exclusive parents)
    learned_quality: float | None = None
    # a yes/no stack that took over: in how many of the interviews compared it did better
    interviews: tuple[int, int] | None = None


class CombinedSuggester:
    """Rules + semantic similarity + learned models; percentages only where they are earned."""

    name = "combined"

    def __init__(self, embedder: Embedder | None = None,
                 suggesters: Iterable[str] | str | None = None, folds: int = 3,
                 seed: int = 0) -> None:
        self.embedder = embedder
        self.suggesters = chosen(suggesters)  # registry names; default all, rules always
        self.folds = folds
        self.seed = seed

    def _components(self, codebook: Codebook, examples: Sequence[Example],
                    with_learned: bool = True) -> dict[str, object]:
        """The chosen suggesters' parts, fitted (``registry.SUGGESTERS``, in its order);
        ``with_learned=False`` leaves out those that learn from decisions."""
        embedder = self.embedder or Embedder()
        parts: dict[str, object] = {}
        for name in self.suggesters:
            if with_learned or not SUGGESTERS[name].learns:
                parts.update(SUGGESTERS[name].fit(embedder, codebook, examples))
        return parts

    def fit(self, codebook: Codebook, examples: Sequence[Example] = ()) -> CombinedSuggester:
        self.embedder = self.embedder or Embedder()
        self.scope_ = Scope(codebook)
        self.codes_ = self.scope_.codes
        self.components_ = self._components(codebook, examples)
        self.threshold_ = CODEBOOK_THRESHOLD if "semantic" in self.components_ else \
            RULES_THRESHOLD
        learned = self.components_.get("learned")
        self.exhaustive_ = list(getattr(learned, "exhaustive_", []))
        # per exclusive parent or code with its own: the columns it reads, its model,
        # class -> column
        self.stack_: dict[str, tuple[list[int], FoldAverage, dict[int, int]]] = {}
        # the other codes' one pooled stack, where it has earned them: their columns, its model
        self.pooled_: tuple[list[int], FoldAverage] | None = None
        # Per code; an exclusive parent's children need less (the parent shows one at most).
        self.thresholds_: dict[str, float] = {
            kid: EXCLUSIVE_THRESHOLD for kids in self.scope_.exclusive.values() for kid in kids}
        self.weights_: dict[str, np.ndarray] = {}  # per exclusive parent, per stack class
        self.calibration_: dict[str, Calibration] = {}
        self.choices_: dict[str, Choice] = {}
        self.stack_inputs_: list[str] = []  # the components a stack reads, in order
        self.n_examples_ = len(examples)
        if examples:
            self._fit_trust(codebook, examples)
        return self

    # -- learning what to trust ---------------------------------------------------------------

    def _raw(self, parts: dict[str, object], views: Sequence[SegmentView]) -> dict[str, Scores]:
        return {name: part.score(views) for name, part in parts.items()}  # type: ignore[attr-defined]

    def _out_of_fold(self, codebook: Codebook, examples: Sequence[Example],
                     fold_of: dict[str, int]) -> dict[str, np.ndarray]:
        """Every component's scores on the decided turns, each from a fit without that turn's
        transcript (the learned suggester brings its own out-of-fold scores)."""
        n, k = len(examples), len(self.codes_)
        oof = {name: np.zeros((n, k)) for name in self.components_}
        learned_oof = getattr(self.components_.get("learned"), "oof_", None)
        if learned_oof is not None:
            oof["learned"] = learned_oof
        elif "learned" in oof:
            del oof["learned"]  # under MIN_GROUPS of its own: no honest scores, so not used
        for fold in sorted(set(fold_of.values())):
            train = [ex for ex in examples if fold_of[ex.view.transcript] != fold]
            test = [i for i, ex in enumerate(examples) if fold_of[ex.view.transcript] == fold]
            parts = self._components(codebook, train, with_learned=False)
            raw = self._raw(parts, [examples[i].view for i in test])
            for name in oof:
                if name in raw:
                    oof[name][test] = raw[name].values
        return oof

    def _fit_trust(self, codebook: Codebook, examples: Sequence[Example]) -> None:
        groups = sorted({ex.view.transcript for ex in examples})
        rng = np.random.default_rng(self.seed)
        folds = min(self.folds, len(groups))
        fold_of = {g: i % max(folds, 1) for i, g in enumerate(rng.permutation(groups))}
        if folds >= MIN_GROUPS:
            oof = self._out_of_fold(codebook, examples, fold_of)
        else:  # one transcript: only the codebook's own score, which no decision has shaped
            plain = self._components(codebook, (), with_learned=False)
            oof = {n: s.values for n, s in self._raw(plain, [ex.view for ex in examples]).items()}
        fold = np.array([fold_of[ex.view.transcript] for ex in examples])
        interview = np.array([ex.view.transcript for ex in examples])
        column = {c: j for j, c in enumerate(self.codes_)}
        grouped = {c for kids in self.scope_.exclusive.values() for c in kids}
        base = noisy_or(*(oof[n] for n in CODEBOOK_PARTS if n in oof))
        learnt = sorted(n for n in oof if n not in CODEBOOK_PARTS)
        self.stack_inputs_ = sorted(oof)
        for parent, kids in self.scope_.exclusive.items():
            self._fit_exclusive(parent, [column[c] for c in kids], examples, oof, base, fold,
                                interview, learnt)
        decided = self._fit_codes({c: j for c, j in column.items() if c not in grouped},
                                  examples, oof, base, fold, interview)
        for code, calibration in pooled_calibration(decided).items():
            self.calibration_[code] = calibration
            # The threshold stays where the scorer's own default falls on the calibrated scale:
            # thresholds tuned on a few dozen decisions did worse on unseen transcripts in the
            # replay benchmark (docs/study.md), so calibration changes what is shown, not which.
            raw = self._raw_threshold(self.choices_[code].scorer == "learned")
            self.thresholds_[code] = float(calibration(np.array([raw]))[0])

    def _raw_threshold(self, learned: bool) -> float:
        """Where a code is suggested on its scorer's own scale: a learned stack's probability
        from 0.5, the codebook's score from ``threshold_``."""
        return 0.5 if learned else self.threshold_

    def _fit_codes(self, codes: dict[str, int], examples: Sequence[Example],
                   oof: dict[str, np.ndarray], base: np.ndarray, fold: np.ndarray,
                   interview: np.ndarray) -> list[Decided]:
        """Choose the scorer of the codes outside exclusive parents; return their
        suggestion-like decided turns for the pooled calibration."""
        tasks: list[tuple[str, int, np.ndarray, np.ndarray]] = []
        for code, j in codes.items():
            rows = np.array([i for i, ex in enumerate(examples)
                             if code in ex.positive or code in ex.negative], dtype=int)
            if not len(rows):
                continue
            y = np.array([int(code in examples[i].positive) for i in rows])
            pos, neg = int(y.sum()), int(len(y) - y.sum())
            quality = _f1(base[rows, j], y, self.threshold_) if pos and neg else float("nan")
            self.choices_[code] = Choice("codebook", pos, neg, quality)
            tasks.append((code, j, rows, y))
        learned = oof.get("learned")
        stacked = self._fit_pooled([t for t in tasks if self._poolable(t, learned)], base,
                                   learned, fold, interview) if learned is not None else {}
        for code, j, rows, y in tasks:
            own = self._fit_own(code, j, rows, y, oof, fold, interview,
                                stacked.get(code, base[rows, j]),
                                0.5 if code in stacked else self.threshold_)
            if own is not None:
                stacked[code] = own
        if self.pooled_ is not None:  # codes with a stack of their own leave the pool
            cols, model = self.pooled_
            self.pooled_ = ([j for j in cols if self.codes_[j] not in self.stack_], model) \
                if any(self.codes_[j] not in self.stack_ for j in cols) else None
        decided = []
        for code, j, rows, y in tasks:
            score = stacked.get(code, base[rows, j])
            shown = score >= self._raw_threshold(code in stacked)
            decided.append(Decided(code, code in stacked, score[shown], y[shown],
                                   interview[rows[shown]]))
        return decided

    def _fit_own(self, code: str, j: int, rows: np.ndarray, y: np.ndarray,
                 oof: dict[str, np.ndarray], fold: np.ndarray, interview: np.ndarray,
                 current: np.ndarray, threshold: float) -> np.ndarray | None:
        """A stack of every component for one code with ``MIN_TAKEOVER`` decisions each way
        (a dense code's own evidence can outweigh what it shares with the others). It takes
        the code over from its current scorer (``current``, suggesting at ``threshold``: the
        codebook's or the pooled stack's out-of-fold scores) only where its out-of-fold F1
        surely beats it, interview by interview (``surely_better``), and its scores vary;
        returns its out-of-fold scores then."""
        learnt = [n for n in oof if n not in CODEBOOK_PARTS]
        if not learnt or min(int(y.sum()), int(len(y) - y.sum())) < MIN_TAKEOVER or \
                len(set(fold[rows].tolist())) < MIN_GROUPS:
            return None
        earned = _earned_stack(self._stack_features(oof, rows, [j]), y, fold[rows],
                               interview[rows], current, threshold)
        if earned is None:
            return None
        stacked, model, interviews = earned
        self.stack_[code] = ([j], model, {1: j})
        choice = self.choices_[code]
        choice.scorer, choice.interviews = "learned", interviews
        choice.learned_quality = _f1(stacked, y, 0.5)
        return stacked

    @staticmethod
    def _poolable(task: tuple[str, int, np.ndarray, np.ndarray],
                  learned: np.ndarray | None) -> bool:
        """A code the pooled stack may score: decisions each way and a learned model whose
        out-of-fold scores vary (one that barely separates has learned nothing)."""
        _, j, rows, y = task
        return learned is not None and min(int(y.sum()), int(len(y) - y.sum())) >= \
            MIN_POOLED and float(learned[rows, j].std()) >= MIN_SPREAD

    def _fit_pooled(self, tasks: list[tuple[str, int, np.ndarray, np.ndarray]],
                    base: np.ndarray, learned: np.ndarray | None, fold: np.ndarray,
                    interview: np.ndarray) -> dict[str, np.ndarray]:
        """One small stack over every poolable code's decided turns: a logistic regression on
        the codebook's score (as a logit) and the learned model's out-of-fold score, with the
        same two weights for every code. A sparse code never has the decisions to weigh its
        own evidence, but together the codes do (docs/study.md, "One stack for all codes").
        It takes those codes over only with ``MIN_TAKEOVER`` decisions each way in the pool,
        an out-of-fold F1 that surely beats the codebook's on the same turns, interview by
        interview (``surely_better``), and scores that vary; even then a code stays with the
        codebook where the stack's out-of-fold F1 on the code's own decisions is below the
        codebook's (the shared weights suit most codes, not every one). The takeover is
        judged on every pooled code, before any is left out: judged only on the codes it did
        well on, a stack looked better than it was and sank the next interviews
        (docs/study.md).
        Returns each code's out-of-fold stacked scores, empty when the stack did not earn
        them."""
        if not tasks or learned is None:
            return {}
        X = np.vstack([np.column_stack([_logit(base[rows, j]), learned[rows, j]])
                       for _, j, rows, _ in tasks])
        y = np.concatenate([t[3] for t in tasks])
        codebook = np.concatenate([base[rows, j] for _, j, rows, _ in tasks])
        group = np.concatenate([fold[rows] for _, _, rows, _ in tasks])
        if min(int(y.sum()), int(len(y) - y.sum())) < MIN_TAKEOVER or \
                len(set(group.tolist())) < MIN_GROUPS:
            return {}
        where = np.concatenate([interview[rows] for _, _, rows, _ in tasks])
        earned = _earned_stack(X, y, group, where, codebook, self.threshold_, every_fold=True)
        if earned is None:
            return {}
        stacked, model, interviews = earned
        scores: dict[str, np.ndarray] = {}
        at = 0
        for code, _, rows, task_y in tasks:
            mine = stacked[at:at + len(rows)]
            at += len(rows)
            choice = self.choices_[code]
            quality = _f1(mine, task_y, 0.5)
            if quality >= choice.codebook_quality:  # the codebook's F1 on the same turns
                scores[code] = mine
                choice.scorer, choice.learned_quality = "learned", quality
                choice.interviews = interviews
        if scores:
            self.pooled_ = ([j for code, j, _, _ in tasks if code in scores], model)
        return scores

    def _fit_exclusive(self, parent: str, cols: list[int], examples: Sequence[Example],
                       oof: dict[str, np.ndarray], base: np.ndarray, fold: np.ndarray,
                       interview: np.ndarray, learnt: list[str]) -> None:
        """One multi-class task over a parent's children ('none' is class -1)."""
        from sklearn.linear_model import LogisticRegression

        codes = [self.codes_[c] for c in cols]
        rows, ys = [], []
        for i, ex in enumerate(examples):
            hit = [c for c, code in zip(cols, codes) if code in ex.positive]
            if hit or any(code in ex.negative for code in codes):
                rows.append(i)
                ys.append(hit[0] if hit else -1)
        y = np.array(ys)
        if len(set(ys)) < 2:
            return
        sub = base[rows][:, cols]
        pick = np.array(cols)[sub.argmax(axis=1)]
        # As ``decide`` will: a parent known to be exhaustive always gets its best child.
        codebook_pred = pick if parent in self.exhaustive_ else \
            np.where(sub.max(axis=1) >= EXCLUSIVE_THRESHOLD, pick, -1)
        counts = {c: int((y == c).sum()) for c in set(ys)}
        choice = Choice("codebook", sum(n for c, n in counts.items() if c >= 0),
                        counts.get(-1, 0), kappa(y, codebook_pred))
        top, predicted = sub.max(axis=1), codebook_pred
        enough = len([n for n in counts.values() if n >= MIN_TAKEOVER]) >= 2
        folds = sorted(set(fold[rows].tolist()))
        if learnt and enough and len(folds) >= MIN_GROUPS:
            X = self._stack_features(oof, rows, cols)
            classes = sorted(set(ys))
            stacked = np.zeros((len(rows), len(classes)))
            models: list[LogisticRegression] = []
            for f in folds:
                test = fold[rows] == f
                train_classes = sorted(set(y[~test].tolist()))
                if len(train_classes) < 2:
                    continue
                model = LogisticRegression(C=1.0, max_iter=2000,
                                           class_weight="balanced").fit(X[~test], y[~test])
                p = model.predict_proba(X[test])
                for k, c in enumerate(model.classes_):
                    stacked[test, classes.index(int(c))] = p[:, k]
                models.append(model)
            target = np.array([classes.index(c) for c in ys])
            weights = tune_weights(stacked, target)
            shown = reweight(stacked, weights)
            shown = shown / np.clip(shown.sum(axis=1, keepdims=True), 1e-9, None)
            learned_pred = np.array(classes)[shown.argmax(axis=1)]
            choice.learned_quality = kappa(y, learned_pred)
            steady = all(kappa(y[m], learned_pred[m]) >= kappa(y[m], codebook_pred[m])
                         for m in (fold[rows] == f for f in folds) if len(set(y[m])) > 1)
            if stacked.std() >= MIN_SPREAD and steady and \
                    choice.learned_quality >= choice.codebook_quality + EXCLUSIVE_MARGIN:
                self.stack_[parent] = (cols, FoldAverage(models, classes),
                                       {c: c for c in classes if c >= 0})
                self.weights_[parent] = weights
                choice.scorer = "learned"
                # For the percentage, the class weights too are tuned out of fold (on the other
                # folds' scores): weights fitted to the very turns a calibration is fitted on
                # made the picked child look right more often than it then was
                # (docs/study.md). ``reweight`` returns rows that sum to one.
                held = np.zeros_like(stacked)
                for f in folds:
                    test = fold[rows] == f
                    held[test] = reweight(stacked[test], tune_weights(stacked[~test],
                                                                       target[~test]))
                top, predicted = held.max(axis=1), np.array(classes)[held.argmax(axis=1)]
        self.choices_[parent] = choice
        # The percentage shown is how often the child picked at this score is right.
        picked = predicted >= 0
        right = (predicted == y)[picked].astype(int)
        if len(set(interview[rows][picked].tolist())) >= MIN_CALIBRATION_INTERVIEWS and \
                min(int(right.sum()), int(len(right) - right.sum())) >= MIN_CALIBRATION:
            calibration = Calibration.fit(top[picked], right)
            if calibration.a > 0:
                self.calibration_[parent] = calibration

    def _stack_features(self, raw: dict[str, np.ndarray],
                        rows: Sequence[int] | slice | np.ndarray, cols: list[int]) -> np.ndarray:
        names = self.stack_inputs_ or sorted(raw)
        return np.hstack([raw[name][rows][:, cols] for name in names])

    # -- scoring --------------------------------------------------------------------------------

    def score(self, views: Sequence[SegmentView]) -> Scores:
        check_fitted(self, "components_")
        parts = self._raw(self.components_, views)
        return self.combine(parts, len(views))

    def combine(self, parts: dict[str, Scores], n: int) -> Scores:
        """Merge component scores (as returned by each component's ``score``)."""
        out = Scores.empty(n, self.codes_)
        out.values = noisy_or(*(parts[name].values for name in CODEBOOK_PARTS if name in parts))
        raw = {name: s.values for name, s in parts.items()}
        stacked_cols: set[int] = set()
        if self.pooled_ is not None:
            cols, pooled = self.pooled_
            X = np.column_stack([_logit(out.values[:, cols]).ravel(),
                                 raw["learned"][:, cols].ravel()])
            out.values[:, cols] = pooled.predict_proba(X)[:, 1].reshape(n, len(cols))
            stacked_cols.update(cols)
        for group, (cols, model, target) in self.stack_.items():
            proba = reweight(model.predict_proba(self._stack_features(raw, slice(None), cols)),
                             self.weights_.get(group))
            if group in self.weights_:
                proba = proba / np.clip(proba.sum(axis=1, keepdims=True), 1e-9, None)
            for c_index, cls in enumerate(model.classes_):
                if int(cls) in target:
                    out.values[:, target[int(cls)]] = proba[:, c_index]
                    stacked_cols.add(target[int(cls)])
        out.strength = out.values.copy()
        out.confidence = np.full_like(out.values, np.nan)
        for code, calibration in self.calibration_.items():
            kids = self.scope_.exclusive.get(code)
            if kids:  # the stack (or codebook) picks the child; calibration only says how sure
                for kid in kids:
                    j = self.codes_.index(kid)
                    out.confidence[:, j] = calibration(out.values[:, j])
            else:
                j = self.codes_.index(code)
                out.values[:, j] = out.confidence[:, j] = calibration(out.values[:, j])
        for name in ("rules", "semantic", "extracts", "learned"):
            if name not in parts:
                continue
            for key, text in parts[name].rationale.items():
                if name not in CODEBOOK_PARTS and key[1] not in stacked_cols:
                    continue  # a model that has not earned this code says nothing about it
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
    def stacked(self) -> bool:
        """Whether a learned stack scores any code."""
        return bool(self.stack_ or self.pooled_)

    @property
    def source(self) -> str:
        """The suggesters behind these suggestions, e.g. 'rules+semantic'."""
        return "+".join(n for n in self.components_ if n != "extracts")

    def decide(self, scores: Scores, views: Sequence[SegmentView],
               source: str | None = None) -> list[Suggestion]:
        return decide(scores, views, self.scope_, source or self.source, self.thresholds_,
                      self.exhaustive_, default_threshold=self.threshold_)

    @property
    def learned_codes(self) -> list[str]:
        """The codes (and exclusive parents) whose suggestions a learned model makes."""
        return [code for code, c in self.choices_.items() if c.scorer == "learned"]

    def learned_summary(self) -> list[str]:
        """What the suggester learned from, one line per code that has decisions."""
        lines = []
        for code, c in self.choices_.items():
            what = "the codebook"
            if c.scorer == "learned":
                what = "a model learned from them" if code in self.stack_ else \
                    "a model learned from every code's decisions"
                if c.interviews:
                    what += (f", better than the codebook in {c.interviews[0]} of "
                             f"{c.interviews[1]} interviews")
            shown = "percentages shown" if code in self.calibration_ else "no percentage yet"
            lines.append(f"{code}: {c.positives} for, {c.negatives} against; suggestions from "
                         f"{what} ({shown})")
        return lines


def _earned_stack(X: np.ndarray, y: np.ndarray, group: np.ndarray, interview: np.ndarray,
                  current: np.ndarray, threshold: float, every_fold: bool = False
                  ) -> tuple[np.ndarray, FoldAverage, tuple[int, int]] | None:
    """A yes/no stack's out-of-fold scores (folds by transcript, ``group``), its fold
    models averaged and in how many of the interviews compared it did better, where it earns
    the takeover from the ``current`` scorer (suggesting at ``threshold``): scores that vary
    and an F1 that surely beats the current one, interview by interview (``interview``: each
    row's transcript); else None. A fold whose other folds hold one class only is scored
    with their mean, or with ``every_fold`` ends the attempt."""
    from sklearn.linear_model import LogisticRegression

    folds = sorted(set(group.tolist()))
    stacked = np.zeros(len(y))
    models: list[LogisticRegression] = []
    for f in folds:
        test = group == f
        if len(set(y[~test].tolist())) < 2:
            if every_fold:
                return None
            stacked[test] = y[~test].mean()
            continue
        model = LogisticRegression(C=1.0, max_iter=2000).fit(X[~test], y[~test])
        stacked[test] = model.predict_proba(X[test])[:, 1]
        models.append(model)
    if not models or stacked.std() < MIN_SPREAD:
        return None
    gains = []
    for name in np.unique(interview):
        m = interview == name
        if y[m].any() or (stacked[m] >= 0.5).any() or (current[m] >= threshold).any():
            gains.append(_f1(stacked[m], y[m], 0.5) - _f1(current[m], y[m], threshold))
    if not surely_better(gains):
        return None
    return stacked, FoldAverage(models, [0, 1]), (sum(g > 0 for g in gains), len(gains))


def surely_better(gains: Sequence[float]) -> bool:
    """Whether per-interview gains (a stack's quality minus what it would replace, one per
    interview with something to score) show a gain above ``MARGIN`` with ``CONFIDENCE``: the
    lower bound of a one-sided t interval of their mean. Few interviews need a large,
    consistent gain; many can show a small one."""
    from scipy import stats

    d = np.asarray(gains, dtype=float)
    if len(d) < MIN_GROUPS:
        return False
    spread = float(d.std(ddof=1)) / np.sqrt(len(d))
    lower = float(d.mean()) - float(stats.t.ppf(CONFIDENCE, len(d) - 1)) * spread
    return lower > MARGIN


def _f1(p: np.ndarray, y: np.ndarray, t: float) -> float:
    pred = p >= t
    tp = float((pred & (y == 1)).sum())
    denom = float(y.sum()) + float(pred.sum())
    return 2 * tp / denom if denom else 0.0

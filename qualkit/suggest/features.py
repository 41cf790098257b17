"""Features of a turn in its dialogue, for the learned suggester.

What a turn does in an interview depends on its neighbours as much as on its words: a
reflection echoes what the other speaker just said, an answer depends on the question, a
follow-up reuses the speaker's own last words. So besides the turn's words (TF-IDF) and its
sentence embedding, each turn gets its neighbours' embeddings, cosines with them and with the
session, words shared with them, surface cues, its position and, where the segments carry
timestamps, how long it lasted. Nothing here knows any particular codebook.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..embed import DIM, Embedder
from ..model import Segment
from .base import SegmentView

# -- surface cues (English conversation) -------------------------------------------------------

_WH = re.compile(r"^\W*(what|how|why|when|where|who|which|whose)\b", re.I)
_AUX = re.compile(r"^\W*(do|does|did|is|are|was|were|can|could|would|will|have|has|had|"
                  r"should|may|might|shall|am|isn't|aren't|don't|didn't)\b", re.I)
_BACKCHANNEL = re.compile(r"^\W*((yeah|yes|yep|no|nope|okay|ok|right|sure|mm+|mhm+|hm+|uh-huh|"
                          r"uh|um|oh|ah|alright|true|exactly|absolutely|i see|thanks?|"
                          r"thank you|great|good|fine)\W*)+$", re.I)
_FUTURE = re.compile(r"\b(i'?m going to|i'?m gonna|i will|i'll|i want|i wanna|i need to|"
                     r"i could|i should|i can|i'd like|i'd rather|i plan|i hope|i'?m ready|"
                     r"i'?m trying)\b", re.I)
_NEGATION = re.compile(r"\b(not|never|no|nobody|nothing|none|cannot)\b|n't\b", re.I)
_REFLECT = re.compile(r"^\W*(so,? you|so it|it sounds|sounds like|it seems|seems like|you feel|"
                      r"you're feeling|you're saying|you sound|you think|you want|you don't|"
                      r"you're not|what i'?m hearing|i'?m hearing|if i understand|in other words|"
                      r"you've|you're)\b", re.I)
_ADVICE = re.compile(r"\b(you could|you might|you should|you may want|i suggest|i'd suggest|"
                     r"i recommend|i'd recommend|one option|some people|other people|research|"
                     r"studies|evidence|the risk|what we know|it's important|let me tell)\b", re.I)
_HEDGE = re.compile(r"\b(but|though|although|maybe|perhaps|kind of|sort of|i guess|i suppose|"
                    r"i don't know|not sure|probably)\b", re.I)
_PERMISSION = re.compile(r"\b(would it be ok|is it ok|is it okay|would you mind|can i|may i|"
                         r"do you mind|would you like)\b", re.I)
_OPENER = re.compile(r"^\W*(and|but|so|because|cause|or|well)\b", re.I)
_NONVERBAL = re.compile(r"[\[(][^\])]{1,30}[\])]|\b(ha){2,}\b", re.I)
_WORD = re.compile(r"[a-z][a-z']*")
_YOU = frozenset({"you", "you're", "your", "yours", "yourself", "you've", "you'll", "you'd"})
_I = frozenset({"i", "i'm", "me", "my", "mine", "myself", "i've", "i'll", "i'd"})
_WE = frozenset({"we", "we're", "us", "our", "ours", "we've", "we'll"})
_STOP = frozenset("""a an the and or but so if then than that this these those there here it its
it's is are was were be been being am do does did have has had i me my you your we our they them
their he him his she her to of in on at for with about as by from up out not no yes yeah okay
ok just like really very um uh oh well what how why when where who which would could should can
will all some any more much one get got go going know think mean thing things lot right""".split())

N_CUES = 20


def surface_cues(text: str) -> list[float]:
    """Twenty cues that mark questions, reflections, advice, backchannels and commitment."""
    t = text.strip()
    low = t.lower()
    words = _WORD.findall(low)
    n = len(words)
    rate = 1.0 / (1 + n)
    sentences = max(1, len(re.findall(r"[.!?]+(\s|$)", t)))
    return [float(t.endswith("?")), float("?" in t), float(bool(_WH.match(t))),
            float(bool(_AUX.match(t))), np.log1p(n) / 5.0, np.log1p(sentences) / 2.0,
            float(bool(_BACKCHANNEL.match(t))), sum(w in _YOU for w in words) * rate,
            sum(w in _I for w in words) * rate, sum(w in _WE for w in words) * rate,
            float(bool(_FUTURE.search(low))), len(_NEGATION.findall(low)) * rate,
            float(bool(_REFLECT.match(t))), float(bool(_ADVICE.search(low))),
            float(bool(_HEDGE.search(low))), float(bool(_PERMISSION.search(low))),
            float(bool(_OPENER.match(t))), float("!" in t), float(bool(_NONVERBAL.search(t))),
            float(t.endswith(("...", "-", "--", "…")))]


def content_words(text: str) -> set[str]:
    return {w for w in _WORD.findall(text.lower()) if len(w) > 2 and w not in _STOP}


def overlap(words: set[str], other: Segment | None, memo: dict | None = None) -> list[float]:
    """Share of this turn's content words the other turn also has, and how many."""
    if other is None or not words:
        return [0.0, 0.0]
    theirs = memo.get(id(other)) if memo is not None else None
    if theirs is None:
        theirs = content_words(other.text)
        if memo is not None:
            memo[id(other)] = theirs
    shared = len(words & theirs)
    return [shared / len(words), np.log1p(shared) / 3.0]


def seconds(stamp: str | None) -> float | None:
    """'01:02:03', '02:03' or '02:03.5' as seconds; None when absent or unreadable."""
    if not stamp:
        return None
    try:
        parts = [float(p) for p in stamp.strip().replace(",", ".").split(":")]
    except ValueError:
        return None
    total = 0.0
    for p in parts:
        total = total * 60 + p
    return total


# -- the feature set ---------------------------------------------------------------------------

NEIGHBOURS = ("previous", "following", "other_before", "other_after", "same_before",
              "same_after")


def neighbour(view: SegmentView, which: str) -> Segment | None:
    return getattr(view, which)


def _timing(view: SegmentView) -> list[float]:
    here = seconds(view.segment.timestamp)
    if here is None:
        return [0.0, 0.0, 0.0]
    nxt = seconds(view.following.timestamp) if view.following is not None else None
    prv = seconds(view.previous.timestamp) if view.previous is not None else None
    duration = np.log1p(max(nxt - here, 0.0)) / 4.0 if nxt is not None else 0.0
    gap = np.log1p(max(here - prv, 0.0)) / 4.0 if prv is not None else 0.0
    return [1.0, duration, gap]


def hand_features(view: SegmentView, memo: dict | None = None) -> list[float]:
    """Cues, overlap with neighbours, position, turn-taking and timing (no embeddings).

    ``memo`` keeps each turn's content words across the views of one batch."""
    seg = view.segment
    words = content_words(seg.text)
    n_words = len(seg.text.split())
    other = view.other_before
    row = surface_cues(seg.text)
    for which in ("previous", "other_before", "following", "same_before"):
        row += overlap(words, neighbour(view, which), memo)
    row += [view.position, float(view.previous is None), float(view.following is None),
            float(view.previous is not None and view.previous.speaker == seg.speaker),
            float(view.following is not None and view.following.speaker == seg.speaker),
            float(other is not None and other.text.strip().endswith("?")),
            np.log((1 + n_words) / (1 + len(other.text.split()))) / 3.0 if other else 0.0]
    return row + _timing(view)


@dataclass
class Block:
    """The feature blocks of a batch of views, as the level-1 models use them."""

    texts: list[str]
    emb: np.ndarray  # (n, 7 * DIM): this turn, then each neighbour in NEIGHBOURS order
    cosines: np.ndarray  # (n, 8): with each neighbour, then with the session (same, other)
    hand: np.ndarray  # (n, n_hand)


def _transcript_key(view: SegmentView) -> tuple[str, int]:
    # Views made by hand carry no transcript: each is its own small session.
    return (view.transcript, id(view.segments) if view.segments else id(view))


def turn_pieces(text: str) -> list[str]:
    """What a turn's vector is made from: its sentences as the semantic suggester embeds them
    (``semantic.chunks``), so a project coded with semantic suggestions already has them
    cached and its first retraining embeds only the turns no code applies to."""
    from .semantic import chunks

    return [text[a:b] for a, b in chunks(text)]


def turn_vectors(texts: Sequence[str], embedder: Embedder) -> np.ndarray:
    """Each turn's vector: the mean of its sentences' vectors, at unit length. (Embedding each
    whole turn as well cost a first retraining 16 s on the 20 sample interviews and about
    an hour at 10,000 interviews; docs/study.md.)"""
    pieces = [turn_pieces(t) for t in texts]
    vectors = embedder.encode([p for ps in pieces for p in ps])
    out = np.zeros((len(texts), DIM), dtype=np.float32)
    at = 0
    for r, ps in enumerate(pieces):
        mean = vectors[at:at + len(ps)].mean(axis=0) if ps else np.zeros(DIM)
        at += len(ps)
        norm = float(np.linalg.norm(mean))
        out[r] = mean / norm if norm > 1e-9 else mean
    return out


def embed_views(views: Sequence[SegmentView], embedder: Embedder) -> Block:
    """Embeddings of each turn, its neighbours and its session, with their cosines."""
    n = len(views)
    # Every turn of every transcript involved, embedded once (the cache makes this cheap).
    sessions: dict[tuple[str, int], Sequence[Segment]] = {}
    for v in views:
        key = _transcript_key(v)
        if key not in sessions:
            sessions[key] = v.segments if v.segments else \
                [s for s in (v.previous, v.segment, v.following) if s is not None]
    texts: list[str] = []
    offset: dict[tuple[str, int], int] = {}
    for key, segs in sessions.items():
        offset[key] = len(texts)
        texts.extend(s.text for s in segs)
    vectors = turn_vectors(texts, embedder)
    # Per session: the sum of each speaker's turn vectors, for leave-one-out session means.
    spk_sum: dict[tuple[tuple[str, int], str], tuple[np.ndarray, int]] = {}
    total: dict[tuple[str, int], tuple[np.ndarray, int]] = {}
    position: dict[tuple[tuple[str, int], int], int] = {}  # (session, id(segment)) -> row
    for key, segs in sessions.items():
        base = offset[key]
        block = vectors[base:base + len(segs)]
        total[key] = (block.sum(axis=0), len(segs))
        for i, s in enumerate(segs):
            position[(key, id(s))] = base + i
            acc, m = spk_sum.get((key, s.speaker), (np.zeros(DIM, dtype=np.float64), 0))
            spk_sum[(key, s.speaker)] = (acc + block[i], m + 1)
    zero = np.zeros(DIM, dtype=np.float32)

    def vec(key, seg: Segment | None) -> np.ndarray:
        if seg is None:
            return zero
        row = position.get((key, id(seg)))
        return vectors[row] if row is not None else turn_vectors([seg.text], embedder)[0]

    emb = np.zeros((n, 7 * DIM), dtype=np.float32)
    cos = np.zeros((n, 8), dtype=np.float32)
    for r, v in enumerate(views):
        key = _transcript_key(v)
        here = vec(key, v.segment)
        emb[r, :DIM] = here
        for k, which in enumerate(NEIGHBOURS):
            other = vec(key, neighbour(v, which))
            emb[r, (k + 1) * DIM:(k + 2) * DIM] = other
            cos[r, k] = float(here @ other)
        acc, m = spk_sum[(key, v.segment.speaker)] if (key, v.segment.speaker) in spk_sum \
            else (np.zeros(DIM), 0)
        same = (acc - here) / max(m - 1, 1)
        everyone, n_all = total[key]
        rest = (everyone - acc) / max(n_all - m, 1)
        for k, mean in enumerate((same, rest)):
            norm = float(np.linalg.norm(mean))
            cos[r, 6 + k] = float(here @ mean) / norm if norm > 1e-9 else 0.0
    memo: dict[int, set[str]] = {}
    hand = np.array([hand_features(v, memo) for v in views], dtype=np.float64).reshape(n, -1)
    return Block([v.segment.text for v in views], emb, cos, hand)


@dataclass
class Vectorizers:
    """The text vectorizers fitted on the training turns."""

    word: Any
    char: Any | None

    @classmethod
    def fit(cls, texts: Sequence[str], char: bool = True) -> Vectorizers:
        from sklearn.feature_extraction.text import TfidfVectorizer

        min_df = 2 if len(texts) >= 50 else 1
        word = TfidfVectorizer(ngram_range=(1, 2), min_df=min_df, sublinear_tf=True,
                               max_features=50000).fit(texts)
        chars = TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), min_df=min_df,
                                sublinear_tf=True, max_features=60000).fit(texts) \
            if char else None
        return cls(word, chars)

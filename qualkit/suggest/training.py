"""Training examples from a person's decisions: a project's reviewed codings or a coded table."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable

from ..model import Codebook, Coding, ImportedDocument, Transcript, segment_of
from .base import Example, Scope, views_of

COMPLETE_SOURCES = frozenset({"import", "qdpx"})  # tables and other tools' projects: fully coded


def examples_from_codings(transcript: Transcript, codings: Iterable[Coding], scope: Scope,
                          complete: bool) -> list[Example]:
    """Examples for one transcript.

    ``complete``: the codings are a full coding of the transcript (a coded table), so a code not
    applied to a segment is ruled out there. Otherwise only explicit decisions count: accepted
    codes are positive, rejected ones negative, and so are the siblings of an accepted child of
    an exclusive parent. With several coders, a code is positive where at least half applied it.
    """
    views = views_of(transcript)
    coders = {c.coder for c in codings if c.status == "accepted"} or {""}
    votes: dict[int, Counter[str]] = defaultdict(Counter)
    rejected: dict[int, set[str]] = defaultdict(set)
    for c in codings:
        seg = segment_of(transcript, c)
        if seg is None:
            continue
        if c.status == "accepted":
            votes[seg][c.code_id] += 1
        elif c.status == "rejected":
            rejected[seg].add(c.code_id)
    need = max(1, (len(coders) + 1) // 2)
    sibling = {k: kids for kids in scope.exclusive.values() for k in kids}
    out = []
    for view in views:
        idx = view.segment.index
        allowed = {c for c, ok in zip(scope.codes, scope.mask(view.segment)) if ok}
        if not allowed or not view.segment.text.strip():
            continue
        positive = {c for c, n in votes[idx].items() if n >= need and c in allowed}
        if complete:
            negative = allowed - positive
        else:
            negative = set(rejected[idx]) - positive
            for code in positive:
                negative |= set(sibling.get(code, ())) - {code}
            if not positive and not negative:
                continue
        out.append(Example(view, frozenset(positive), frozenset(negative & allowed),
                           frozenset(rejected[idx] - positive)))
    return out


def examples_from_documents(docs: Iterable[ImportedDocument], codebook: Codebook) -> list[Example]:
    """A coded-segments table (or other fully coded import) as training examples."""
    scope = Scope(codebook)
    out: list[Example] = []
    for doc in docs:
        out.extend(examples_from_codings(doc.transcript, doc.codings, scope, complete=True))
    return out


def reviewed(codings: list[Coding]) -> bool:
    """Whether a person has worked right through a transcript: they made decisions in it and no
    suggestion is still waiting (the queue shows the next one as soon as one is decided, so any
    undecided suggestion is one still in front of them). Then a code nobody applied to a turn
    is ruled out there, as in a fully coded table, not merely unknown."""
    decided = {c.suggestion_id for c in codings if c.status != "suggested"}
    waiting = [c for c in codings if c.status == "suggested" and c.id not in decided]
    return len(decided) > 0 and not waiting


def examples_from_project(store: object, codebook: Codebook) -> list[Example]:
    """Every reviewed segment in a project (person-made decisions only). In a transcript a
    person worked right through (``reviewed``), every turn is an example."""
    scope = Scope(codebook)
    out: list[Example] = []
    # only the transcripts with decisions are read: the others give no example
    decided = store.decided_transcripts()  # type: ignore[attr-defined]
    for transcript in store.iter_transcripts(decided):  # type: ignore[attr-defined]
        every = store.codings(transcript=transcript.name)  # type: ignore[attr-defined]
        codings = [c for c in every if c.status != "suggested"]
        if not codings:
            continue
        complete = all(c.source in COMPLETE_SOURCES for c in codings) or reviewed(every)
        out.extend(examples_from_codings(transcript, codings, scope, complete))
    return out

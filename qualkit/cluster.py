"""Batch coding on a Dask cluster: `qualkit code --cluster tcp://HOST:8786` or `--workers N`.

The transcripts are spread over the workers in small batches; this process stays the one writer.
The suggesters are fitted here once (``pipeline.BatchRun``), pickled once and shipped to every
worker once, where they are unpickled once per suggester version and kept: each worker loads the
codebook, the spaCy pipeline, the embedding model and the fitted suggesters a single time.
A task gets its transcripts and the vectors the project's cache already holds for them, embeds
the rest, and returns the suggestions and the new vectors; nothing on a worker touches the
database. Here the vectors go into the project's cache and each transcript's suggestions are
written in its own transaction (``BatchRun.save``, the same as the single-process run), so a run
that stops part way keeps what it finished and a re-run completes it without duplicates. Only
a bounded number of batches is under way at once, so memory here stays flat in the number of
transcripts. dask is imported inside functions: `qualkit --help` never loads it.
"""

from __future__ import annotations

import hashlib
import io
import pickle
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .errors import QualkitError
from .model import Suggestion, Transcript

Progress = Callable[[int, int, str], None]
BATCH = 4  # transcripts per task: small enough to spread, large enough to amortise a task
IN_FLIGHT = 2  # batches under way per worker thread: workers never wait for the next one


@dataclass
class ClusterSpec:
    """Where batch coding runs: a running scheduler's ``address`` (tcp://HOST:8786), or a
    local cluster of ``workers`` processes made for this run (threads in this process when
    ``processes`` is false, as the tests do)."""

    address: str | None = None
    workers: int | None = None
    processes: bool = True
    batch: int = BATCH

    def __post_init__(self) -> None:
        if (self.address is None) == (self.workers is None):
            raise QualkitError("give either a scheduler address or a number of workers",
                               hint="`qualkit code --cluster tcp://HOST:8786` or "
                                    "`qualkit code --workers 2`")
        if self.address is not None and "://" not in self.address:
            raise QualkitError(f"--cluster {self.address!r} is not a scheduler address",
                               hint="write it as tcp://HOST:8786 (the address `dask "
                                    "scheduler` prints)")
        if self.workers is not None and self.workers < 1:
            raise QualkitError(f"--workers {self.workers} must be 1 or more")
        if self.batch < 1:
            raise QualkitError(f"a batch of {self.batch} transcripts must be 1 or more")


# -- shipping the fitted suggesters ------------------------------------------------------------
# The embedder and the spaCy pipeline (and its vocabulary) are not shipped: a worker puts its
# own in their place, so the model and the pipeline are loaded there once, from its own disk.

def _is_language(obj: Any) -> str | None:
    import sys

    language = sys.modules.get("spacy.language")
    vocab = sys.modules.get("spacy.vocab")
    # the pipeline's language names it: a worker loads ``load_pipeline(lang)``, which gives
    # the same (a language spaCy cannot tokenize alone is built as "xx" on both sides)
    if language is not None and isinstance(obj, language.Language):
        return f"nlp:{obj.lang}"
    if vocab is not None and isinstance(obj, vocab.Vocab):
        return f"vocab:{obj.lang}"
    return None


class _Pickler(pickle.Pickler):
    def persistent_id(self, obj: Any) -> str | None:
        from .embed import Embedder

        if isinstance(obj, Embedder):
            return f"embedder:{obj.spec.key}"  # the worker loads the project's model
        return _is_language(obj)


class _Unpickler(pickle.Unpickler):
    def __init__(self, data: bytes, cache: Any) -> None:
        super().__init__(io.BytesIO(data))
        self.cache = cache
        self.embedders: dict[str, Any] = {}

    def persistent_load(self, pid: Any) -> Any:
        from .embed import Embedder
        from .nlp import load_pipeline

        if isinstance(pid, str) and pid.startswith("embedder:"):
            key = pid.partition(":")[2]
            if key not in self.embedders:
                self.embedders[key] = Embedder(self.cache, embeddings=key)
            return self.embedders[key]
        if isinstance(pid, str) and pid.startswith("nlp:"):
            return load_pipeline(pid.partition(":")[2])
        if isinstance(pid, str) and pid.startswith("vocab:"):
            return load_pipeline(pid.partition(":")[2]).vocab
        raise pickle.UnpicklingError(f"unknown reference {pid!r}")


def pack(run: Any) -> bytes:
    """The fitted suggesters and what a worker needs to embed a transcript, as bytes."""
    buf = io.BytesIO()
    _Pickler(buf, protocol=pickle.HIGHEST_PROTOCOL).dump(
        (run.suggester, run.scope, run.sentences, run.turns))
    return buf.getvalue()


class _TaskCache:
    """A worker's stand-in for the project's vector cache: it answers from the vectors a task
    brought and keeps what the model computed, for the task to return."""

    def __init__(self) -> None:
        self.known: dict[str, bytes] = {}
        self.fresh: dict[str, bytes] = {}

    def get_embeddings(self, model: str, hashes: list[str]) -> dict[str, bytes]:
        return {h: self.known[h] for h in hashes if h in self.known}

    def put_embeddings(self, model: str, vectors: dict[str, bytes]) -> None:
        self.fresh.update(vectors)


@dataclass
class _Loaded:
    suggester: Any
    scope: Any
    sentences: bool
    turns: bool
    cache: _TaskCache
    lock: threading.Lock


_LOADED: dict[str, _Loaded] = {}  # on a worker: the suggesters by version, the newest kept
_LOADING = threading.Lock()


def _load(key: str, payload: bytes) -> _Loaded:
    with _LOADING:
        if key not in _LOADED:
            cache = _TaskCache()
            suggester, scope, sentences, turns = _Unpickler(payload, cache).load()
            _LOADED.clear()  # an older version (before a codebook change) is done with
            _LOADED[key] = _Loaded(suggester, scope, sentences, turns, cache, threading.Lock())
        return _LOADED[key]


def code_batch(key: str, payload: bytes, transcripts: list[Transcript],
               known: dict[str, bytes]) -> tuple[list[tuple[str, list[Suggestion] | str]],
                                                 dict[str, bytes]]:
    """A worker's task: each transcript's suggestions (or, where it failed, the error in one
    line, so the batch's other transcripts still count), and the vectors it computed."""
    from . import pipeline

    loaded = _load(key, payload)
    with loaded.lock:  # one task at a time per loaded suggester: the cache is the task's
        loaded.cache.known, loaded.cache.fresh = known, {}
        # Vectors kept from an earlier task would be neither asked of the cache nor returned:
        # every vector a task uses comes from what it brought or goes back with it, so the
        # project's cache gets all of them (a long-lived worker serves many runs).
        embedder = loaded.suggester.embedder
        embedder._memory.clear()
        out: list[tuple[str, list[Suggestion] | str]] = []
        for transcript in transcripts:
            try:
                embedder.encode(pipeline.texts_to_embed(transcript, loaded.scope,
                                                        loaded.sentences, loaded.turns))
                out.append((transcript.name, pipeline.suggestions_for(loaded.suggester,
                                                                      transcript)))
            except Exception as exc:  # reported with the transcript's name by the writer
                out.append((transcript.name, f"{type(exc).__name__}: {exc}"))
        fresh, loaded.cache.known, loaded.cache.fresh = loaded.cache.fresh, {}, {}
        return out, fresh


# -- the client: the one writer ---------------------------------------------------------------

def _client(spec: ClusterSpec) -> tuple[Any, Callable[[], None]]:
    """A Dask client for the spec and how to close it (and the local cluster it made)."""
    try:
        from dask.distributed import Client, LocalCluster
    except ImportError as exc:  # pragma: no cover - dask is a dependency
        raise QualkitError("batch coding on a cluster needs dask[distributed]",
                           hint="pip install 'dask[distributed]'") from exc
    if spec.address is not None:
        try:
            client = Client(spec.address, timeout="20s")
        except OSError as exc:
            raise QualkitError(f"no Dask scheduler answered at {spec.address} ({exc})",
                               hint="start one with `dask scheduler` and workers with "
                                    "`dask worker ADDRESS`, or use --workers N for a "
                                    "local cluster") from exc
        return client, client.close
    cluster = LocalCluster(n_workers=spec.workers, threads_per_worker=1,
                           processes=spec.processes, dashboard_address=None)
    client = Client(cluster)

    def close() -> None:
        client.close()
        cluster.close()

    return client, close


def code_on_cluster(run: Any, names: list[str], actor: str, report: Any, spec: ClusterSpec,
                    progress: Progress | None = None) -> None:
    """Suggest for ``names`` on the cluster and store the suggestions here, a transcript per
    transaction (``run`` is a fitted ``pipeline.BatchRun``; ``report`` its ``CodeReport``)."""
    from dask.distributed import wait

    store = run.project.store
    client, close = _client(spec)
    try:
        threads = max(sum(client.nthreads().values()), 1)
        window = IN_FLIGHT * threads
        payload: Any = None
        key = ""

        def ship() -> None:
            nonlocal payload, key
            data = pack(run)
            key = hashlib.sha256(data).hexdigest()
            payload = client.scatter(data, broadcast=True, hash=False)

        ship()
        pending: deque[str] = deque(names)
        running: dict[Any, tuple[str, list[str]]] = {}  # future -> suggesters' key, batch
        failed: list[str] = []
        done = 0
        while pending or running:
            while pending and len(running) < window:
                batch = [pending.popleft() for _ in range(min(spec.batch, len(pending)))]
                transcripts = [store.load_transcript(n) for n in batch]
                hashes = list({_hash(t) for tr in transcripts for t in run.texts(tr)})
                known = store.get_embeddings(run.embedder.model_name, hashes) if hashes else {}
                future = client.submit(code_batch, key, payload, transcripts, known,
                                       pure=False)
                running[future] = (key, batch)
            finished, _ = wait(list(running), return_when="FIRST_COMPLETED")
            for future in finished:
                used, batch = running.pop(future)
                try:
                    results, fresh = future.result()
                except Exception as exc:  # a worker lost, or the task itself failed
                    failed.extend(f"{n}: {type(exc).__name__}: {exc}" for n in batch)
                    done += len(batch)
                    future.release()
                    continue
                vectors = list(fresh.items())
                for lo in range(0, len(vectors), 500):  # a bounded statement each
                    store.put_embeddings(run.embedder.model_name, dict(vectors[lo:lo + 500]))
                report.embedded += len(fresh)
                for name, result in results:
                    if isinstance(result, str):
                        failed.append(f"{name}: {result}")
                    elif used != key:  # made before a codebook change: again, with the new
                        pending.appendleft(name)
                        continue
                    elif not run.save(name, result, actor, report):
                        ship()  # the codebook changed: the refitted suggesters, shipped once
                        pending.appendleft(name)
                        continue
                    done += 1
                    if progress:
                        progress(done, len(names), name)
                future.release()
        if failed:
            raise QualkitError(
                f"{len(failed)} of {len(names)} transcripts were not coded (the others are "
                f"saved); first: {failed[0]}",
                hint="run `qualkit code` again to finish them: what is saved is kept, "
                     "nothing is suggested twice")
    finally:
        close()


def _hash(text: str) -> str:
    from .embed import text_hash

    return text_hash(text)

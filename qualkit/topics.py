"""Emergent themes: BERTopic over participants' sentences proposes codes the codebook lacks.

Documents are the sentence chunks of the coded speakers' turns (short sentences merged), so a
long answer that touches two themes can feed two topics. Embeddings come from the project's
cache (the semantic suggester's), the MiniLM model is always passed as an object (BERTopic would
otherwise reach for the hub), and UMAP and HDBSCAN get a fixed random state and a minimum topic
size scaled to the corpus. Outliers are re-assigned by embedding similarity. Each topic is
compared with the codes its passages already carry: little overlap flags a candidate new code;
two large overlaps hint at codes to merge or split.

BERTopic, UMAP and HDBSCAN are imported only inside ``fit_topics``. The figures (a topic map and
the top words) are drawn only when asked for (``topic_figures``, by the Topics page), from the
stored run and the cached embeddings, and kept with the run: finding topics never pays for
them.
"""

from __future__ import annotations

import re
import warnings
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from .errors import QualkitError
from .model import Code, Coding, Suggestion

Progress = Callable[[int, int, str], None]
# Spoken-English fillers that say nothing about a topic, removed from labels with the usual
# English stop words.
FILLERS = frozenset("""yeah yes yep like know mean really just think honestly bit sort kind
actually basically erm um uh okay ok right fair lot lots things thing got get gets getting going
goes say says said quite don didn doesn isn wasn aren ll ve re maybe probably obviously
definitely literally stuff guess suppose course way time sure let""".split())
EXACT_NEIGHBOURS_UP_TO = 30_000  # passages; see neighbour_graph
AUTO_REDUCE_ABOVE = 8  # clusters before BERTopic's automatic topic reduction is worth it
CANDIDATE_OVERLAP = 0.35  # below this share of passages carrying a code: a candidate new code
STRADDLE_SHARE = 0.25  # two codes each on at least this share: the topic straddles them


class TopicError(QualkitError):
    """Topics cannot be found or promoted as asked."""


@dataclass
class TopicSettings:
    unassigned_only: bool = False  # only passages without an accepted code
    min_topic_size: int | None = None  # None: scaled to the corpus
    seed: int = 0
    fast: bool = False  # PCA + KMeans instead of UMAP + HDBSCAN (tests, very small corpora)
    n_topics: int | None = None  # for the fast path (default: about one per 40 passages)
    nr_topics: int | str | None = "auto"  # BERTopic's topic reduction: merge similar topics
    neighbours: int = 15  # UMAP neighbourhood (BERTopic's default)


@dataclass
class Passage:
    transcript: str
    segment: int
    start: int
    end: int
    speaker: str
    text: str
    topic: int = -1


@dataclass
class Topic:
    id: int
    label: str
    keywords: list[tuple[str, float]]
    size: int
    participants: int
    extracts: list[int]  # indexes into TopicRun.passages, most representative first
    overlap: dict[str, int]  # code id -> passages of this topic that carry it
    coded_share: float  # share of the topic's passages carrying any code
    candidate: bool
    straddles: list[str] = field(default_factory=list)

    @property
    def hint(self) -> str:
        if self.candidate:
            return "candidate new code"
        if len(self.straddles) >= 2:
            return f"straddles {' and '.join(self.straddles)}: merge or split?"
        return ""


@dataclass
class TopicRun:
    settings: TopicSettings
    passages: list[Passage]
    topics: list[Topic]
    participants: int  # N: transcripts in the run
    figures: dict[str, str] = field(default_factory=dict)  # plotly JSON by name, once drawn
    id: int | None = None
    created_at: str = ""
    embeddings: str = "english"  # the model the run's passages were embedded with

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out.pop("id")
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any], run_id: int | None = None) -> TopicRun:
        return cls(settings=TopicSettings(**data["settings"]),
                   passages=[Passage(**p) for p in data["passages"]],
                   topics=[Topic(**{**t, "keywords": [tuple(k) for k in t["keywords"]]})
                           for t in data["topics"]],
                   participants=data["participants"], figures=data.get("figures", {}),
                   id=run_id, created_at=data.get("created_at", ""),
                   embeddings=data.get("embeddings", "english"))

    def topic(self, topic_id: int) -> Topic:
        found = next((t for t in self.topics if t.id == topic_id), None)
        if found is None:
            raise TopicError(f"no topic {topic_id} in this run",
                             hint="list the topics with `qualkit topics`")
        return found


def min_topic_size(n: int) -> int:
    """About 1.5% of the passages, at least 10 and at most 150: from 5 interviews to 500.

    Clusters this small can split one theme into its phrasings; BERTopic's topic reduction
    ("auto") then merges topics whose words overlap, so themes come out whole."""
    return int(min(150, max(10, round(n / 70))))


def collect_passages(transcripts: Sequence[Any], codings: Sequence[Coding], codebook: Any,
                     unassigned_only: bool) -> list[Passage]:
    """Sentence chunks of the turns the codebook codes (or, without speakers, participants')."""
    from .suggest.base import Scope
    from .suggest.semantic import chunks

    scope = Scope(codebook) if codebook is not None else None
    accepted: dict[str, list[Coding]] = {}
    for c in codings:
        if c.status == "accepted":
            accepted.setdefault(c.transcript, []).append(c)
    out: list[Passage] = []
    for tr in transcripts:
        for seg in tr.segments:
            if not seg.text.strip():
                continue
            if scope is not None and not scope.mask(seg).any():
                continue
            if scope is None and seg.role == "interviewer":
                continue
            for a, b in chunks(seg.text):
                start, end = seg.start + a, seg.start + b
                if unassigned_only and any(c.start < end and start < c.end
                                           for c in accepted.get(tr.name, ())):
                    continue
                out.append(Passage(tr.name, seg.index, start, end, seg.speaker,
                                   seg.text[a:b]))
    return out


def bertopic_embedder(embedder: Any) -> Any:
    """qualkit's cached embedder (the project's model) as a BERTopic embedding model object.

    BERTopic must be given an object (with none it reaches for the hub); this one loads the
    model only if BERTopic ever asks for an embedding it was not handed."""
    from bertopic.backend import BaseEmbedder

    class CachedEmbedder(BaseEmbedder):
        def embed(self, documents: list[str], verbose: bool = False) -> np.ndarray:
            return embedder.encode(list(documents))

    return CachedEmbedder()


def neighbour_graph(embeddings: np.ndarray, k: int) -> tuple[Any, Any, None]:
    """Exact cosine neighbours for UMAP, or (None, None, None) to let UMAP find its own.

    UMAP's approximate search (pynndescent) costs about 30 s of numba compilation in every new
    process, while the exact search is a second of matrix products for a study's corpus. Past
    EXACT_NEIGHBOURS_UP_TO passages the quadratic search would cost more than the compilation.
    """
    if len(embeddings) > EXACT_NEIGHBOURS_UP_TO:
        return None, None, None
    from sklearn.neighbors import NearestNeighbors

    search = NearestNeighbors(n_neighbors=k, metric="cosine", algorithm="brute").fit(embeddings)
    distances, indices = search.kneighbors(embeddings)
    return indices, distances, None


def fit_topics(passages: list[Passage], embeddings: np.ndarray, settings: TopicSettings,
               embedding_model: Any = None) -> tuple[Any, list[int]]:
    """Fit BERTopic; returns the model and each passage's topic (-1: none)."""
    from bertopic import BERTopic
    from bertopic.vectorizers import ClassTfidfTransformer
    from sklearn.feature_extraction.text import CountVectorizer

    n = len(passages)
    size = settings.min_topic_size or min_topic_size(n)
    if settings.fast:
        from sklearn.cluster import KMeans
        from sklearn.decomposition import PCA

        k = settings.n_topics or max(2, n // 40)
        reducer: Any = PCA(n_components=min(5, embeddings.shape[1], n - 1),
                           random_state=settings.seed)
        clusterer: Any = KMeans(n_clusters=k, n_init=10, random_state=settings.seed)
    else:
        from hdbscan import HDBSCAN
        from umap import UMAP

        k = min(settings.neighbours, max(2, n - 1))
        reducer = UMAP(n_neighbors=k, n_components=5, min_dist=0.0, metric="cosine",
                       random_state=settings.seed, n_jobs=1, low_memory=True,
                       precomputed_knn=neighbour_graph(embeddings, k),
                       # UMAP's own choice past 10,000 points; 500 below it doubles the
                       # single-threaded layout time (seeded UMAP runs on one core) and
                       # gains nothing for clustering.
                       n_epochs=200)
        clusterer = HDBSCAN(min_cluster_size=size, min_samples=max(2, size // 2),
                            metric="euclidean", cluster_selection_method="eom",
                            prediction_data=True)
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

    vectorizer = CountVectorizer(stop_words=sorted(ENGLISH_STOP_WORDS | FILLERS),
                                 ngram_range=(1, 2),
                                 # BERTopic fits this on one joined document per topic, so
                                 # min_df counts topics: anything above 1 keeps only words
                                 # shared between topics.
                                 min_df=1,
                                 # words only: "she's" and "you're" are not topic words
                                 token_pattern=r"(?u)\b[a-zA-Z][a-zA-Z-]+\b")
    model = BERTopic(embedding_model=embedding_model, umap_model=reducer,
                     hdbscan_model=clusterer, vectorizer_model=vectorizer,
                     ctfidf_model=ClassTfidfTransformer(reduce_frequent_words=True),
                     min_topic_size=size, top_n_words=10, verbose=False)
    docs = [p.text for p in passages]
    with warnings.catch_warnings():
        # Precomputed neighbours cannot place new documents later: chosen here, and no news
        # to a researcher. (A seeded UMAP runs on one thread whatever n_jobs says.)
        warnings.filterwarnings("ignore", message=r"precomputed_knn\[2\]", category=UserWarning)
        topics, _ = model.fit_transform(docs, embeddings=embeddings)
    if not settings.fast and settings.nr_topics is not None and (
            settings.nr_topics != "auto" or len(set(topics) - {-1}) > AUTO_REDUCE_ABOVE):
        # Many small clusters are often one theme's phrasings: merge topics whose words
        # overlap. With few clusters there is nothing to gain and themes would be merged.
        model.reduce_topics(docs, nr_topics=settings.nr_topics)
        topics = list(model.topics_)
    if -1 in topics and len(set(topics)) > 1:
        topics = model.reduce_outliers(docs, topics, strategy="embeddings",
                                       embeddings=embeddings, threshold=0.3)
        model.update_topics(docs, topics=topics, vectorizer_model=vectorizer,
                            ctfidf_model=ClassTfidfTransformer(reduce_frequent_words=True))
    return model, [int(t) for t in topics]


def describe(model: Any, passages: list[Passage], topics: list[int], embeddings: np.ndarray,
             codings: Sequence[Coding], participants: int, n_extracts: int = 5) -> list[Topic]:
    """Labels, keywords, prevalence, representative extracts and overlap with codes."""
    coded: dict[str, list[Coding]] = {}
    for c in codings:
        if c.status in ("accepted", "suggested"):
            coded.setdefault(c.transcript, []).append(c)
    out = []
    for topic_id in sorted(set(topics) - {-1}):
        members = [i for i, t in enumerate(topics) if t == topic_id]
        words = [(w, round(float(s), 4)) for w, s in (model.get_topic(topic_id) or []) if w]
        centre = embeddings[members].mean(axis=0)
        closeness = embeddings[members] @ centre
        extracts = [members[i] for i in np.argsort(-closeness)[:n_extracts]]
        overlap: Counter[str] = Counter()
        carrying = 0
        for i in members:
            p = passages[i]
            codes = {c.code_id for c in coded.get(p.transcript, ())
                     if c.start < p.end and p.start < c.end}
            overlap.update(codes)
            carrying += bool(codes)
        share = carrying / len(members)
        big = [c for c, k in overlap.most_common(3) if k >= STRADDLE_SHARE * len(members)]
        label = " · ".join(w for w, _ in words[:3]) or f"topic {topic_id}"
        out.append(Topic(topic_id, label, words, len(members),
                         len({passages[i].transcript for i in members}), extracts,
                         dict(overlap.most_common()), round(share, 3),
                         share < CANDIDATE_OVERLAP, big[:2] if len(big) >= 2 else []))
    return sorted(out, key=lambda t: -t.size)


BARCHART_TOPICS = 12  # topics in the top-words chart, largest first
BARCHART_WORDS = 5  # words per topic there


def barchart_figure(run: TopicRun) -> Any:
    """Each topic's top words by c-TF-IDF weight (the largest topics), as a plotly figure."""
    from plotly.subplots import make_subplots

    topics = sorted(run.topics, key=lambda t: -t.size)[:BARCHART_TOPICS]
    cols = min(4, max(1, len(topics)))
    rows = max(1, -(-len(topics) // cols))
    fig = make_subplots(rows=rows, cols=cols, horizontal_spacing=0.12,
                        vertical_spacing=0.4 / rows,
                        subplot_titles=[f"Topic {t.id}" for t in topics])
    for i, t in enumerate(topics):
        words = t.keywords[:BARCHART_WORDS][::-1]  # the heaviest word on top
        fig.add_bar(x=[w for _, w in words], y=[w for w, _ in words], orientation="h",
                    row=i // cols + 1, col=i % cols + 1, showlegend=False,
                    hovertemplate="%{y}: %{x:.3f}<extra>" + f"Topic {t.id}</extra>")
    fig.update_layout(title="Top words per topic", template="plotly_white",
                      height=max(300, 250 * rows), margin={"t": 80})
    return fig


def map_figure(run: TopicRun, embeddings: np.ndarray) -> Any:
    """Topics as circles (area by passages) placed by how alike their passages are: classical
    multidimensional scaling of the cosine distances between topic centroids."""
    import plotly.graph_objects as go

    topics = run.topics
    centres = np.vstack([embeddings[[i for i, p in enumerate(run.passages) if p.topic == t.id]]
                         .mean(axis=0) for t in topics])
    centres /= np.linalg.norm(centres, axis=1, keepdims=True).clip(1e-12)
    distance = np.clip(1.0 - centres @ centres.T, 0.0, 2.0)
    n = len(topics)
    centring = np.eye(n) - np.full((n, n), 1.0 / n)
    gram = -0.5 * centring @ (distance ** 2) @ centring
    values, vectors = np.linalg.eigh(gram)
    order = np.argsort(values)[::-1][:2]
    xy = vectors[:, order] * np.sqrt(np.clip(values[order], 0.0, None))
    if xy.shape[1] < 2:
        xy = np.hstack([xy, np.zeros((n, 2 - xy.shape[1]))])
    xy *= np.where(xy.sum(axis=0) < 0, -1.0, 1.0)  # a fixed orientation
    biggest = max(t.size for t in topics)
    fig = go.Figure(go.Scatter(
        x=xy[:, 0], y=xy[:, 1], mode="markers+text", text=[str(t.id) for t in topics],
        customdata=[[t.label, t.size] for t in topics],
        hovertemplate="Topic %{text}: %{customdata[0]}<br>%{customdata[1]} passages"
                      "<extra></extra>",
        marker={"size": [12 + 48 * (t.size / biggest) ** 0.5 for t in topics],
                "opacity": 0.6, "line": {"width": 1, "color": "#333333"}}))
    fig.update_layout(title="Topic map (closer topics have more alike passages)",
                      template="plotly_white", height=500, showlegend=False)
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False, scaleanchor="x")
    return fig


def topic_figures(project: Any, run: TopicRun) -> dict[str, str]:
    """The run's figures as plotly JSON by name ("map" with three topics or more, "barchart"),
    drawn on first request from the stored run and the cached embeddings, then stored with
    the run so they are drawn once."""
    if run.figures or not run.topics:
        return run.figures
    out = {"barchart": barchart_figure(run).to_json()}
    if len(run.topics) >= 3:
        from .embed import Embedder

        # the run's own model: the project may have chosen another since
        embedder = Embedder(project.store, embeddings=run.embeddings)
        embeddings = embedder.encode([p.text for p in run.passages])
        out["map"] = map_figure(run, embeddings).to_json()
    if run.id is not None:
        project.store.set_topic_run_figures(run.id, out)
    run.figures = out
    return out


def run_topics(project: Any, settings: TopicSettings | None = None, actor: str = "qualkit",
               progress: Progress | None = None) -> TopicRun:
    """Find topics in a project and store the run."""
    settings = settings or TopicSettings()
    store = project.store
    codebook = project.codebook_if_any(check_patterns=True)
    transcripts = list(store.iter_transcripts())
    codings = store.codings()
    passages = collect_passages(transcripts, codings, codebook, settings.unassigned_only)
    if len(passages) < 20:
        raise TopicError(f"only {len(passages)} passages to model; topics need at least 20",
                         hint="import more transcripts, or drop --unassigned-only")
    embedder = project.embedder()
    embeddings = embedder.encode([p.text for p in passages], progress)
    if progress:
        progress(0, 1, "topic model")
    model, topics = fit_topics(passages, embeddings, settings, bertopic_embedder(embedder))
    for p, t in zip(passages, topics):
        p.topic = t
    found = describe(model, passages, topics, embeddings, codings, len(transcripts))
    run = TopicRun(settings, passages, found, len(transcripts),  # figures: topic_figures
                   embeddings=project.embeddings)
    run.id, run.created_at = store.save_topic_run(run.to_dict(), actor)
    if progress:
        progress(1, 1, "")
    return run


def latest_run(project: Any) -> TopicRun | None:
    found = project.store.latest_topic_run()
    return TopicRun.from_dict(found[1], found[0]) if found else None


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")[:40] or "topic"


def draft_code(run: TopicRun, topic: Topic, name: str | None = None,
               code_id: str | None = None) -> Code:
    """A code drafted from a topic: keywords, a definition to edit, examples from extracts."""
    words = [w for w, _ in topic.keywords[:6]]
    name = name or " / ".join(words[:2]).capitalize()
    return Code(id=code_id or slug(name), name=name,
                definition=(f"Draft from topic modelling: passages about {', '.join(words[:5])}. "
                            "Edit this definition before coding with it."),
                examples=[run.passages[i].text for i in topic.extracts[:3]],
                keywords=words[:5])


def promote(project: Any, run: TopicRun, topic_id: int, actor: str, name: str | None = None,
            code_id: str | None = None, parent: str | None = None) -> tuple[Code, int]:
    """Add the topic as a code and suggest it on the topic's passages, for a person to review.

    Nothing is applied: the passages get suggestions (source 'topic'), never codings."""
    from .codebook.edit import add_code, apply_change

    topic = run.topic(topic_id)
    code = draft_code(run, topic, name, code_id)
    change = add_code(project.codebook(), parent, code)
    apply_change(project, change, actor)
    by_transcript: dict[str, list[Suggestion]] = {}
    for p in run.passages:
        if p.topic == topic_id:
            by_transcript.setdefault(p.transcript, []).append(Suggestion(
                code.id, p.transcript, p.segment, p.start, p.end, 0.5, "topic",
                f"topic '{topic.label}' (run {run.id})"))
    added = 0
    for transcript, suggestions in by_transcript.items():
        added += project.store.replace_suggestions(
            transcript, suggestions, actor,
            owns=lambda source, code_id: source == "topic" and code_id == code.id)
    return code, added

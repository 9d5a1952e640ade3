"""Relevance benchmark: kb's own indexing and ranking on a BEIR-format test collection.

    .venv/bin/python benchmarks/relevance.py --collection ../shared/eval/scifact [--quick] [--json]

Every corpus entry becomes a `kb.models.Document` (one passage holding the abstract, the title
as the document title) written with `kb.writer.add_document` into a generation made by
`kb.store.IndexStore`, and every query goes through `kb.search.Searcher.rank`: the product's
parser, compiler and BM25F scoring, nothing benchmark-specific. The index is cached under
`benchmarks/.cache/`, keyed by the collection and by the code that decides what is indexed,
so reruns while tuning query-time ranking only pay for the queries.

Metrics follow trec_eval: `ndcg_cut.10` with the qrels score as (linear) gain and a log2
discount, Recall@100, Recall@1000 and MAP over 1000 hits; every query that has judgements
counts, and a query that retrieves nothing relevant scores 0.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import shutil
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # runnable as a script from the repository root
    sys.path.insert(0, str(ROOT))

from indexer.language import detect_language  # noqa: E402
from indexer.metadata import LANGUAGE_SAMPLE_CHARS  # noqa: E402
from kb import schema  # noqa: E402
from kb.access import Principal  # noqa: E402
from kb.library import Library  # noqa: E402
from kb.models import Document, DocumentMetadata, Passage  # noqa: E402
from kb.search import Searcher  # noqa: E402
from kb.settings import Settings  # noqa: E402
from kb.store import Generation, IndexStore  # noqa: E402
from kb.writer import add_document  # noqa: E402

DEFAULT_CACHE = ROOT / "benchmarks" / ".cache"
HITS = 1000
QUICK_QUERIES = 50
KEY_FILE = "benchmark-key.txt"

# Source files whose content decides what the index holds; a change in any of them makes the
# cached index stale. Query-time choices (kb/ranking.py, kb/compile.py, kb/engine/) do not.
INDEXING_SOURCES = (
    "kb/schema.py",
    "kb/analysis.py",
    "kb/writer.py",
    "kb/fastanalysis.py",
    "kb/vocabulary.py",
    "kb/compounds.py",
    "indexer/language.py",
)
# What `to_document` decides (bump when it changes): each entry's language is detected.
DOCUMENT_MODEL = "detected-language"

# Anserini BM25 (k1=0.9, b=0.4) on BEIR SciFact, from ../shared/eval/README.md.
PUBLISHED = {
    "flat": {"ndcg@10": 0.6789, "recall@100": 0.9253, "recall@1000": 0.9767},
    "multifield": {"ndcg@10": 0.6647, "recall@100": 0.9076, "recall@1000": 0.9800},
}
PUBLISHED_SOURCE = "Anserini BM25 k1=0.9 b=0.4 (../shared/eval/README.md)"
METRICS = ("ndcg@10", "recall@100", "recall@1000")


def peer_baselines(collection_path: Path) -> tuple[dict[str, dict[str, float]], str]:
    """The BM25 figures kb is compared with: the collection's own `baseline.json` (the Nordic
    collections: stemmed and unstemmed), else SciFact's published Anserini runs."""
    path = collection_path / "baseline.json"
    if not path.is_file():
        return {"BM25 flat": PUBLISHED["flat"], "BM25 multifield": PUBLISHED["multifield"]}, (
            PUBLISHED_SOURCE
        )
    data = json.loads(path.read_text(encoding="utf-8"))
    peers = {
        f"BM25 {variant}": {
            metric: data[f"{metric}_{variant}"]
            for metric in (*METRICS, "map")
            if f"{metric}_{variant}" in data
        }
        for variant in ("stemmed", "unstemmed")
    }
    return peers, f"{data.get('method', 'BM25')} ({path.name})"


def halves(query_ids: Sequence[str], collection: Collection, per_query: Mapping[str, float]):
    """nDCG@10 of the development half (queries at even positions of queries.jsonl, counted
    from 0) and of the other half: a ranking change is tuned on one and checked on the other."""
    position = {q: i for i, q in enumerate(collection.queries)}
    out = {}
    for name, parity in (("development", 0), ("test", 1)):
        ids = [q for q in query_ids if position[q] % 2 == parity]
        mean = sum(per_query[q] for q in ids) / len(ids) if ids else 0.0
        out[name] = {"queries": len(ids), "ndcg@10": round(mean, 4)}
    return out


# ---- metrics (trec_eval definitions) ---------------------------------------------------------


def ndcg_at(ranking: Sequence[str], qrels: Mapping[str, int], k: int = 10) -> float:
    """nDCG@k as trec_eval's ndcg_cut.k: gain = judged score, discount log2(rank + 1),
    ideal ordering from all judged-relevant documents."""
    dcg = sum(
        qrels.get(doc, 0) / math.log2(rank + 1)
        for rank, doc in enumerate(ranking[:k], start=1)
        if qrels.get(doc, 0) > 0
    )
    ideal = sorted((g for g in qrels.values() if g > 0), reverse=True)[:k]
    idcg = sum(g / math.log2(rank + 1) for rank, g in enumerate(ideal, start=1))
    return dcg / idcg if idcg > 0 else 0.0


def recall_at(ranking: Sequence[str], qrels: Mapping[str, int], k: int) -> float:
    """Share of the judged-relevant documents found in the first k."""
    relevant = {d for d, g in qrels.items() if g > 0}
    if not relevant:
        return 0.0
    return len(relevant.intersection(ranking[:k])) / len(relevant)


def average_precision(ranking: Sequence[str], qrels: Mapping[str, int], depth: int = HITS) -> float:
    """AP over the first `depth` hits; relevant documents not retrieved contribute 0."""
    relevant = {d for d, g in qrels.items() if g > 0}
    if not relevant:
        return 0.0
    found, total = 0, 0.0
    for rank, doc in enumerate(ranking[:depth], start=1):
        if doc in relevant:
            found += 1
            total += found / rank
    return total / len(relevant)


# ---- the collection --------------------------------------------------------------------------


@dataclass(frozen=True)
class Collection:
    path: Path
    corpus: dict[str, tuple[str, str]]  # _id -> (title, text)
    queries: dict[str, str]  # query id -> text, in file order
    qrels: dict[str, dict[str, int]]  # query id -> {corpus id: score}

    def judged_queries(self) -> list[str]:
        """Query ids that have relevance judgements, in the order of queries.jsonl."""
        return [q for q in self.queries if self.qrels.get(q)]


def load_collection(path: Path) -> Collection:
    def jsonl(name: str) -> list[dict]:
        with (path / name).open(encoding="utf-8") as fh:
            return [json.loads(line) for line in fh if line.strip()]

    corpus = {
        str(d["_id"]): (d.get("title") or "", d.get("text") or "") for d in jsonl("corpus.jsonl")
    }
    queries = {str(q["_id"]): q["text"] for q in jsonl("queries.jsonl")}
    qrels: dict[str, dict[str, int]] = {}
    with (path / "qrels.tsv").open(encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, start=1):
            parts = line.split()
            if not parts or (lineno == 1 and parts[0] == "query-id"):
                continue
            if len(parts) != 3:
                raise ValueError(f"{path / 'qrels.tsv'}:{lineno}: expected 3 columns, got {line!r}")
            qid, doc, score = parts
            qrels.setdefault(qid, {})[doc] = int(score)
    return Collection(path, corpus, queries, qrels)


# ---- the index -------------------------------------------------------------------------------


def to_document(doc_id: str, title: str, text: str) -> Document:
    """A corpus entry as the indexer would hand it to the writer: one passage, the abstract,
    in the language the indexer detects for a file with no declared language."""
    passage = Passage(doc_id=doc_id, anchor="top", text=text)
    language = detect_language(f"{title}\n\n{text}"[:LANGUAGE_SAMPLE_CHARS])
    return Document(
        doc_id=doc_id,
        path=doc_id,
        format="jsonl",
        meta=DocumentMetadata(title=title, type="article", language=language),
        content_hash="",
        passages=(passage,),
    )


def index_key(collection: Collection) -> str:
    """What the cached index depends on: the corpus, the schema version, the indexing code."""
    h = hashlib.sha256()
    h.update((collection.path / "corpus.jsonl").read_bytes())
    h.update(f"schema={schema.SCHEMA_VERSION};documents={DOCUMENT_MODEL}".encode())
    for name in INDEXING_SOURCES:
        h.update(name.encode())
        h.update((ROOT / name).read_bytes())
    return h.hexdigest()[:16]


def build_index(collection: Collection, root: Path) -> None:
    """Write the whole corpus into a new generation under `root` and make it current."""
    store = IndexStore(root)

    def fill(gen: Generation) -> None:
        ix = gen.open_index()
        writer = ix.writer(limitmb=256)
        try:
            for doc_id, (title, text) in collection.corpus.items():
                add_document(writer, to_document(doc_id, title, text))
            writer.commit()
        except BaseException:
            writer.cancel()
            raise
        finally:
            ix.close()

    store.switch_to(store.build_generation(fill))


def cached_index(
    collection: Collection, root: Path, rebuild: bool = False
) -> tuple[Path, float | None]:
    """The index root for `collection`, built unless a matching one is there.

    Returns the root and the build time in seconds (None when the cache was used).
    """
    key = index_key(collection)
    key_file = root / KEY_FILE
    if (
        not rebuild
        and key_file.exists()
        and key_file.read_text().strip() == key
        and IndexStore(root).current_or_none() is not None
    ):
        return root, None
    if root.exists() and any(root.iterdir()):
        if not key_file.exists():  # never delete a directory this benchmark did not build
            raise SystemExit(
                f"{root} is not empty and was not built by this benchmark; "
                "give an empty or new directory to --index-dir"
            )
        shutil.rmtree(root)
    started = time.perf_counter()
    build_index(collection, root)
    key_file.write_text(key + "\n")
    return root, time.perf_counter() - started


# ---- running the queries ---------------------------------------------------------------------


@dataclass(frozen=True)
class Evaluation:
    queries: int
    ndcg10: float
    recall100: float
    recall1000: float
    map: float
    seconds: float
    per_query: dict[str, float]  # query id -> nDCG@10

    @property
    def queries_per_second(self) -> float:
        return self.queries / self.seconds if self.seconds else 0.0


def evaluate(searcher: Searcher, collection: Collection, query_ids: Sequence[str]) -> Evaluation:
    sums = {"ndcg": 0.0, "r100": 0.0, "r1000": 0.0, "ap": 0.0}
    per_query: dict[str, float] = {}
    searcher.rank("warm up", limit=1)  # open the snapshot outside the timing
    started = time.perf_counter()
    for qid in query_ids:
        ranking = [doc for doc, _ in searcher.rank(collection.queries[qid], limit=HITS)]
        judged = collection.qrels[qid]
        per_query[qid] = ndcg_at(ranking, judged, 10)
        sums["ndcg"] += per_query[qid]
        sums["r100"] += recall_at(ranking, judged, 100)
        sums["r1000"] += recall_at(ranking, judged, 1000)
        sums["ap"] += average_precision(ranking, judged, HITS)
    seconds = time.perf_counter() - started
    n = max(1, len(query_ids))
    return Evaluation(
        queries=len(query_ids),
        ndcg10=sums["ndcg"] / n,
        recall100=sums["r100"] / n,
        recall1000=sums["r1000"] / n,
        map=sums["ap"] / n,
        seconds=seconds,
        per_query=per_query,
    )


def run(
    collection_path: Path,
    quick: bool = False,
    index_dir: Path | None = None,
    rebuild: bool = False,
) -> dict:
    """Build (or reuse) the index, run the judged queries, return the figures as plain data."""
    collection = load_collection(collection_path)
    query_ids = collection.judged_queries()
    if quick:
        query_ids = query_ids[:QUICK_QUERIES]
    if index_dir is None:
        name = collection_path.resolve().name
        root = DEFAULT_CACHE / f"{name}-{index_key(collection)}"
        for stale in DEFAULT_CACHE.glob(f"{name}-*"):  # built by older indexing code
            if stale != root and (stale / KEY_FILE).exists():
                shutil.rmtree(stale, ignore_errors=True)
    else:
        root = index_dir
    root, build_seconds = cached_index(collection, root, rebuild=rebuild)
    with tempfile.TemporaryDirectory(prefix="kb-bench-corpus-") as empty_corpus:
        library = Library(Settings(corpus=Path(empty_corpus), index=root))
        result = evaluate(Searcher(library, Principal.shell()), collection, query_ids)
        snap = library.snapshot()
        snap.close()
        snap.index.close()
    peers, source = peer_baselines(collection_path)
    return {
        "collection": str(collection_path),
        "documents": len(collection.corpus),
        "queries": result.queries,
        "quick": quick,
        "hits": HITS,
        "ndcg@10": round(result.ndcg10, 4),
        "recall@100": round(result.recall100, 4),
        "recall@1000": round(result.recall1000, 4),
        "map": round(result.map, 4),
        "published_bm25": peers,
        "published_source": source,
        "halves": halves(query_ids, collection, result.per_query),
        "index_build_seconds": None if build_seconds is None else round(build_seconds, 1),
        "index_cached": build_seconds is None,
        "index": str(root),
        "query_seconds": round(result.seconds, 2),
        "queries_per_second": round(result.queries_per_second, 1),
        "per_query_ndcg@10": {q: round(v, 4) for q, v in result.per_query.items()},
    }


def render_table(figures: dict) -> str:
    peers = figures["published_bm25"]
    rows = [
        ("metric", "kb", *peers),
        *(
            (
                name,
                f"{figures[name]:.4f}",
                *(f"{p[name]:.4f}" if name in p else "-" for p in peers.values()),
            )
            for name in METRICS
        ),
        (
            "map",
            f"{figures['map']:.4f}",
            *(f"{p['map']:.4f}" if "map" in p else "-" for p in peers.values()),
        ),
    ]
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = [
        "  ".join(
            c.ljust(w) if i == 0 else c.rjust(w)
            for i, (c, w) in enumerate(zip(r, widths, strict=True))
        )
        for r in rows
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    build = "cached" if figures["index_cached"] else f"{figures['index_build_seconds']:.1f} s"
    lines.append("")
    lines.append(
        f"{figures['queries']} queries over {figures['documents']:,} documents"
        f"{' (--quick: a sample, not comparable with the published figures)' if figures['quick'] else ''}"
        f"; {figures['hits']} hits each"
    )
    lines.append(
        f"index build: {build}; queries: {figures['query_seconds']:.1f} s "
        f"({figures['queries_per_second']:.1f} queries/s)"
    )
    dev, test = figures["halves"]["development"], figures["halves"]["test"]
    lines.append(
        f"nDCG@10 by half: development {dev['ndcg@10']:.4f} ({dev['queries']} queries at even "
        f"positions), test {test['ndcg@10']:.4f} ({test['queries']} at odd positions)"
    )
    lines.append(f"published: {figures['published_source']}")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--collection", required=True, type=Path, help="BEIR-format directory")
    parser.add_argument(
        "--quick", action="store_true", help=f"only the first {QUICK_QUERIES} judged queries"
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument(
        "--index-dir",
        type=Path,
        help="index root to build or reuse (default: benchmarks/.cache/<collection>-<key>)",
    )
    parser.add_argument("--rebuild", action="store_true", help="rebuild the index even if cached")
    args = parser.parse_args(argv)
    for name in ("corpus.jsonl", "queries.jsonl", "qrels.tsv"):
        if not (args.collection / name).is_file():
            parser.error(f"{args.collection} has no {name}; give a BEIR-format directory")
    figures = run(args.collection, quick=args.quick, index_dir=args.index_dir, rebuild=args.rebuild)
    if args.json:
        print(json.dumps(figures, indent=1))
    else:
        print(render_table(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main())

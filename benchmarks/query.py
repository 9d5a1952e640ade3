"""Query latency: kb's full search call against SQLite FTS5 on the same passages and queries.

    .venv/bin/python benchmarks/query.py            # 1k/10k/100k synthetic, bundled, real corpus
    .venv/bin/python benchmarks/query.py --quick    # 1k/10k synthetic and the bundled corpus
    .venv/bin/python benchmarks/query.py --json     # one JSON object on stdout

For each corpus: 210 queries made from the corpus's own vocabulary (deterministic): single
words (common, middling, rare), two words, phrases taken from the text, prefixes (three to
five letters of the commonest words: the worst case), words with a facet filter (plus a few
filter-only browses), and misspelled words. kb answers each with `Searcher.search` exactly as
the web UI calls it (top 10 documents with three highlighted passages each, facets, totals,
did-you-mean). SQLite FTS5 (standard library, `unicode61 remove_diacritics 2`) answers the same
query over the same passages (read from kb's index) with bm25 ranking and `snippet()`, top 10.

Each corpus is also searched as a signed-in member (`member_*`): the same queries over the
passages that member may read (other organisations' private documents masked out inside the
scorer), next to the shell's, which reads everything; the mask may add at most 10 % to p50
and p95 at 100,000 passages.

"Warm" means a warm process: the index is open and 40 other queries have run, but each timed
query runs for the first time, so no per-query cache helps it. A second pass over the same
queries (kb's per-snapshot caches now holding their match sets) is reported as "repeat".

The synthetic indexes are built once under benchmarks/.cache/ (see benchmarks/synthetic.py);
the bundled and real corpora are indexed there with `kb index` (no-change runs after the first).
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import random
import sqlite3
import statistics
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # run as a script from anywhere, without installing

from benchmarks import synthetic  # noqa: E402
from kb.settings import Settings  # noqa: E402

CACHE = synthetic.CACHE
REALCORPUS = ROOT.parent / "shared" / "realcorpus"
SIZES = (1_000, 10_000, 100_000)
QUICK_SIZES = (1_000, 10_000)
SEED = 7
WARMUP_QUERIES = 40
PEER_COLUMNS = ("title", "heading", "body")
PEER_WEIGHTS = (0.8, 0.5, 1.0)  # bm25 weights per column, like kb's field weights
TARGET_P50_MS, TARGET_P95_MS, TARGET_MAX_MS = 15.0, 60.0, 250.0
TARGET_SQLITE_RATIO = 5.0
TARGET_MEMBER_RATIO = 1.10  # a signed-in member's search costs at most 10 % more than the shell's


@dataclass(frozen=True)
class Query:
    """One benchmark query, as kb's web UI receives it and as SQLite FTS5 is asked it."""

    kind: str
    q: str  # what the user typed
    filters: tuple[tuple[str, tuple[str, ...]], ...] = ()
    match: str | None = None  # the FTS5 MATCH expression (None: filters only)

    @property
    def label(self) -> str:
        extra = " ".join(f"{k}={','.join(v)}" for k, v in self.filters)
        return f"{self.q} [{extra}]" if extra else self.q


def _fts_word(word: str) -> str:
    return '"' + word.replace('"', "") + '"'


# ---- queries from a corpus's own vocabulary ---------------------------------------------------


@dataclass
class Vocabulary:
    """The index's words (folded, exact field) by document frequency, and some of its text."""

    common: list[str]
    middle: list[str]
    rare: list[str]
    texts: list[str]
    types: list[str]
    langs: list[str]
    years: list[str]
    orgs: list[str] = field(default_factory=list)


def read_vocabulary(settings: Settings, rng: random.Random) -> Vocabulary:
    from kb import schema as f
    from kb.analysis import STEMMED_LANGUAGES, stopwords
    from kb.library import Library

    snap = Library(settings).snapshot()
    reader = snap.searcher().reader()
    stop = set().union(*(stopwords(lang) for lang in STEMMED_LANGUAGES))
    terms = []
    for raw, info in reader.iter_field(f.EXACT):
        word = raw.decode("utf-8") if isinstance(raw, bytes) else raw
        if len(word) >= 4 and word.isalpha() and word not in stop:
            terms.append((info.doc_frequency(), word))
    terms.sort(reverse=True)
    words = [w for _, w in terms]
    n = len(words)
    passages = sorted(snap.searcher().document_numbers(**{f.KIND: f.KIND_PASSAGE}))
    texts = [
        snap.searcher().stored_fields(d).get(f.BODY) or ""
        for d in rng.sample(passages, min(400, len(passages)))
    ]

    def facet(name: str) -> list[str]:
        return sorted(
            {str(v) for v in (getattr(i.meta, name) for i in snap.catalogue.values()) if v}
        )

    orgs = sorted({o for i in snap.catalogue.values() for o in i.meta.organisations})
    return Vocabulary(
        common=words[: max(30, n // 200)],
        middle=words[n // 50 : n // 50 + max(200, n // 20)],
        rare=[w for c, w in terms if c <= 3][:2000] or words[-200:],
        texts=[t for t in texts if len(t.split()) >= 6],
        types=facet("type"),
        langs=facet("language"),
        years=facet("year"),
        orgs=orgs,
    )


def _misspell(rng: random.Random, word: str) -> str:
    i = rng.randrange(1, len(word) - 1)
    how = rng.choice(("drop", "swap", "double", "replace"))
    if how == "drop":
        return word[:i] + word[i + 1 :]
    if how == "swap":
        return word[: i - 1] + word[i] + word[i - 1] + word[i + 1 :]
    if how == "double":
        return word[:i] + word[i] + word[i:]
    return word[:i] + rng.choice("aeiourstln") + word[i + 1 :]


def _phrase_from(rng: random.Random, text: str) -> list[str] | None:
    from kb.analysis import words as tokens

    parts = [w for w in tokens(text) if w.isalpha()]
    if len(parts) < 4:
        return None
    length = rng.choice((2, 2, 3))
    start = rng.randrange(0, len(parts) - length)
    return [w.lower() for w in parts[start : start + length]]


def make_queries(vocab: Vocabulary, seed: int, count_scale: int = 1) -> list[Query]:
    """210 mixed queries (times `count_scale`), the same for the same vocabulary and seed."""
    rng = random.Random(seed)
    out: list[Query] = []

    def words(kind: str, q: list[str]) -> None:
        out.append(Query(kind, " ".join(q), match=" OR ".join(_fts_word(w) for w in q)))

    s = count_scale
    for pool, n in ((vocab.common, 20), (vocab.middle, 20), (vocab.rare, 10)):
        for w in rng.sample(pool, min(n * s, len(pool))):
            words("word", [w])
    for _ in range(40 * s):
        a, b = rng.choice((vocab.common, vocab.middle)), rng.choice((vocab.middle, vocab.rare))
        words("two words", [rng.choice(a), rng.choice(b)])
    made = 0
    while made < 30 * s and vocab.texts:
        phrase = _phrase_from(rng, rng.choice(vocab.texts))
        if phrase:
            out.append(Query("phrase", '"' + " ".join(phrase) + '"',
                             match='"' + " ".join(w.replace('"', "") for w in phrase) + '"'))  # fmt: skip
            made += 1
    prefixes: dict[str, None] = {}
    for w in vocab.common + vocab.middle:
        if len(prefixes) >= 30 * s:
            break
        prefixes.setdefault(w[: rng.choice((3, 3, 4, 5))], None)
    for p in prefixes:
        out.append(Query("prefix", p + "*", match=_fts_word(p) + "*"))
    choices = [
        ("type", vocab.types),
        ("lang", vocab.langs),
        ("year", vocab.years),
        ("org", vocab.orgs),
    ]
    choices = [(name, values) for name, values in choices if values]
    for i in range(30 * s):
        name, values = choices[i % len(choices)]
        value = rng.choice(values)
        if i % 6 == 5:  # a browse: the filter alone, newest first
            out.append(Query("filter only", "", ((name, (value,)),), None))
            continue
        w = rng.choice(vocab.common if i % 2 else vocab.middle)
        out.append(Query("filtered", w, ((name, (value,)),), _fts_word(w)))
    for w in rng.sample(vocab.middle, min(30 * s, len(vocab.middle))):
        wrong = _misspell(rng, w)
        out.append(Query("misspelled", wrong, match=_fts_word(wrong)))
    return out


# ---- the two engines ---------------------------------------------------------------------------


class KbEngine:
    name = "kb"

    def __init__(self, settings: Settings, principal=None) -> None:
        from kb.access import Principal
        from kb.search import open_searcher

        self.searcher = open_searcher(settings, principal or Principal.shell())

    def visible_share(self) -> float:
        """The share of the index's passages this engine's reader may see."""
        view = self.searcher.view()
        return round(view.passage_count / max(1, view.snap.passage_count), 3)

    def run(self, query: Query) -> int:
        from kb.search import SearchRequest

        result = self.searcher.search(SearchRequest(q=query.q, filters=dict(query.filters)))
        return result.total


class SqliteEngine:
    """FTS5 over the passages kb indexed: bm25 ranking and snippet(), the top 10."""

    name = "sqlite"

    def __init__(self, settings: Settings, db: Path) -> None:
        if not db.is_file():
            _fill_sqlite(settings, db)
        self.conn = sqlite3.connect(str(db), check_same_thread=False)

    def run(self, query: Query) -> int:
        where, args = [], []
        for name, values in query.filters:
            where.append(f"{name} IN ({','.join('?' * len(values))})")
            args.extend(values)
        weights = ", ".join(str(w) for w in PEER_WEIGHTS)
        if query.match is None:
            sql = (f"SELECT doc_id, substr(body, 1, 200) FROM p WHERE {' AND '.join(where)} "
                   "ORDER BY year DESC LIMIT 10")  # fmt: skip
        else:
            cond = " AND ".join(["p MATCH ?", *where])
            sql = (f"SELECT doc_id, snippet(p, 2, '<mark>', '</mark>', '…', 40) FROM p "
                   f"WHERE {cond} ORDER BY bm25(p, {weights}) LIMIT 10")  # fmt: skip
            args = [query.match, *args]
        return len(self.conn.execute(sql, args).fetchall())


def member_principal(settings: Settings):
    """A member of the organisation with the fewest private documents, so their view leaves
    out the most (every organisation's but their own)."""
    from collections import Counter

    from kb.access import ORGANISATION_PREFIX, Principal
    from kb.library import Library

    snap = Library(settings).snapshot()
    private = Counter(
        info.meta.visibility.removeprefix(ORGANISATION_PREFIX)
        for info in snap.catalogue.values()
        if info.meta.visibility.startswith(ORGANISATION_PREFIX)
    )
    orgs = [o.id for o in snap.vocabulary.organisations] or ["none"]
    org = min(orgs, key=lambda o: (private[o], o))
    return Principal.member("benchmark@example.org", org)


def _fill_sqlite(settings: Settings, db: Path) -> None:
    from kb import schema as f
    from kb.library import Library

    snap = Library(settings).snapshot()
    searcher = snap.searcher()
    tmp = db.with_suffix(".tmp")
    tmp.unlink(missing_ok=True)
    conn = sqlite3.connect(str(tmp))
    conn.execute(
        "CREATE VIRTUAL TABLE p USING fts5(title, heading, body, doc_id UNINDEXED, "
        "type UNINDEXED, lang UNINDEXED, year UNINDEXED, org UNINDEXED, "
        "tokenize = 'unicode61 remove_diacritics 2')"
    )
    rows = []
    for docnum in searcher.document_numbers(**{f.KIND: f.KIND_PASSAGE}):
        s = searcher.stored_fields(docnum)
        info = snap.catalogue.get(s[f.DOC_ID])
        rows.append((info.title if info else "", s.get(f.HEADING) or "", s.get(f.BODY) or "",
                     s[f.DOC_ID], s.get(f.TYPE), s.get(f.LANG), s.get(f.YEAR), s.get(f.ORG)))  # fmt: skip
    conn.executemany("INSERT INTO p VALUES (?, ?, ?, ?, ?, ?, ?, ?)", rows)
    conn.execute("INSERT INTO p(p) VALUES ('optimize')")
    conn.commit()
    conn.close()
    tmp.rename(db)


# ---- timing ------------------------------------------------------------------------------------


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def time_queries(engine, queries: list[Query], cpu: list[float] | None = None) -> list[float]:
    """Milliseconds (wall) of each query, run once each, in order; CPU milliseconds appended
    to `cpu` (they hold still when other processes share the machine)."""
    out = []
    for query in queries:
        started, cpu_started = time.perf_counter(), time.process_time()
        engine.run(query)
        out.append((time.perf_counter() - started) * 1000)
        if cpu is not None:
            cpu.append((time.process_time() - cpu_started) * 1000)
    return out


def summarise(ms: list[float]) -> dict[str, float]:
    return {
        "p50_ms": round(statistics.median(ms), 2),
        "p95_ms": round(_pct(ms, 0.95), 2),
        "p99_ms": round(_pct(ms, 0.99), 2),
        "max_ms": round(max(ms), 2),
        "mean_ms": round(statistics.fmean(ms), 2),
    }


def measure(label: str, settings: Settings, db: Path, passages: int, log) -> dict:
    rng = random.Random(SEED)
    vocab = read_vocabulary(settings, rng)
    queries = make_queries(vocab, SEED)
    warmup = make_queries(vocab, SEED + 1)[::5][:WARMUP_QUERIES]
    kb = KbEngine(settings)
    peer = SqliteEngine(settings, db)
    gc.collect()
    time_queries(kb, warmup)
    kb_cpu: list[float] = []
    sq_cpu: list[float] = []
    kb_ms = time_queries(kb, queries, kb_cpu)
    kb_repeat = time_queries(kb, queries)
    member = KbEngine(settings, member_principal(settings))
    time_queries(member, warmup)
    member_ms = time_queries(member, queries)
    time_queries(peer, warmup)
    sq_ms = time_queries(peer, queries, sq_cpu)
    figures = {"passages": passages, "queries": len(queries), **summarise(kb_ms)}
    sq = summarise(sq_ms)
    figures.update({f"sqlite_{k}": v for k, v in sq.items()})
    figures["cpu_p50_ms"] = round(statistics.median(kb_cpu), 2)
    figures["cpu_p95_ms"] = round(_pct(kb_cpu, 0.95), 2)
    figures["sqlite_cpu_p95_ms"] = round(_pct(sq_cpu, 0.95), 2)
    figures["load_average"] = round(os.getloadavg()[0], 2)
    figures["repeat_p50_ms"] = summarise(kb_repeat)["p50_ms"]
    figures["repeat_p95_ms"] = summarise(kb_repeat)["p95_ms"]
    figures["ratio_p50"] = round(figures["p50_ms"] / max(sq["p50_ms"], 1e-3), 1)
    figures["ratio_p95"] = round(figures["p95_ms"] / max(sq["p95_ms"], 1e-3), 1)
    # A signed-in member: the same queries over the passages they may read (a mask that
    # leaves out other organisations' documents).
    mem = summarise(member_ms)
    figures.update({f"member_{k}": v for k, v in mem.items()})
    figures["member_visible_share"] = member.visible_share()
    figures["member_over_shell_p50"] = round(mem["p50_ms"] / max(figures["p50_ms"], 1e-3), 3)
    figures["member_over_shell_p95"] = round(mem["p95_ms"] / max(figures["p95_ms"], 1e-3), 3)
    kinds: dict[str, dict] = {}
    for kind in dict.fromkeys(q.kind for q in queries):
        idx = [i for i, q in enumerate(queries) if q.kind == kind]
        k_ms, s_ms = [kb_ms[i] for i in idx], [sq_ms[i] for i in idx]
        kinds[kind] = {"n": len(idx), "p50_ms": round(statistics.median(k_ms), 2),
                       "p95_ms": round(_pct(k_ms, 0.95), 2), "max_ms": round(max(k_ms), 2),
                       "sqlite_p50_ms": round(statistics.median(s_ms), 2),
                       "sqlite_p95_ms": round(_pct(s_ms, 0.95), 2)}  # fmt: skip
    figures["by_kind"] = kinds
    slowest = sorted(range(len(queries)), key=lambda i: -kb_ms[i])[:5]
    figures["slowest"] = [{"query": queries[i].label, "kind": queries[i].kind,
                           "ms": round(kb_ms[i], 1)} for i in slowest]  # fmt: skip
    log(_table(label, figures))
    return figures


def _table(label: str, fig: dict) -> str:
    lines = [f"\n{label}: {fig['passages']:,} passages, {fig['queries']} queries (ms, warm)",
             f"  {'kind':<12}{'n':>4}{'kb p50':>9}{'kb p95':>9}{'kb max':>9}"
             f"{'sql p50':>9}{'sql p95':>9}"]  # fmt: skip
    for kind, k in fig["by_kind"].items():
        lines.append(f"  {kind:<12}{k['n']:>4}{k['p50_ms']:>9.2f}{k['p95_ms']:>9.2f}"
                     f"{k['max_ms']:>9.1f}{k['sqlite_p50_ms']:>9.2f}{k['sqlite_p95_ms']:>9.2f}")  # fmt: skip
    lines.append(f"  {'all':<12}{fig['queries']:>4}{fig['p50_ms']:>9.2f}{fig['p95_ms']:>9.2f}"
                 f"{fig['max_ms']:>9.1f}{fig['sqlite_p50_ms']:>9.2f}{fig['sqlite_p95_ms']:>9.2f}")  # fmt: skip
    lines.append(f"  CPU time: kb p50 {fig['cpu_p50_ms']:.2f} / p95 {fig['cpu_p95_ms']:.2f} ms, "
                 f"SQLite p95 {fig['sqlite_cpu_p95_ms']:.2f} ms (load average {fig['load_average']})")  # fmt: skip
    lines.append(f"  kb p99 {fig['p99_ms']:.1f} ms; repeated queries p50 {fig['repeat_p50_ms']:.2f}"
                 f" / p95 {fig['repeat_p95_ms']:.2f} ms")  # fmt: skip
    lines.append(f"  signed-in member ({fig['member_visible_share']:.0%} of passages visible): "
                 f"p50 {fig['member_p50_ms']:.2f} ({fig['member_over_shell_p50']:.2f}x the shell's), "
                 f"p95 {fig['member_p95_ms']:.2f} ms ({fig['member_over_shell_p95']:.2f}x)")  # fmt: skip
    lines.append(f"  kb / SQLite FTS5: p50 {fig['ratio_p50']:.1f}x, p95 {fig['ratio_p95']:.1f}x")
    lines.append("  slowest: " + "; ".join(f"{s['query']} ({s['kind']}) {s['ms']:.0f} ms"
                                           for s in fig["slowest"][:3]))  # fmt: skip
    return "\n".join(lines)


def indexed(corpus: Path, name: str, log) -> Settings:
    """`kb index` of a corpus into the benchmark cache (a no-change run once built)."""
    from indexer.build import run_index

    settings = Settings(corpus=corpus.resolve(), index=CACHE / f"{name}-index")
    started = time.perf_counter()
    report = run_index(settings)
    if not report.up_to_date:
        log(f"indexed {corpus} in {time.perf_counter() - started:.0f} s")
    return settings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--quick", action="store_true", help="1k and 10k passages and the bundled corpus"
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    parser.add_argument("--sizes", type=lambda s: tuple(int(x) for x in s.split(",")),
                        help="synthetic sizes, comma-separated (default 1000,10000,100000)")  # fmt: skip
    parser.add_argument("--no-real", action="store_true", help="skip the real corpus")
    args = parser.parse_args(argv)

    def log(text: str) -> None:
        print(text, file=sys.stderr if args.json else sys.stdout, flush=True)

    sizes = args.sizes or (QUICK_SIZES if args.quick else SIZES)
    started = time.perf_counter()
    out: dict = {"quick": args.quick, "sizes": {}, "corpora": {}}
    for n in sizes:
        settings = synthetic.build(n, log=log)
        out["sizes"][str(n)] = measure(
            "synthetic", settings, settings.index.parent / "fts5.db", n, log
        )
    corpora = [("bundled", ROOT / "corpus")]
    if not (args.quick or args.no_real) and REALCORPUS.is_dir():
        corpora.append(("real", REALCORPUS))
    for name, corpus in corpora:
        settings = indexed(corpus, name, log)
        from kb.library import Library

        snap = Library(settings).snapshot()
        db = CACHE / f"{name}-{snap.generation.name}-{snap.toc_generation}.fts5.db"
        out["corpora"][name] = measure(f"{name} corpus", settings, db, snap.passage_count, log)
    out["targets"] = targets(out)
    out["wall_s"] = round(time.perf_counter() - started, 1)
    log("\n" + "\n".join(f"target {k}: {v}" for k, v in out["targets"].items()))
    if args.json:
        print(json.dumps(out, indent=2))
    return 0


def targets(out: dict) -> dict[str, str]:
    res = {}
    big = out["sizes"].get("100000")
    if big:
        res["100k p50 <= 15 ms"] = (
            f"{'met' if big['p50_ms'] <= TARGET_P50_MS else 'NOT met'} ({big['p50_ms']} ms)"
        )
        res["100k p95 <= 60 ms"] = (
            f"{'met' if big['p95_ms'] <= TARGET_P95_MS else 'NOT met'} ({big['p95_ms']} ms)"
        )
        res["100k max <= 250 ms"] = (
            f"{'met' if big['max_ms'] <= TARGET_MAX_MS else 'NOT met'} ({big['max_ms']} ms)"
        )
        for q in ("p50", "p95"):
            ratio = big[f"member_over_shell_{q}"]
            res[f"100k member {q} within 10 % of the shell's"] = (
                f"{'met' if ratio <= TARGET_MEMBER_RATIO else 'NOT met'} ({ratio}x)"
            )
    mid = out["sizes"].get("10000")
    if mid:
        ok = mid["ratio_p95"] <= TARGET_SQLITE_RATIO
        res["10k p95 within 5x SQLite"] = f"{'met' if ok else 'NOT met'} ({mid['ratio_p95']}x)"
    return res


if __name__ == "__main__":
    sys.exit(main())

"""A deterministic synthetic corpus of passages for the query benchmark, and its cached index.

The text follows a Zipf distribution per language (rank r drawn with weight 1 / r**1.07, as in
natural text): each language's stop words take the top ranks, then the glossary's and topics'
domain words (so cross-language expansion, facets and topics behave as on the real corpus),
then a long tail of generated words with that language's spelling (accents included). Five
languages: English 55 %, Swedish 15 %, French 12 %, German 10 %, Finnish 8 %.

Documents are written into a generation made by `kb.store` as `kb index --rebuild` writes
them (`indexer.segments.write_segments`), skipping file extraction: this corpus measures search.
The index is built once per (generator version, size) under benchmarks/.cache/ and reused.

    .venv/bin/python benchmarks/synthetic.py --passages 100000   # build (or find) the index
"""

from __future__ import annotations

import argparse
import hashlib
import itertools
import random
import shutil
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # run as a script from anywhere, without installing

from kb.models import Document, DocumentMetadata, Passage  # noqa: E402
from kb.settings import Settings  # noqa: E402
from kb.vocabulary import load_vocabulary  # noqa: E402

GENERATOR_VERSION = 3  # 2: documents have visibilities; 3: written as a full build writes them. Bump whenever the output changes: cached indexes are keyed by it
SEED = 20240424
CACHE = ROOT / "benchmarks" / ".cache"
BUNDLED = ROOT / "corpus"
ZIPF_S = 1.07
TAIL_WORDS = 40_000  # generated words per language, after stop words and domain words
LANGUAGES = (("en", 0.55), ("sv", 0.15), ("fr", 0.12), ("de", 0.10), ("fi", 0.08))
TYPES = (("meeting", 0.3), ("guide", 0.25), ("article", 0.25), ("directive", 0.1), ("other", 0.1))
PASSAGES_PER_DOC = 10  # on average; documents have 1 to 30

# Letters each language's generated words are made of: enough to look and fold like it.
_SYLLABLES = {
    "en": "ab ac ad al an ar as at be ble ca ce con de di en er es ex for ge in ing ion is it "
    "la le li lo ly ma me mi mo ne no of on or ou pa pe per pro ra re ri ro se si so st "
    "sta te ter ti to tra tu un ur us ve vi",
    "sv": "al an ar av be de do dr ed ef el en er et fr fö ga gr hå is ka kl kr la le li lö ma "
    "me mi na ni nå od om pa ra re sk sl sp st ta te ti tr tä un up ut va ve vi yt åt är ör",
    "fr": "ai an au ce ch co de di en es et eu fi ge gé in is la le li ma me mé ne ni on ou pa "
    "pe po pr qu ra re ré sa se si so su ta te té ti to tr un ve vé vi",
    "de": "ab an au be bei ch de di ei en er fa ge gr ha he ie in ka ke la le li ma me mi na "
    "ne nu ra re sch se si sp st ta te ti tr un ur ve vo wa we wi zu äu ün",
    "fi": "aa ai an as ee en er ha he hi ia il in ja ka ke ki ko ku la le li lo lu ma mi mo "
    "na ne ni no nu oi pa pi ra ri ru sa se si ta te ti to tu uu va ve vi yk ys ää",
}


class Language:
    """One language's vocabulary, ranked, with cumulative Zipf weights for sampling."""

    def __init__(self, code: str, rng: random.Random, domain: list[str]) -> None:
        from whoosh.lang import stopwords_for_language

        self.code = code
        stop = sorted(stopwords_for_language(code))
        rng.shuffle(stop)
        syllables = _SYLLABLES[code].split()
        tail: dict[str, None] = {}
        while len(tail) < TAIL_WORDS:
            word = "".join(rng.choices(syllables, k=rng.choice((2, 3, 3, 4, 4, 5))))
            tail.setdefault(word, None)
        seen: set[str] = set()
        self.words = [w for w in (*stop[:60], *domain, *tail) if not (w in seen or seen.add(w))]
        self.stop_count = min(60, len(stop))
        self.cum = list(itertools.accumulate(1 / r**ZIPF_S for r in range(1, len(self.words) + 1)))

    def sample(self, rng: random.Random, k: int) -> list[str]:
        return rng.choices(self.words, cum_weights=self.cum, k=k)

    def content_words(self, lo: int, hi: int) -> list[str]:
        """Non-stop words between ranks lo and hi (0-based, among content words)."""
        return self.words[self.stop_count + lo : self.stop_count + hi]


def _domain_words(code: str, vocabulary) -> list[str]:
    """Single words of the glossary and topic keywords in that language, in a fixed order."""
    out: dict[str, None] = {}
    for concept in vocabulary.concepts:
        for term in concept.terms.get(code, ()):
            for w in term.lower().split():
                out.setdefault(w, None)
    for topic in vocabulary.topics:
        for term in topic.keywords.get(code, ()):
            for w in term.lower().split():
                out.setdefault(w, None)
    return list(out)


def _weighted(rng: random.Random, table) -> str:
    values, weights = zip(*table, strict=True)
    return rng.choices(values, weights=weights)[0]


class Generator:
    """Documents of passages; the same documents for the same seed and size."""

    def __init__(self, seed: int = SEED) -> None:
        self.rng = random.Random(seed)
        self.vocabulary = load_vocabulary(BUNDLED)
        self.languages = {
            code: Language(
                code, random.Random(f"{seed}-{code}"), _domain_words(code, self.vocabulary)
            )
            for code, _ in LANGUAGES
        }
        self.org_ids = [o.id for o in self.vocabulary.organisations]
        # Its own stream, so the documents themselves are those of earlier versions.
        self.visibility_rng = random.Random(f"{seed}-visibility")
        self.topic_ids = [t.id for t in self.vocabulary.topics]

    def visibility(self) -> str:
        """Mostly public, a quarter members-only, a tenth private to one organisation: a
        signed-in member's search (benchmarks/query.py) then excludes some documents."""
        roll = self.visibility_rng.random()
        if roll < 0.65:
            return "public"
        if roll < 0.9:
            return "members"
        return f"organisation:{self.visibility_rng.choice(self.org_ids)}"

    def documents(self, passages: int):
        """Yield Documents until `passages` passages have been produced."""
        rng = self.rng
        made = 0
        i = 0
        while made < passages:
            code = _weighted(rng, LANGUAGES)
            lang = self.languages[code]
            count = min(
                passages - made, max(1, min(30, int(rng.expovariate(1 / PASSAGES_PER_DOC)) + 1))
            )
            title = " ".join(lang.sample(rng, rng.randint(3, 7))).capitalize()
            doc_type = _weighted(rng, TYPES)
            year = 2012 + int(rng.triangular(0, 13, 12))
            orgs = tuple(sorted(set(rng.sample(self.org_ids, rng.choice((0, 0, 1, 1, 2, 3))))))
            topics = tuple(sorted(set(rng.sample(self.topic_ids, rng.choice((0, 1, 1, 2))))))
            doc_id = f"synthetic/{doc_type}s/{i:06d}"
            meta = DocumentMetadata(
                title=title, type=doc_type, date=f"{year}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
                language=code, organisations=orgs, topics=topics,
                visibility=self.visibility(),
            )  # fmt: skip
            parts = []
            for n in range(count):
                words = lang.sample(rng, max(12, int(rng.lognormvariate(4.4, 0.45))))
                text = _sentences(rng, words)
                if orgs and rng.random() < 0.2:
                    text += f" {self.vocabulary.organisation_name(rng.choice(orgs))}."
                heading = (title, " ".join(lang.sample(rng, rng.randint(2, 4))).capitalize())
                anchor = f"s{n + 1}"
                parts.append(Passage(
                    doc_id=doc_id, anchor=anchor, text=text, heading_path=heading, ordinal=n,
                    text_hash=hashlib.sha256(text.encode()).hexdigest()[:16],
                ))  # fmt: skip
            content = hashlib.sha256("".join(p.text_hash for p in parts).encode()).hexdigest()
            yield Document(doc_id, f"{doc_id}.md", "markdown", meta, content, tuple(parts))
            made += count
            i += 1


def _sentences(rng: random.Random, words: list[str]) -> str:
    out, start = [], 0
    while start < len(words):
        end = start + rng.randint(6, 18)
        sentence = " ".join(words[start:end])
        out.append(sentence[:1].upper() + sentence[1:] + ".")
        start = end
    return " ".join(out)


# ---- the cached index ---------------------------------------------------------------------------


def cache_dir(passages: int) -> Path:
    return CACHE / f"synthetic-v{GENERATOR_VERSION}-{passages}"


def settings_for(passages: int) -> Settings:
    base = cache_dir(passages)
    return Settings(corpus=base / "corpus", index=base / "index")


def build(passages: int, log=print) -> Settings:
    """The settings of the synthetic index of `passages` passages, building it when missing.

    The corpus folder holds only the bundled vocabularies (glossary, organisations, topics):
    searching needs them, and the passages live in the index alone.
    """
    from indexer.segments import commit_segments, write_segments
    from kb.store import IndexStore

    settings = settings_for(passages)
    done = settings.index.parent / ".complete"
    if done.is_file():
        return settings
    base = settings.index.parent
    if base.exists():
        shutil.rmtree(base)
    settings.corpus.mkdir(parents=True)
    for name in ("glossary.toml", "organisations.toml", "topics.toml"):
        shutil.copy(BUNDLED / name, settings.corpus / name)
    started = time.perf_counter()
    generator = Generator()
    store = IndexStore(settings.index)

    def documents():
        for n, doc in enumerate(generator.documents(passages), start=1):
            yield doc
            if n % 2000 == 0:
                log(f"  {n} documents written ({time.perf_counter() - started:.0f} s)")

    def fill(gen) -> None:
        # As `kb index --rebuild` writes a generation (a new segment every 4 million postings).
        commit_segments(gen, write_segments(str(gen.path), documents()))

    log(f"building the synthetic index of {passages:,} passages in {base} (once)")
    store.switch_to(store.build_generation(fill))
    done.write_text(f"{GENERATOR_VERSION} {passages}\n")
    log(f"  built in {time.perf_counter() - started:.0f} s")
    return settings


def passages_of(passages: int):
    """(doc_id, title, heading, text, type, lang, year) of every passage, as indexed."""
    from kb.schema import HEADING_SEP

    for doc in Generator().documents(passages):
        for p in doc.passages:
            yield (doc.doc_id, doc.meta.title, HEADING_SEP.join(p.heading_path), p.text,
                   doc.meta.type, doc.meta.language, str(doc.meta.year))  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--passages", type=int, default=100_000)
    args = parser.parse_args()
    print(build(args.passages).index)


if __name__ == "__main__":
    main()

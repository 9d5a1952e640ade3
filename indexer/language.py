"""Guess the language of a document from its most frequent small words and a few letters.

A stop-word model is enough here: the corpus holds eight languages, documents are long,
and the hard cases (Swedish, Norwegian, Danish) differ in exactly the small words
(`och`/`og`, `inte`/`ikke`, `av`/`af`) and letters (ä ö / æ ø) that this model counts.
"""

from __future__ import annotations

import re
from collections import Counter

from kb.text import LANGUAGES

# Frequent function words and a few very common domain words per language. A word listed
# for several languages counts for each of them, shared out evenly, so the distinctive
# words decide.
_WORDS: dict[str, str] = {
    "en": """
        the of and to in is that for it as with was on be by this are or from at an which
        have has not but they their them we our you your can will would should could all
        more also been were there these those its into about than other how what when
        where who whom such may one if so do does did use used using between through each
        any some most only over after before both because while within without must
        being very well new many however these here just make made like need needs
        data energy his her he she us i me my yes no out up just then what why
    """,
    "sv": """
        och att inte är för som av det en ett i på med till om den de vi jag han hon har
        kan ska skall kommer var vara blir blev också eller men så när hur vad vilka vilken
        vilket där här från efter mellan genom nu mer mycket några något någon sig oss dig
        mig ut upp hade göra utan sådan mot även samt vid våra vår vårt deras hos sin sitt
        sina redan bara alla andra samma både enligt under över före inom detta denna dessa
        får bör måste än dock därför sedan idag tillsammans ej dem man då eftersom genom
        hållbar hållbarhet hållbara upphandling upphandlingen kommun kommuner regeringen
        myndigheten myndigheter uppdraget bland annat samtidigt gäller ska skulle finns
        kunna behöver arbete arbetet inköp krav kraven
    """,
    "no": """
        og ikke er av jeg det til for som på med den de vi han hun har kan vil skal blir
        ble også eller men så når hvordan hva hvilke hvem hvor der her fra etter mellom
        gjennom nå mer mye noen noe seg oss deg meg ut opp hadde gjøre uten slik mot samt
        ved våre vår vårt deres hos sin sitt sine allerede bare alle andre samme både
        under over før innen dette denne disse få bør må enn derfor siden sammen et en ei
        å være kunne skulle ville også dem man da fordi tilbake blitt hvis mellom bærekraft
        bærekraftig bærekraftige anskaffelse anskaffelser anskaffelsen innkjøp virksomhet
        virksomheter virksomheten kommunen kommuner regjeringen arbeid arbeidet krav
        kravene leverandører leverandørene ikkje eg kva korleis frå berre mykje nokre dei
        ein eit vere òg at deretter fremfor framfor forrige neste slutt kjøpe kjøpt
        bruke brukes gjelder lenger mennesker gjort også
    """,
    "da": """
        og ikke er af jeg det til for som på med den de vi han hun har kan vil skal bliver
        blev også eller men så når hvordan hvad hvilke hvem hvor der her fra efter mellem
        gennem nu mere meget nogle noget sig os dig mig ud op havde gøre uden sådan mod
        samt ved vores deres hos sin sit sine allerede kun alle andre samme både under
        over før inden dette denne disse få bør må end derfor siden sammen et en være
        kunne skulle ville dem man da fordi tilbage blevet hvis igennem endnu altså
        således bæredygtig bæredygtighed bæredygtige indkøb indkøbet virksomhed
        virksomheder virksomheden kommunen kommuner regeringen arbejde arbejdet krav
        kravene leverandører leverandørerne også selv nok ofte at derefter sidst næste
        købe købt bruge bruges gælder længere mennesker gjort stedet
    """,
    "fi": """
        ja on ei se että oli ovat tai kuin myös mutta joka jotka tämä tämän sekä voi ole
        olla hän ne niin kun mukaan jos vain sen sitä siitä tässä nyt jo vielä koska
        kanssa mitä miten ollut olisi pitää tulee voidaan esimerkiksi kaikki yli noin eli
        mikä jossa joiden sekä heidän meidän myös ennen jälkeen aikana lisäksi kautta
        osana sitten siis vaan näin nämä niiden sille siihen hankinta hankinnat
        hankintojen kestävä kestävän kestävyys kunta kunnan yritys yritysten tieto
        tietoa ympäristö voivat täytyy erityisesti osalta
    """,
    "fr": """
        le la les de des du un une et est en que qui dans pour pas sur au aux avec par
        plus ce cette ces il elle ils elles nous vous on sont être ont ou mais se sa son
        ses leur leurs aussi comme tout tous toutes peut faire fait entre sans très bien
        été lors ainsi donc dont où notre nos votre vos même moins afin selon chez
        numérique l d qu n c j s y ne sont était avoir doit peuvent ceux celle cela ça
        après avant depuis encore quand comment pourquoi lorsque car si non oui autres
        autre chaque plusieurs permet mise
    """,
    "de": """
        der die das und ist zu den dem des ein eine einen einem einer nicht mit von für
        auf im sich es auch als an wird werden sind oder aber wie bei nach aus um so dass
        daß kann können sie wir ich er nur noch zum zur über durch wenn vor bis mehr sehr
        schon hat haben sein war wurde wurden diese dieser dieses unter zwischen ohne
        gegen bereits sowie beim muss müssen soll sollen ihre ihren ihr sein seine
        werden dabei damit dann denn doch hier jedoch kein keine man mir nun ob seit
        somit welche welcher wieder weil nachhaltigkeit nachhaltig
    """,
    "nl": """
        de het een en van in is dat op te voor met zijn niet aan er om ook als bij door
        maar of naar uit dan kan wordt worden tot deze dit die wat hoe wij we ze zij hij
        je u onze ons hun nog meer veel geen over wel al moet moeten zou kunnen heeft
        hebben was waren werd onder tussen zonder tegen omdat wanneer waar welke elk alle
        andere zoals binnen duurzaamheid duurzaam duurzame gemeente hierbij daarom echter
        vooral zodat waarbij alleen ook gebruik gebruiken gaat komt maken waardoor
        daarnaast bijvoorbeeld enkele steeds
    """,
}

# Letters that are evidence for a language, and how much one occurrence per word counts.
_LETTER_HINTS: tuple[tuple[str, tuple[str, ...], float], ...] = (
    ("äö", ("sv", "fi"), 0.6),
    ("å", ("sv", "no", "da"), 0.6),
    ("øæ", ("no", "da"), 1.2),
    ("éèêçàùâîôû", ("fr",), 0.6),
    ("ßü", ("de",), 1.0),
)

# Word endings that separate the Scandinavian languages where their small words agree:
# Danish `mulighed`/`bæredygtighed` against Norwegian and Swedish `mulighet`/`hållbarhet`.
_ENDING_HINTS: tuple[tuple[re.Pattern[str], tuple[str, ...], float], ...] = (
    (re.compile(r"\w(?:ig|som|ker|en|fri|bar)hed(?:en|er|erne)?\b"), ("da",), 1.0),
    (re.compile(r"\w(?:ig|som|sam|ker|en|fri|bar)het(?:en|er|ene|erna)?\b"), ("no", "sv"), 1.0),
    # Finnish long vowels and case endings, which Swedish (sharing ä and ö) does not use:
    # `pääkaupunki`, `Suomessa`, `kentällä`, `kirjailija` against `huvudstad`, `i Finland`.
    (
        re.compile(r"\w*(?:aa|ää|uu|yy|ii|öö)\w*|\w+(?:ssa|ssä|llä|stä|ksi|nen|isen|ään)\b"),
        ("fi",),
        0.5,
    ),
)

_TOKEN = re.compile(r"[^\W\d_]+")
_DUTCH_IJ = re.compile(r"\Bij|\bij\w")
# Enough text to decide, small enough to stay fast on an 800-KB page.
_MAX_CHARS = 50_000
_SHORT_TEXT = 20


def _word_index() -> dict[str, dict[str, float]]:
    index: dict[str, set[str]] = {}
    for lang, words in _WORDS.items():
        for word in words.split():
            index.setdefault(word, set()).add(lang)
    return {word: {lang: 1 / len(langs) for lang in langs} for word, langs in index.items()}


_INDEX = _word_index()


def language_scores(text: str) -> tuple[dict[str, float], int]:
    """Score every language for `text`; return the scores and the number of words seen.

    A score is roughly the share of words that are characteristic of the language, plus
    letter evidence; exposed for tests and for diagnosing a wrong guess.
    """
    text = text[:_MAX_CHARS].lower()
    tokens = _TOKEN.findall(text)
    scores = dict.fromkeys(LANGUAGES, 0.0)
    if not tokens:
        return scores, 0
    for token, count in Counter(tokens).items():
        for lang, weight in _INDEX.get(token, {}).items():
            scores[lang] += weight * count
    n = len(tokens)
    letters = Counter(text)
    rate = {ch: letters[ch] / n for ch in "äöåøæ"}
    for chars, langs, weight in _LETTER_HINTS:
        occurrences = sum(letters[c] for c in chars)
        for lang in langs:
            scores[lang] += weight * occurrences / len(langs)
    scores["nl"] += 0.6 * len(_DUTCH_IJ.findall(text))
    for pattern, langs, weight in _ENDING_HINTS:
        occurrences = len(pattern.findall(text))
        for lang in langs:
            scores[lang] += weight * occurrences / len(langs)
    # Normalise by length before the penalties, so they are relative to the text.
    scores = {lang: score / n for lang, score in scores.items()}
    # Letters a language never uses are strong evidence against it: Swedish and Finnish
    # have no ø/æ, Norwegian and Danish no ä/ö, Finnish no å.
    nordic_ao = rate["ä"] + rate["ö"]
    nordic_oe = rate["ø"] + rate["æ"]
    if nordic_ao > 0.02 and nordic_oe < nordic_ao / 4:
        scores["no"] *= 0.5
        scores["da"] *= 0.5
    if nordic_oe > 0.02 and nordic_ao < nordic_oe / 4:
        for lang in ("sv", "fi", "de"):
            scores[lang] *= 0.5
    if rate["å"] > 0.01:
        scores["fi"] *= 0.6
    return scores, n


def detect_language(text: str, *, default: str = "en") -> str:
    """Return the most likely of en, sv, no, da, fi, fr, de, nl for `text`.

    A short text (under about twenty words) gives `default` unless one language clearly
    stands out, since two or three shared words prove nothing.
    """
    scores, n = language_scores(text)
    ranked = sorted(scores.items(), key=lambda item: item[1], reverse=True)
    (best, best_score), (_, second_score) = ranked[0], ranked[1]
    if best_score <= 0:
        return default
    # For a short text, compare evidence in words, not in rates: three distinctive hits
    # and twice the runner-up is what a short Swedish or French sentence typically shows.
    short_and_unclear = n < _SHORT_TEXT and (best_score * n < 3 or best_score < 2 * second_score)
    if short_and_unclear and scores.get(default, 0.0) == 0 and best_score >= 2 * second_score:
        # A short text with no sign of the default language and only one language's words
        # (`... oli suomalainen kirjailija.`) is that language, not the default.
        return best
    return default if short_and_unclear else best

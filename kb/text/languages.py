"""Language codes: kb's languages, their names, and every way a file or a user names one."""

from __future__ import annotations

from kb.text.folding import fold

LANGUAGE_NAMES = {
    "en": "English",
    "sv": "Swedish",
    "no": "Norwegian",
    "da": "Danish",
    "fi": "Finnish",
    "fr": "French",
    "de": "German",
    "nl": "Dutch",
}
LANGUAGES = tuple(LANGUAGE_NAMES)

# Names, native names, Swedish names and ISO 639-2/3 codes people and files use for them.
# Norwegian has two written standards and a macro-language code; search treats them as one.
LANGUAGE_ALIASES: dict[str, str] = {
    "english": "en", "engelska": "en", "engelsk": "en", "eng": "en",
    "swedish": "sv", "svenska": "sv", "svensk": "sv", "swe": "sv", "se": "sv",
    "norwegian": "no", "norsk": "no", "norska": "no", "bokmal": "no", "nynorsk": "no",
    "nb": "no", "nn": "no", "nob": "no", "nno": "no", "nor": "no",
    "danish": "da", "dansk": "da", "danska": "da", "dan": "da", "dk": "da",
    "finnish": "fi", "suomi": "fi", "finska": "fi", "fin": "fi",
    "french": "fr", "francais": "fr", "franska": "fr", "fra": "fr", "fre": "fr",
    "german": "de", "deutsch": "de", "tyska": "de", "deu": "de", "ger": "de",
    "dutch": "nl", "nederlands": "nl", "nederlandska": "nl", "nld": "nl", "dut": "nl",
}  # fmt: skip


def normalise_language(value: object) -> str | None:
    """Map `sv-SE`, `fr_FR`, `nb`, `Swedish`, `svenska`, `Bokmål`... to one of kb's
    language codes; None for anything else (`es`, `x-default`, a number)."""
    if not isinstance(value, str):
        return None
    key = fold(value.strip()).replace("_", "-")
    if not key:
        return None
    for candidate in (key, key.split("-")[0]):
        if candidate in LANGUAGE_NAMES:
            return candidate
        if candidate in LANGUAGE_ALIASES:
            return LANGUAGE_ALIASES[candidate]
    return None

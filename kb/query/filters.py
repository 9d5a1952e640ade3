"""Filter values as the user writes them, resolved to the values the index holds."""

from __future__ import annotations

import re
from collections.abc import Iterable

from kb.doctypes import DOC_TYPES, normalise_type
from kb.query.tree import FILTER_FIELDS
from kb.text import LANGUAGE_NAMES, fold, normalise_language
from kb.vocabulary import Vocabulary

YEAR_MIN, YEAR_MAX = 1900, 2100


class FilterResolver:
    """Knows the vocabularies so filter values can be friendly."""

    def __init__(self, vocabulary: Vocabulary) -> None:
        self.vocabulary = vocabulary

    def resolve(self, name: str, value: str, messages: list[str]) -> list[str]:
        """The index values one filter value stands for (`org`: "Skövde" -> "skovde-kommun";
        `year`: "2023..2024" -> both years); none, with a note in `messages`, when it
        matches nothing or the filter is unknown."""
        if name not in FILTER_FIELDS:
            known = ", ".join(FILTER_FIELDS)
            messages.append(f"Unknown filter '{name}' (known: {known}). The filter was ignored.")
            return []
        return getattr(self, f"_value_{name}")(value, messages)

    def _value_type(self, value: str, messages: list[str]) -> list[str]:
        return _one_of(normalise_type(value), value, "type", DOC_TYPES, messages)

    def _value_year(self, value: str, messages: list[str]) -> list[str]:
        m = re.fullmatch(r"(\d{4})?(?:\.\.|-|–)(\d{4})?|(\d{4})", value)
        if m and m.group(3):
            start = end = int(m.group(3))
        elif m and (m.group(1) or m.group(2)):
            start = int(m.group(1) or YEAR_MIN)
            end = int(m.group(2) or YEAR_MAX)
        else:
            messages.append(
                f"year: expects a year like 2024 or a range like 2023..2024, not '{value}'. The filter was ignored."
            )
            return []
        if start > end:
            start, end = end, start
        start, end = max(start, YEAR_MIN), min(end, YEAR_MAX)
        return [str(y) for y in range(start, end + 1)]

    def _value_org(self, value: str, messages: list[str]) -> list[str]:
        org = self.vocabulary.organisation(value.replace("_", " "))
        if org is None:
            candidates = [
                o for o in self.vocabulary.organisations if fold(value) in fold(" ".join(o.names))
            ]
            if len(candidates) == 1:
                org = candidates[0]
        if org is None:
            messages.append(f"No organisation matches '{value}'. The filter was ignored.")
            return []
        return [org.id]

    def _value_topic(self, value: str, messages: list[str]) -> list[str]:
        topic = self.vocabulary.topic(value.replace("_", " "))
        if topic is None:
            names = ", ".join(t.id for t in self.vocabulary.topics)
            messages.append(f"Unknown topic '{value}' (topics: {names}). The filter was ignored.")
            return []
        return [topic.id]

    def _value_lang(self, value: str, messages: list[str]) -> list[str]:
        return _one_of(normalise_language(value), value, "language", LANGUAGE_NAMES, messages)


def _one_of(
    resolved: str | None, value: str, what: str, choices: Iterable[str], messages: list[str]
) -> list[str]:
    """The value a closed list resolved `value` to, or none with the list in a note."""
    if resolved is None:
        messages.append(
            f"Unknown {what} '{value}'; use one of: {', '.join(choices)}. The filter was ignored."
        )
        return []
    return [resolved]

"""Language detection: hand-written paragraphs, short texts, and the real corpus."""

from __future__ import annotations

import csv
import re
from pathlib import Path

import pytest

from indexer.language import detect_language, language_scores
from tests.prerequisites import REALCORPUS, needs

PARAGRAPHS = {
    "en": [
        "The network met in Stockholm to discuss how we can set better requirements for "
        "suppliers. Several members explained that they do not have enough data on how long "
        "products last, and that it is hard to compare offers. We agreed to draw up a shared "
        "template for sustainability requirements that everyone can use in their tenders.",
        "Before you sign a new framework agreement, ask the supplier how it will take back "
        "the laptops at the end of the contract and what share of them is refurbished and "
        "sold again. A longer contract period is often the simplest way to cut emissions.",
    ],
    "sv": [
        "Nätverket träffades i Göteborg för att diskutera hur vi kan ställa bättre krav på "
        "leverantörerna. Flera medlemmar berättade att de inte har tillräckligt med data om "
        "produkternas livslängd, och att det är svårt att jämföra erbjudanden. Vi kom överens "
        "om att ta fram en gemensam mall för hållbarhetskrav som alla kan använda.",
        "Innan du skriver under ett nytt ramavtal bör du fråga leverantören hur datorerna "
        "tas tillbaka när avtalet löper ut och hur stor andel av dem som renoveras och säljs "
        "igen. En längre avtalsperiod är ofta det enklaste sättet att minska utsläppen.",
    ],
    "no": [
        "Nettverket møttes i Oslo for å diskutere hvordan vi kan stille bedre krav til "
        "leverandørene. Flere medlemmer fortalte at de ikke har nok data om hvor lenge "
        "produktene varer, og at det er vanskelig å sammenligne tilbudene. Vi ble enige om å "
        "lage en felles mal for krav til bærekraft som alle kan bruke i sine anskaffelser.",
        "Før du signerer en ny rammeavtale, bør du spørre leverandøren hvordan datamaskinene "
        "blir tatt tilbake når avtalen går ut, og hvor stor andel av dem som blir reparert og "
        "solgt på nytt. En lengre avtaleperiode er ofte den enkleste måten å kutte utslipp på.",
    ],
    "da": [
        "Netværket mødtes i København for at drøfte, hvordan vi kan stille bedre krav til "
        "leverandørerne. Flere medlemmer fortalte, at de ikke har nok data om, hvor længe "
        "produkterne holder, og at det er svært at sammenligne tilbuddene. Vi blev enige om at "
        "lave en fælles skabelon for krav til bæredygtighed, som alle kan bruge i deres indkøb.",
        "Før du underskriver en ny rammeaftale, bør du spørge leverandøren, hvordan "
        "computerne bliver taget tilbage, når aftalen udløber, og hvor stor en andel af dem, "
        "der bliver istandsat og solgt igen. En længere aftaleperiode er ofte den nemmeste "
        "måde at skære ned på udledningen.",
    ],
    "fi": [
        "Verkosto kokoontui Helsingissä keskustelemaan siitä, miten voimme asettaa parempia "
        "vaatimuksia toimittajille. Monet jäsenet kertoivat, että heillä ei ole tarpeeksi "
        "tietoa tuotteiden elinkaaresta, ja että tarjousten vertailu on vaikeaa. Sovimme, että "
        "laadimme yhteisen mallin, jota kaikki voivat käyttää hankinnoissaan.",
        "Ennen kuin allekirjoitat uuden puitesopimuksen, kysy toimittajalta, miten "
        "tietokoneet otetaan takaisin sopimuksen päättyessä ja kuinka suuri osa niistä "
        "kunnostetaan ja myydään uudelleen. Pidempi sopimuskausi on usein yksinkertaisin "
        "tapa vähentää päästöjä, koska laitteita käytetään silloin kauemmin.",
    ],
    "fr": [
        "Le réseau s'est réuni à Paris pour discuter de la manière dont nous pouvons formuler "
        "de meilleures exigences envers les fournisseurs. Plusieurs membres ont expliqué qu'ils "
        "ne disposent pas de données suffisantes sur la durée de vie des produits et qu'il est "
        "difficile de comparer les offres.",
        "Avant de signer un nouvel accord-cadre, demandez au fournisseur comment les "
        "ordinateurs seront repris à la fin du contrat et quelle part d'entre eux sera "
        "reconditionnée puis revendue. Un contrat plus long est souvent le moyen le plus simple "
        "de réduire les émissions.",
    ],
    "de": [
        "Das Netzwerk traf sich in Berlin, um zu besprechen, wie wir bessere Anforderungen an "
        "die Lieferanten stellen können. Mehrere Mitglieder berichteten, dass sie nicht genügend "
        "Daten über die Lebensdauer der Produkte haben und dass es schwierig ist, Angebote zu "
        "vergleichen.",
        "Bevor Sie einen neuen Rahmenvertrag unterschreiben, fragen Sie den Lieferanten, wie "
        "die Rechner am Ende der Laufzeit zurückgenommen werden und welcher Anteil davon "
        "aufbereitet und wieder verkauft wird. Eine längere Laufzeit ist oft der einfachste Weg, "
        "um Emissionen zu senken.",
    ],
    "nl": [
        "Het netwerk kwam bijeen in Amsterdam om te bespreken hoe wij betere eisen aan "
        "leveranciers kunnen stellen. Verschillende leden vertelden dat zij niet genoeg gegevens "
        "hebben over de levensduur van producten en dat het moeilijk is om offertes te "
        "vergelijken.",
        "Voordat u een nieuwe raamovereenkomst tekent, vraag de leverancier hoe de computers "
        "aan het einde van het contract worden teruggenomen en welk deel ervan wordt opgeknapt "
        "en opnieuw verkocht. Een langere looptijd is vaak de eenvoudigste manier om de uitstoot "
        "te verminderen.",
    ],
}


@pytest.mark.parametrize(
    ("expected", "text"),
    [(lang, text) for lang, texts in PARAGRAPHS.items() for text in texts],
    ids=[f"{lang}-{i}" for lang, texts in PARAGRAPHS.items() for i in range(len(texts))],
)
def test_detects_language_of_paragraph(expected: str, text: str) -> None:
    assert detect_language(text) == expected


def test_norwegian_and_danish_are_told_apart_by_their_small_words() -> None:
    norwegian = "Vi har ikke fått noen svar fra leverandøren, og det er mye vi ikke vet om hva som skjer etter bruk av utstyret i virksomheten."
    danish = "Vi har ikke fået nogle svar fra leverandøren, og der er meget, vi ikke ved om, hvad der sker efter brug af udstyret i virksomheden."
    assert detect_language(norwegian) == "no"
    assert detect_language(danish) == "da"


def test_short_text_gives_default_without_strong_evidence() -> None:
    assert detect_language("IKEA", default="sv") == "sv"
    assert detect_language("Forum 2024", default="en") == "en"
    assert detect_language("", default="fi") == "fi"
    assert detect_language("12 34 56 !!", default="de") == "de"


def test_short_text_with_strong_evidence_is_recognised() -> None:
    assert detect_language("Det är inte svårt att göra det som är rätt för miljön.") == "sv"
    assert detect_language("Le réseau est une initiative pour les acheteurs de la région.") == "fr"


def test_scores_cover_all_languages() -> None:
    scores, words = language_scores("och att inte är för som av")
    assert set(scores) == {"en", "sv", "no", "da", "fi", "fr", "de", "nl"}
    assert words == 7
    assert max(scores, key=scores.__getitem__) == "sv"


# ---- the real corpus -------------------------------------------------------------------------

_SCRIPT_OR_STYLE = re.compile(r"<(script|style)\b.*?</\1\s*>", re.S | re.I)
_TAG = re.compile(r"<[^>]+>")


def _crude_text(path: Path) -> str:
    raw = path.read_text(encoding="utf-8", errors="replace")
    if path.suffix in (".html", ".htm"):
        raw = _TAG.sub(" ", _SCRIPT_OR_STYLE.sub(" ", raw))
    return raw


@pytest.mark.realcorpus
@needs("realcorpus")
def test_accuracy_on_real_corpus() -> None:
    total, misses = 0, []
    with open(REALCORPUS / "MANIFEST.tsv", encoding="utf-8", newline="") as manifest:
        for row in csv.DictReader(manifest, delimiter="\t"):
            path = REALCORPUS / row["local_path"]
            if path.suffix == ".pdf" or not path.is_file():
                continue
            text = _crude_text(path)
            if len(text.split()) < 50:
                continue
            total += 1
            guess = detect_language(text)
            if guess != row["language"]:
                misses.append(f"{row['local_path']}: {row['language']} read as {guess}")
    assert total > 400
    accuracy = 1 - len(misses) / total
    assert accuracy >= 0.97, f"accuracy {accuracy:.1%} on {total} files; misses: {misses}"

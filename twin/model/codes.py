"""Code lists: ALKIS building functions (AdV Gebäudefunktion, GFK) with German and English labels."""

from __future__ import annotations

import pandas as pd

#: Gebäudefunktion code -> (German label, English label).
BUILDING_FUNCTIONS: dict[str, tuple[str, str]] = {
    "1000": ("Wohngebäude", "residential building"),
    "1010": ("Wohnhaus", "dwelling house"),
    "1020": ("Wohnheim", "residential home"),
    "1100": ("Gemischt genutztes Gebäude mit Wohnen", "mixed use with housing"),
    "1110": ("Wohngebäude mit Gemeinbedarf", "residential with public use"),
    "1120": ("Wohngebäude mit Handel und Dienstleistungen", "residential with trade and services"),
    "1130": ("Wohngebäude mit Gewerbe und Industrie", "residential with industry"),
    "2000": ("Gebäude für Wirtschaft oder Gewerbe", "commercial building"),
    "2010": ("Gebäude für Handel und Dienstleistungen", "trade and services"),
    "2020": ("Bürogebäude", "office building"),
    "2050": ("Geschäftsgebäude", "shop building"),
    "2100": ("Gebäude für Gewerbe und Industrie", "industrial building"),
    "2463": ("Garage", "garage"),
    "2465": ("Tiefgarage", "underground car park"),
    "2523": ("Umformer", "transformer station"),
    "3000": ("Gebäude für öffentliche Zwecke", "public building"),
    "3010": ("Verwaltungsgebäude", "administration building"),
    "3011": ("Parlament", "parliament"),
    "3012": ("Rathaus", "town hall"),
    "3020": ("Gebäude für Bildung und Forschung", "education and research"),
    "3021": ("Allgemein bildende Schule", "school"),
    "3022": ("Berufsbildende Schule", "vocational school"),
    "3023": ("Hochschulgebäude (Fachhochschule, Universität)", "university building"),
    "3030": ("Gebäude für Kultur", "cultural building"),
    "3034": ("Museum", "museum"),
    "3040": ("Gebäude für religiöse Zwecke", "religious building"),
    "3041": ("Kirche", "church"),
    "3050": ("Gebäude für Gesundheitswesen", "health care building"),
    "3051": ("Krankenhaus", "hospital"),
    "3060": ("Gebäude für soziale Zwecke", "social services building"),
    "3065": ("Kinderkrippe, Kindergarten, Kindertagesstätte", "nursery, kindergarten"),
    "3070": ("Gebäude für Sicherheit und Ordnung", "public safety building"),
    "3071": ("Polizei", "police"),
    "3072": ("Feuerwehr", "fire station"),
    "3200": ("Gebäude für Erholungszwecke", "recreation building"),
    "3211": ("Sport-, Turnhalle", "sports hall"),
    "9998": ("Nach Quellenlage nicht zu spezifizieren", "unspecified"),
}

UNKNOWN_LABEL = "unbekannt"


def function_codes(values: pd.Series) -> pd.Series:
    """Normalise GFK values to the bare code: ``'31001_1000'`` and ``'1000'`` give ``'1000'``.

    >>> function_codes(pd.Series(["31001_3012", "1000", None])).tolist()
    ['3012', '1000', nan]
    """
    text = values.astype("str").str.strip()
    return text.str.replace(r"^31001_", "", regex=True).where(values.notna() & (text != ""))


def function_labels(codes: pd.Series, *, english: bool = False) -> pd.Series:
    """German (or English) labels of bare codes; unknown codes get ``'unbekannt'``.

    >>> function_labels(pd.Series(["3012", "4711"])).tolist()
    ['Rathaus', 'unbekannt']
    """
    table = {code: labels[1 if english else 0] for code, labels in BUILDING_FUNCTIONS.items()}
    return codes.map(table).fillna(UNKNOWN_LABEL if not english else "unknown").astype("str")

"""Which code page a text file or a Shapefile's ``.dbf`` is written in, when the file does not say.

UTF-8 is recognised by decoding. Other text is given to charset-normalizer, limited to the code
pages deliveries come in (Western, Central and Eastern European, Baltic, Cyrillic, DOS). Of its
readings the one is taken in which the most non-ASCII characters are letters (names and
addresses hold letters, not ``¦`` or ``£``), then the one whose words keep to one script
(``Gдrtnerweg`` is German read as Cyrillic), then the one whose letters best fit the alphabet of
one language (``ř`` and ``ě`` are Czech; ``ø`` beside ``ì`` is no language's), then the least
chaotic and most coherent one. Where two readings still tie, the file must name its encoding. Where several code pages decode the text alike (German
umlauts are the same bytes in cp1252, ISO-8859-15 and cp1250), the one earlier in
:data:`CODE_PAGES` is named.

>>> detect("Sibiřské náměstí, Karlovo náměstí, Žižkova třída, Náměstí Míru".encode("cp1250"))
'cp1250'
>>> detect("Hauptstraße, Müllerweg, Königstraße, Schloßplatz".encode("cp1252"))
'cp1252'
>>> detect("Hauptstraße".encode("utf-8"))
'utf-8'
"""

from __future__ import annotations

import codecs
import logging
from typing import Any

__all__ = ["CODE_PAGES", "EncodingAmbiguityError", "detect"]

log = logging.getLogger(__name__)

#: Code pages of deliveries, in the order named where they decode a text alike.
CODE_PAGES = ("cp1252", "iso8859_15", "cp1250", "iso8859_2", "cp1257", "cp1251", "koi8_r", "cp852", "cp850",
              "iso8859_13", "iso8859_5")


class EncodingAmbiguityError(ValueError):
    """The text reads equally well in several code pages that decode it differently: the file must name one."""

    def __init__(self, encodings: list[str], texts: list[str]) -> None:
        self.encodings = [codecs.lookup(name).name for name in encodings]
        self.examples = [_first_difference(texts[1], texts[0]), *(_first_difference(texts[0], t) for t in texts[1:])]
        shown = " or ".join(f"{name} ({example!r})" for name, example in zip(self.encodings, self.examples, strict=True))
        super().__init__(f"the text reads as {shown}")


def detect(sample: bytes) -> str | None:
    """The encoding of `sample`: ``utf-8``, one of :data:`CODE_PAGES`, or None where none decodes it.

    ASCII is UTF-8. A UTF-8 character cut at the end of the sample still counts as UTF-8. Raises
    :class:`EncodingAmbiguityError` where two code pages read the text equally well but differently.
    """
    try:
        sample.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError as exc:
        if exc.start > len(sample) - 4 and exc.reason == "unexpected end of data":
            return "utf-8"
    from charset_normalizer import from_bytes

    results = list(from_bytes(sample, cp_isolation=list(CODE_PAGES)))
    if not results:
        return None
    def score(reading: Any) -> tuple[float, ...]:
        text = str(reading)
        return round(_letters(text), 3), round(_one_script(text), 3), round(_language_fit(text), 3), \
            -round(reading.chaos, 3), round(reading.coherence, 3)

    best = max(results, key=score)
    text = str(best)
    rivals = [r for r in results if score(r) == score(best) and str(r) != text]
    if rivals:
        raise EncodingAmbiguityError([best.encoding, *(r.encoding for r in rivals)], [text, *(str(r) for r in rivals)])
    for name in CODE_PAGES:  # the first code page that reads the text as the best one does
        if sample.decode(name, errors="replace") == text:
            return codecs.lookup(name).name
    return codecs.lookup(best.encoding).name


def _letters(text: str) -> float:
    """Share of the non-ASCII characters of `text` that are letters."""
    wide = [c for c in text if ord(c) > 127]
    return sum(c.isalpha() for c in wide) / len(wide) if wide else 1.0


def _first_difference(one: str, other: str) -> str:
    """The words of `other` around the first character where it differs from `one`."""
    at = next((i for i, (a, b) in enumerate(zip(one, other, strict=False)) if a != b), 0)
    start = max(other.rfind(" ", 0, max(at - 12, 0)) + 1, 0)
    return other[start:at + 16].strip()


def _language_fit(text: str) -> float:
    """The largest share of the non-ASCII letters of `text` that belong to the frequent letters of one language."""
    from charset_normalizer.constant import FREQUENCIES

    letters = {c.lower() for c in text if ord(c) > 127 and c.isalpha()}
    if not letters:
        return 1.0
    return max(len(letters & {c.lower() for c in alphabet}) / len(letters) for alphabet in FREQUENCIES.values())


def _one_script(text: str) -> float:
    """Share of the words with non-ASCII letters whose letters are all Latin or all Cyrillic (or Greek)."""
    words = [w for w in text.split() if any(ord(c) > 127 and c.isalpha() for c in w)]
    if not words:
        return 1.0

    def script(c: str) -> str:
        code = ord(c)
        return "cyrillic" if 0x400 <= code < 0x530 else "greek" if 0x370 <= code < 0x400 else "latin"

    return sum(len({script(c) for c in w if c.isalpha()}) == 1 for w in words) / len(words)

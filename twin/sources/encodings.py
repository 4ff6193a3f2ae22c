"""Which code page a text file or a Shapefile's ``.dbf`` is written in, when the file does not say.

UTF-8 is recognised by decoding. Other text is decoded in each code page deliveries come in
(Western, Central and Eastern European, Baltic, Cyrillic, DOS), and the reading is taken in which
the most non-ASCII characters are letters (names and addresses hold letters, not ``¦`` or ``£``),
whose words keep to one script (``Gдrtnerweg`` is German read as Cyrillic), whose letters best fit
the alphabet of one language (``ř`` and ``ě`` are Czech; ``ø`` beside ``ì`` is no language's) and
its frequent letters (cp1251 against KOI8-R). Where readings still tie, cp1252 is taken if it is
one of them (with a warning naming the others), else charset-normalizer decides where it clearly
prefers one, else the file must name its encoding (:class:`EncodingAmbiguityError`).

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
import re

__all__ = ["CODE_PAGES", "EncodingAmbiguityError", "detect"]

log = logging.getLogger(__name__)

#: The code page taken where it reads a text as well as others do, differently (Western European, most deliveries).
WESTERN = "cp1252"
#: Below this share of letters among the non-ASCII characters, no reading is text.
MIN_LETTERS = 0.8
_C1 = re.compile("[\u0080-\u009f]")
#: Fewer distinct non-ASCII characters than this are too little to overrule cp1252's reading of them.
THIN_EVIDENCE = 6
#: How much more coherent (less chaotic) charset-normalizer must find one of equally good readings to take it.
CLEAR_MARGIN = 0.1
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

    ASCII is UTF-8. A UTF-8 character cut at the end of the sample still counts as UTF-8. Where
    code pages read the text equally well but differently, cp1252 is taken with a warning when it is
    one of them (``Forêt`` rather than ``Foręt``), else :class:`EncodingAmbiguityError` is raised.
    """
    try:
        sample.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError as exc:
        if exc.start > len(sample) - 4 and exc.reason == "unexpected end of data":
            return "utf-8"
    readings: dict[str, str] = {}  # each distinct reading, with the first code page that gives it
    for name in CODE_PAGES:
        try:
            text = sample.decode(name)
        except UnicodeDecodeError:
            continue
        if not _C1.search(text):  # C1 control characters stand in no text: bytes this code page leaves undefined
            readings.setdefault(text, codecs.lookup(name).name)
    if not readings:
        return None

    def score(text: str) -> tuple[float, ...]:
        return round(_letters(text), 3), round(_language_fit(text) * _one_script(text), 3), round(_frequent_fit(text), 3)

    top = max(score(text) for text in readings)
    if top[0] < MIN_LETTERS:  # no code page reads it as names and words: binary, or a code page not listed
        return None
    tied = [text for text in readings if score(text) == top]
    western = next((t for t, name in readings.items() if name == WESTERN), None)
    if len(tied) == 1 and western is not None and tied[0] != western and _thin(sample) and \
            score(western)[:2] == (1.0, score(western)[1]) and score(western)[1] > 0:
        # few distinct characters to judge by ('Äè' or 'Äč'?), and cp1252 reads them as plausible words too
        raise EncodingAmbiguityError([readings[tied[0]], WESTERN], [tied[0], western])
    if len(tied) == 1:
        return readings[tied[0]]
    western = next((t for t in tied if readings[t] == WESTERN), None)
    if western is not None:  # e.g. 'Forêt' in cp1252, 'Foręt' in cp1250
        others = [t for t in tied if t != western]
        log.warning("the text reads as %s as well as in cp1252 (%r); cp1252 taken, the code page of most "
                    "deliveries: name the encoding where it is another",
                    " or ".join(f"{readings[t]} ({_first_difference(western, t)!r})" for t in others),
                    _first_difference(others[0], western))
        return WESTERN
    return _judged(sample, {t: readings[t] for t in tied})


def _judged(sample: bytes, tied: dict[str, str]) -> str:
    """The reading charset-normalizer clearly prefers among equally good ones; else EncodingAmbiguityError."""
    from charset_normalizer import from_bytes

    judged = sorted(((r.coherence - r.chaos, str(r)) for r in from_bytes(sample, cp_isolation=list(tied.values()))
                     if str(r) in tied), reverse=True)
    if len(judged) == 1 or (len(judged) > 1 and judged[0][0] - judged[1][0] >= CLEAR_MARGIN):
        return tied[judged[0][1]]
    raise EncodingAmbiguityError(list(tied.values()), list(tied))


def _letters(text: str) -> float:
    """Share of the non-ASCII characters of `text` that are letters."""
    wide = [c for c in text if ord(c) > 127]
    return sum(c.isalpha() for c in wide) / len(wide) if wide else 1.0


def _first_difference(one: str, other: str) -> str:
    """The words of `other` around the first character where it differs from `one`."""
    at = next((i for i, (a, b) in enumerate(zip(one, other, strict=False)) if a != b), 0)
    start = max(other.rfind(" ", 0, max(at - 12, 0)) + 1, 0)
    return other[start:at + 16].strip()


#: The letters beyond ASCII of the languages whose towns deliver in these code pages.
ALPHABETS = {
    "German": "äöüß", "French": "àâæçéèêëîïôœùûüÿ", "Spanish": "áéíñóúü", "Portuguese": "àáâãçéêíóôõú",
    "Italian": "àèéìíîòóùú", "Dutch": "éëïöü", "Danish/Norwegian": "åæøé", "Swedish/Finnish": "åäöé",
    "Icelandic": "áðéíóúýþæö", "Czech": "áčďéěíňóřšťúůýž", "Slovak": "áäčďéíĺľňóôŕšťúýž", "Polish": "ąćęłńóśźż",
    "Hungarian": "áéíóöőúüű", "Slovene/Croatian": "čćđšž", "Romanian": "ăâîșşțţ", "Lithuanian": "ąčęėįšųūž",
    "Latvian": "āčēģīķļņšūž", "Estonian": "äõöüšž", "Russian": "абвгдеёжзийклмнопрстуфхцчшщъыьэюя",
    "Ukrainian": "абвгґдеєжзиіїйклмнопрстуфхцчшщьюя", "Bulgarian": "абвгдежзийклмнопрстуфхцчшщъьюя",
    "Serbian": "абвгдђежзијклљмнњопрстћуфхцчџш",
}


def _language_fit(text: str) -> float:
    """The largest share of the non-ASCII letters of `text` that one language writes (:data:`ALPHABETS`)."""
    letters = {c.lower() for c in text if ord(c) > 127 and c.isalpha()}
    if not letters:
        return 1.0
    return max(len(letters & set(alphabet)) / len(letters) for alphabet in ALPHABETS.values())


def _frequent_fit(text: str) -> float:
    """The largest share of the non-ASCII letters of `text` among the frequent letters of one language
    (charset-normalizer's tables; tells cp1251 from KOI8-R, whose misreadings are Cyrillic letters too)."""
    from charset_normalizer.constant import FREQUENCIES

    letters = {c.lower() for c in text if ord(c) > 127 and c.isalpha()}
    if not letters or all(ord(c) < 0x400 for c in letters):
        return 1.0
    return max(len(letters & {c.lower() for c in alphabet}) / len(letters) for alphabet in FREQUENCIES.values())


def _one_script(text: str) -> float:
    """Share of the letters of words with non-ASCII letters that stand in plausible words: of one script
    (Latin, Cyrillic or Greek), in lower case, upper case or capitalised."""
    words = [w for w in text.split() if any(ord(c) > 127 and c.isalpha() for c in w)]
    if not words:
        return 1.0

    def script(c: str) -> str:
        code = ord(c)
        return "cyrillic" if 0x400 <= code < 0x530 else "greek" if 0x370 <= code < 0x400 else "latin"

    def scripts(word: str) -> set[str]:
        return {script(c) for c in word if c.isalpha()}

    # Cyrillic text has words of three letters and more; a text whose Cyrillic words are all shorter is
    # more likely Latin letters misread ('ÄÜ' as 'ДЬ')
    long_cyrillic = any(scripts(w) == {"cyrillic"} and sum(c.isalpha() for c in w) >= 3 for w in words)

    def plausible(word: str) -> bool:
        found = scripts(word)
        letters = "".join(c for c in word if c.isalpha())
        cased = letters.islower() or letters.isupper() or letters.istitle()  # not 'ДДз'
        return len(found) == 1 and cased and (found != {"cyrillic"} or long_cyrillic)

    weight = [sum(c.isalpha() for c in w) for w in words]  # by letters: short abbreviations weigh little
    return sum(n for w, n in zip(words, weight, strict=True) if plausible(w)) / sum(weight)


def _thin(sample: bytes) -> bool:
    """Whether `sample` holds too few distinct non-ASCII bytes to judge a code page by."""
    return len({b for b in sample if b > 127}) < THIN_EVIDENCE

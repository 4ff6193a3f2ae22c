"""The building blocks of the layer specifications: fields, families of fields, layers, languages.

The layers themselves are specified in :mod:`twin.model.layers`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from dataclasses import dataclass, field

from twin.model.value_labels import Text

#: Languages of the published texts; the first is the default.
LANGUAGES = ("de", "en")

#: Field types and the pandas dtype each becomes in a frame.
DTYPES: dict[str, str] = {
    "string": "str",
    "int32": "Int32",
    "int64": "Int64",
    "float64": "float64",
    "bool": "boolean",
    "datetime": "datetime64[ms, UTC]",
    "date": "str",
    "json": "str",
}



def in_language(text: Text, language: str) -> str:
    """The German or English part of `text`.

    >>> in_language(("Gebäude", "Buildings"), "en")
    'Buildings'
    """
    if language not in LANGUAGES:
        msg = f"language {language!r} is not one of {', '.join(LANGUAGES)}"
        raise ValueError(msg)
    return text[LANGUAGES.index(language)]


def _short(label: str) -> str:
    return label.split(": ", 1)[0]


@dataclass(frozen=True)
class Field:
    """One attribute of a layer.

    Parameters
    ----------
    name
        Column name (snake_case, unit suffix, ``_at`` for UTC timestamps).
    dtype
        One of :data:`DTYPES`.
    title
        Short human title (German, as GIS staff read it), used as alias.
    description
        One sentence explaining the field, with its unit (German).
    unit
        Unit symbol, empty when dimensionless.
    values
        For coded fields, the allowed values with a German label each.
    title_en, description_en, values_en
        The same texts in English.
    """

    name: str
    dtype: str
    title: str
    description: str
    unit: str = ""
    values: dict[str, str] = field(default_factory=dict)
    title_en: str = ""
    description_en: str = ""
    values_en: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.dtype not in DTYPES:
            msg = f"field {self.name}: unknown dtype {self.dtype!r}"
            raise ValueError(msg)
        if list(self.values) != list(self.values_en):
            msg = f"field {self.name}: German and English value labels name different values"
            raise ValueError(msg)

    def title_in(self, language: str) -> str:
        """The title in `language` (``de`` or ``en``)."""
        return in_language((self.title, self.title_en or self.title), language)

    def description_in(self, language: str) -> str:
        """The description in `language`."""
        return in_language((self.description, self.description_en or self.description), language)

    def values_in(self, language: str) -> dict[str, str]:
        """Value -> label in `language` for a coded field (empty otherwise)."""
        return dict(self.values_en if in_language(LANGUAGES, language) == "en" else self.values)

    def legend_label(self, value: str, language: str) -> str:
        """The short label of `value` as a legend shows it (the label up to its first ``": "``)."""
        return _short(self.values_in(language)[value])


@dataclass(frozen=True)
class FieldFamily:
    """Columns a layer has as many of as the data asks for: ``<prefix><key>``, e.g. one per campaign.

    >>> family = FieldFamily("share_", "float64", ("Abdeckung {}", "Coverage {}"), ("Anteil {}", "Share {}"))
    >>> family.field("share_2023").title_in("de"), family.matches("share_2023"), family.matches("share_of_x")
    ('Abdeckung 2023', True, False)
    """

    prefix: str
    dtype: str
    title: Text
    description: Text
    unit: str = ""

    def matches(self, column: str) -> bool:
        """Whether `column` is one of the family: the prefix and a key of ASCII letters and digits (``2023``)."""
        key = column[len(self.prefix):]
        return column.startswith(self.prefix) and key.isascii() and key.isalnum()

    def field(self, column: str) -> Field:
        """The field of `column`, its titles and descriptions naming its key (``{}`` in the texts)."""
        key = column[len(self.prefix):]
        return Field(column, self.dtype, self.title[0].format(key), self.description[0].format(key), self.unit,
                     title_en=self.title[1].format(key), description_en=self.description[1].format(key))


@dataclass(frozen=True)
class Layer:
    """One layer (table) of the output GeoPackage.

    `families` are columns whose number the data decides (one per campaign); they follow the fixed
    `fields`, ordered by name (:meth:`with_columns`).
    """

    name: str
    geometry_type: str | None
    title: str
    description: str
    fields: tuple[Field, ...]
    id_field: str | None = None
    title_en: str = ""
    description_en: str = ""
    families: tuple[FieldFamily, ...] = ()

    def family_columns(self, columns: Iterable[object]) -> tuple[str, ...]:
        """The columns of `columns` that belong to a family of the layer, sorted by name."""
        fixed = set(self.columns)
        return tuple(sorted({str(c) for c in columns if str(c) not in fixed
                             and any(f.matches(str(c)) for f in self.families)}))

    def with_columns(self, columns: Iterable[object]) -> Layer:
        """This layer with the fields of the family columns among `columns` after its fixed fields."""
        extra = self.family_columns(columns) if self.families else ()
        if not extra:
            return self
        return _extended(self, extra)

    def family_field(self, column: str) -> Field:
        """The field of a family column."""
        for family in self.families:
            if family.matches(column):
                return family.field(column)
        raise KeyError(column)

    def field(self, name: str) -> Field:
        """Return the field called `name` (a fixed field or one of a family)."""
        for f in self.fields:
            if f.name == name:
                return f
        return self.family_field(name)

    @property
    def columns(self) -> list[str]:
        """Field names in order."""
        return [f.name for f in self.fields]

    def title_in(self, language: str) -> str:
        """The title in `language` (``de`` or ``en``)."""
        return in_language((self.title, self.title_en or self.title), language)

    def description_in(self, language: str) -> str:
        """The description in `language`."""
        return in_language((self.description, self.description_en or self.description), language)


def _extended(layer: Layer, extra: tuple[str, ...]) -> Layer:
    """`layer` with the fields of `extra`: one object per layer and set of columns, so schemas made of it are cached."""
    key = (id(layer), extra)
    known = _EXTENDED.get(key)
    if known is None or known[0] is not layer:
        known = _EXTENDED[key] = (layer, dataclasses.replace(
            layer, fields=layer.fields + tuple(layer.family_field(c) for c in extra)))
    return known[1]


#: Layers extended by family columns, by (identity of the layer, columns); a layer holds dicts and has no hash.
_EXTENDED: dict[tuple[int, tuple[str, ...]], tuple[Layer, Layer]] = {}

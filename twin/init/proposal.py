"""What ``twin init`` concludes: the pipeline's sections, column mappings and a note on every guess."""

from __future__ import annotations

from dataclasses import dataclass, field

from twin.init.inspect import Source

__all__ = ["DEFAULT_CRS", "Guess", "set_layer"]


#: The output CRS when no projected input names one.
DEFAULT_CRS = "EPSG:25832"


@dataclass
class Guess:
    """What ``twin init`` concluded: sources, formats, column mappings and notes for the user."""

    crs: str = DEFAULT_CRS
    sections: dict[str, dict[str, object]] = field(default_factory=dict)
    columns: dict[str, dict[str, str]] = field(default_factory=dict)
    notes: dict[str, list[str]] = field(default_factory=dict)
    #: Every file (and layer) of the folder with the role it got, or why it got none.
    files: dict[str, str] = field(default_factory=dict)
    #: The buildings' extent (xmin, ymin, xmax, ymax) in the output CRS, where they are in it: where the town lies.
    extent: tuple[float, float, float, float] | None = None

    def note(self, section: str, text: str) -> None:
        """Add a comment shown above `section` in the pipeline file."""
        self.notes.setdefault(section, []).append(text)


def set_layer(section: dict[str, object], key: str, source: Source) -> None:
    """Name the layer when the file holds several (one GeoPackage with all of a city's layers)."""
    if source.layer and source.family != "table" and source.layer_count > 1:
        section[key] = source.layer

"""The layer schemas of the city information model, defined once.

Readers, writers, styles, documentation and tests all take field names,
types, units and descriptions from here.

>>> LAYERS["buildings"].geometry_type
'MultiPolygon'
>>> LAYERS["panoramas"].field("heading_deg").unit
'deg'
"""

from __future__ import annotations

from twin.model.frames import conform, empty_frame
from twin.model.layers import LANGUAGES, LAYERS, Field, Layer, text

__all__ = ["LANGUAGES", "LAYERS", "Field", "Layer", "conform", "empty_frame", "text"]

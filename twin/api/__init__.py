"""The analyst's API: open a built city model in a notebook and ask it the city's questions.

>>> import twin
>>> from twin.api import sample_model_path
>>> model = twin.open_model(sample_model_path())
>>> model.crs
'EPSG:25832'
>>> model.buildings["fibre_status"].cat.categories.tolist()
['connected', 'reachable', 'planned', 'none']
>>> str(model.panoramas["captured_at"].dtype)
'datetime64[ms, UTC]'
>>> len(model.buildings_near_fibre(25)) <= len(model.buildings_near_fibre(50))
True

- :mod:`twin.api.city_model`: :class:`CityModel`, the layers and the questions as methods;
- :mod:`twin.api.model_layers`: the layers, read lazily (or held in memory for a subset);
- :mod:`twin.api.summaries`, :mod:`twin.api.questions`, :mod:`twin.api.aggregate`: the questions as pure
  functions of layer frames; :mod:`twin.api.arguments`: the checks of their arguments;
- :mod:`twin.api.graph`: the route network as an OSMnx-style graph;
- :mod:`twin.api.subset`, :mod:`twin.api.export`: a part of the model, written as a GeoPackage;
- :mod:`twin.api.layers`: layers with the model's dtypes, and where the shipped sample lives;
- :mod:`twin.api.plots`: figures (the LoD1 block model).
"""

from __future__ import annotations

from twin.api.city_model import CityModel, open_model
from twin.api.layers import project_root, sample_model_path

__all__ = ["CityModel", "open_model", "project_root", "sample_model_path"]

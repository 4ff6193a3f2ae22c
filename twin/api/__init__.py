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
- :mod:`twin.api.summaries`: the questions as pure functions of layer frames;
- :mod:`twin.api.layers`: layers with the model's dtypes, and where the shipped sample lives;
- :mod:`twin.api.plots`: figures (the LoD1 block model).
"""

from __future__ import annotations

from twin.api.city_model import CityModel, open_model
from twin.api.layers import project_root, sample_model_path

__all__ = ["CityModel", "open_model", "project_root", "sample_model_path"]

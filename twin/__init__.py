"""twin: a city information model (CIM) built from panoramas, fibre network and buildings.

The notebook API:

>>> import twin
>>> pipeline = twin.read_pipeline("pipelines/kaiserslautern.toml")
>>> pipeline.city.name
'Kaiserslautern'
>>> model = twin.open_model(twin.run(pipeline).output)
>>> model.buildings.crs.to_string()
'EPSG:25832'
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from twin._version import __version__

if TYPE_CHECKING:
    from twin.api import open_model
    from twin.config import read_pipeline
    from twin.runner import run

__all__ = ["__version__", "open_model", "read_pipeline", "run"]

_LAZY = {"open_model": "twin.api", "read_pipeline": "twin.config", "run": "twin.runner"}


def __getattr__(name: str) -> Any:
    """Import the API on first use, so that the command line starts without loading what it does not need."""
    if name in _LAZY:
        import importlib

        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'twin' has no attribute {name!r}")


def __dir__() -> list[str]:
    """The notebook API, for tab completion (the names import on first use).

    >>> import twin
    >>> {"open_model", "read_pipeline", "run"} <= set(dir(twin))
    True
    """
    return sorted({*globals(), *__all__})

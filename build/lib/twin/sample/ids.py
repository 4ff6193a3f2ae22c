"""Identifiers as vendors and the cadastre write them."""

from __future__ import annotations

import numpy as np


def base34(values: np.ndarray, width: int) -> np.ndarray:
    """Fixed-width upper-case codes of non-negative integers (no I or O), vectorised.

    >>> base34(np.array([0, 35]), 3).tolist()
    ['000', '011']
    """
    alphabet = np.frombuffer(b"0123456789ABCDEFGHJKLMNPQRSTUVWXYZ", dtype=np.uint8)
    digits = np.empty((len(values), width), dtype=np.uint8)
    rest = np.asarray(values, dtype=np.int64).copy()
    for place in range(width - 1, -1, -1):
        rest, digit = np.divmod(rest, 34)
        digits[:, place] = alphabet[digit]
    return digits.view(f"S{width}").ravel().astype(str)

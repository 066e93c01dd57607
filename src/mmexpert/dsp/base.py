"""Shared pieces of the dsp stage: the error type, array checks and the dB helper."""

from __future__ import annotations

import numpy as np


class DspError(ValueError):
    """Bad input to a processing step; the message names the offending argument."""


def require_ndim(array: np.ndarray, min_ndim: int, name: str, layout: str) -> np.ndarray:
    """Return ``array`` as an ndarray after checking it has at least ``min_ndim`` axes.

    Parameters
    ----------
    array : array_like
        The input to check.
    min_ndim : int
        Smallest acceptable number of axes.
    name : str
        Name of the argument, used in the error message.
    layout : str
        Expected layout, e.g. ``"[..., samples]"``, used in the error message.

    Raises
    ------
    DspError
        If the array has fewer axes than required or is empty.
    """
    out = np.asarray(array)
    if out.ndim < min_ndim or out.size == 0:
        raise DspError(f"{name} must be a non-empty array {layout}, got shape {out.shape}")
    return out


def power_to_db(power: np.ndarray, floor: float = 1e-30) -> np.ndarray:
    """Convert linear power to decibels, ``10 log10(max(power, floor))``.

    Parameters
    ----------
    power : float [...]
        Linear power (any unit; the result is dB relative to one such unit).
    floor : float
        Smallest power considered, avoiding ``log10(0)``.

    Returns
    -------
    float [...]: power in dB, same shape as ``power``.
    """
    return 10.0 * np.log10(np.maximum(np.asarray(power), floor))

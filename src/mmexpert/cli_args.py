"""Parsing of command-line values that carry units (degrees and friends live only here)."""

from __future__ import annotations

import math
from dataclasses import dataclass


class ArgumentError(ValueError):
    """A command-line value that cannot be understood; the message says how to fix it."""


@dataclass(frozen=True)
class TargetSpec:
    """A point target relative to the radar, in SI units."""

    range_m: float  # distance from the radar [m]
    velocity_mps: float  # radial velocity, positive moving away [m/s]
    azimuth_rad: float  # positive towards the radar's +x (right) [rad]
    elevation_rad: float = 0.0  # positive upwards [rad]
    rcs_m2: float = 1.0  # radar cross-section [m^2]


_TARGET_KEYS = {
    "r": "range_m",
    "v": "velocity_mps",
    "az": "azimuth_deg",
    "el": "elevation_deg",
    "rcs": "rcs_m2",
}


def parse_target(text: str) -> TargetSpec:
    """Parse ``r=3.0,v=1.0,az=20[,el=0][,rcs=1.0]`` (metres, m/s, degrees, m^2).

    Raises
    ------
    ArgumentError
        On unknown keys, missing ``r``/``v``/``az``, non-numbers or impossible values.
    """
    values: dict[str, float] = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        key, sep, raw = item.partition("=")
        key = key.strip()
        if not sep or key not in _TARGET_KEYS:
            raise ArgumentError(
                f"--target '{text}': '{item}' is not one of r=<m>, v=<m/s>, az=<deg>, "
                "el=<deg>, rcs=<m^2>"
            )
        if key in values:
            raise ArgumentError(f"--target '{text}': '{key}' given twice")
        try:
            values[key] = float(raw)
        except ValueError:
            raise ArgumentError(f"--target '{text}': {key}='{raw}' is not a number") from None
        if not math.isfinite(values[key]):
            raise ArgumentError(f"--target '{text}': {key} must be finite")
    missing = [k for k in ("r", "v", "az") if k not in values]
    if missing:
        raise ArgumentError(f"--target '{text}': missing {', '.join(missing)} (need r, v, az)")
    if values["r"] <= 0:
        raise ArgumentError(f"--target '{text}': range r must be > 0 m")
    if not -90 < values["az"] < 90 or not -90 < values.get("el", 0.0) < 90:
        raise ArgumentError(f"--target '{text}': az and el must lie inside (-90, 90) degrees")
    if values.get("rcs", 1.0) <= 0:
        raise ArgumentError(f"--target '{text}': rcs must be > 0 m^2")
    return TargetSpec(
        range_m=values["r"],
        velocity_mps=values["v"],
        azimuth_rad=math.radians(values["az"]),
        elevation_rad=math.radians(values.get("el", 0.0)),
        rcs_m2=values.get("rcs", 1.0),
    )

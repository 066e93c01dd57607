"""Radar presets: real TI mmWave SDK ``.cfg`` files shipped in ``radar/presets/``.

Each preset is a cfg with a ``% device: NAME`` line; :func:`load_radar` reads one by name
(``list_presets()``) or reads any user cfg by path.

=====================  ======================================================================
``iwr1843-udoppler``   IWR1843BOOST, 1 TX x 4 RX, 128 loops, 50 fps: micro-Doppler (v_max ~6 m/s)
``iwr1843-demo``       IWR1843BOOST out-of-box demo style, 3 TX TDM, 16 loops, 4 fps
``iwr1443-30fps``      IWR1443BOOST, 3 TX TDM, 100 MHz/us, 64 loops, 30 fps
``iwr1443-radhar``     IWR1443BOOST as in the RadHAR captures (ti_mmwave_rospkg 1443_3d numbers)
``iwr6843isk``         IWR6843ISK at 60 GHz, 3 TX TDM, 32 loops, 20 fps
=====================  ======================================================================
"""

from __future__ import annotations

from pathlib import Path

from mmexpert.radar.config import RadarConfig, RadarConfigError
from mmexpert.radar.ticfg import parse_ti_cfg

PRESET_DIR = Path(__file__).resolve().parent / "presets"
"""Folder holding the preset ``.cfg`` files."""


class UnknownPresetError(RadarConfigError):
    """Neither a preset name nor an existing cfg file; the message lists the presets."""


def list_presets() -> list[str]:
    """Names of the shipped radar presets (cfg file stems), sorted."""
    return sorted(path.stem for path in PRESET_DIR.glob("*.cfg"))


def preset_path(name: str) -> Path:
    """Path of the preset ``name``.

    Raises
    ------
    UnknownPresetError
        If there is no such preset.
    """
    path = PRESET_DIR / f"{name}.cfg"
    if name not in list_presets():
        raise UnknownPresetError(
            f"unknown radar preset '{name}'; available presets: {', '.join(list_presets())}"
        )
    return path


def load_radar(preset_or_path: str | Path, device: str | None = None) -> RadarConfig:
    """A validated radar from a preset name or from a TI ``.cfg`` file path.

    Parameters
    ----------
    preset_or_path : str or Path
        A name from :func:`list_presets` (e.g. ``"iwr1843-udoppler"``) or a path to a cfg.
    device : str, optional
        Board to use instead of the cfg's ``% device:`` line or the band's default.

    Returns
    -------
    RadarConfig
        Named after the preset (or the file stem).

    Raises
    ------
    UnknownPresetError
        If the argument is neither a preset nor an existing file (lists the presets).
    mmexpert.radar.ticfg.TiCfgError
        If the cfg is malformed or describes an impossible radar.
    """
    text = str(preset_or_path)
    if not isinstance(preset_or_path, Path) and text in list_presets():
        return parse_ti_cfg(preset_path(text), device=device, name=text)
    path = Path(preset_or_path)
    if path.is_file():
        return parse_ti_cfg(path, device=device)
    raise UnknownPresetError(
        f"'{text}' is neither a radar preset nor a cfg file; available presets: "
        f"{', '.join(list_presets())} (or give the path of a TI .cfg file)"
    )

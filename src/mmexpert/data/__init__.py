"""Data stage: readers for real radar data (and, later, the dataset store and loaders).

* ``dca1000``: :func:`read_dca1000` reads DCA1000EVM raw ADC captures into a
  :class:`~mmexpert.radar.cube.RadarCube` (layouts of TI app note SWRA581: ``"xwr16xx"`` for
  2-lane xWR16xx/18xx/68xx, ``"xwr14xx"`` for 4-lane xWR12xx/14xx; complex or real
  ``adcCfg``); :func:`write_dca1000` writes a cube in the same format.
"""

from mmexpert.data.dca1000 import (
    DCA1000_LAYOUTS,
    Dca1000Error,
    Dca1000Warning,
    decode_dca1000,
    encode_dca1000,
    frame_size_bytes,
    read_dca1000,
    reinterpret_unsigned_int16,
    write_dca1000,
)

__all__ = [
    "DCA1000_LAYOUTS",
    "Dca1000Error",
    "Dca1000Warning",
    "decode_dca1000",
    "encode_dca1000",
    "frame_size_bytes",
    "read_dca1000",
    "reinterpret_unsigned_int16",
    "write_dca1000",
]

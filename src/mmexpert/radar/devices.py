"""Supported TI radar boards as data: silicon limits, antenna layout, element pattern, receiver.

The values live in ``presets/devices.json`` (one entry per board, each with a ``sources``
note saying where its numbers come from); this module turns them into :class:`Device`
objects and keeps them in the plain registry dict :data:`DEVICES`.

Antenna positions are stored in units of lambda/2 at the board's design frequency (the way
antenna layouts are drawn) and converted to metres in the radar local frame (x right,
y boresight, z up).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path

from mmexpert.constants import SPEED_OF_LIGHT_MPS
from mmexpert.radar.config import AntennaArray, DeviceLimits, RadarConfigError, ReceiverConfig

DEVICES_FILE = Path(__file__).resolve().parent / "presets" / "devices.json"
"""Where the board definitions are stored."""


class UnknownDeviceError(RadarConfigError):
    """A device name that is not in :data:`DEVICES`; the message lists the known ones."""


@dataclass(frozen=True)
class Device:
    """One radar board: what the chip can do and where its antennas are.

    Positions are ``[antenna, 3]`` tuples in units of lambda/2 at ``design_freq_hz``, in
    TX1..TXn / RX1..RXn order (bit ``i`` of a TI ``txEnable``/``rxEnable`` mask selects
    antenna ``i``).
    """

    name: str  # registry key, e.g. "iwr1843boost"
    description: str  # one line for humans
    limits: DeviceLimits  # datasheet limits (band, bandwidth, ADC rate, slope, TX/RX count)
    design_freq_hz: float  # frequency at which the lambda/2 spacing holds [Hz]
    tx_positions_half_wavelengths: tuple[tuple[float, float, float], ...]  # [tx, 3] [lambda/2]
    rx_positions_half_wavelengths: tuple[tuple[float, float, float], ...]  # [rx, 3] [lambda/2]
    element_gain_dbi: float  # peak gain of one element [dBi]
    half_power_beamwidth_az_rad: float  # element -3 dB full width in azimuth [rad]
    half_power_beamwidth_el_rad: float  # element -3 dB full width in elevation [rad]
    back_lobe_db: float  # gain behind the board relative to the peak [dB]
    tx_power_dbm: float  # output power per TX [dBm]
    noise_figure_db: float  # receiver noise figure [dB]
    sources: tuple[tuple[str, str], ...] = field(default=())  # (values, origin) notes

    @property
    def design_wavelength_m(self) -> float:
        """Wavelength at the design frequency [m]."""
        return SPEED_OF_LIGHT_MPS / self.design_freq_hz

    @property
    def tx_positions_m(self) -> tuple[tuple[float, float, float], ...]:
        """TX positions [tx, 3] in the radar local frame [m]."""
        return self._to_metres(self.tx_positions_half_wavelengths)

    @property
    def rx_positions_m(self) -> tuple[tuple[float, float, float], ...]:
        """RX positions [rx, 3] in the radar local frame [m]."""
        return self._to_metres(self.rx_positions_half_wavelengths)

    def _to_metres(
        self, half_wavelengths: tuple[tuple[float, float, float], ...]
    ) -> tuple[tuple[float, float, float], ...]:
        half = self.design_wavelength_m / 2
        return tuple((x * half, y * half, z * half) for x, y, z in half_wavelengths)

    def antenna_array(
        self, tx_indices: tuple[int, ...] | None = None, rx_indices: tuple[int, ...] | None = None
    ) -> AntennaArray:
        """The board's antennas, optionally restricted to enabled TX/RX (0-based, in order).

        Parameters
        ----------
        tx_indices, rx_indices : tuple of int, optional
            Antennas to keep, in the order they will appear in the array (all if None).

        Returns
        -------
        AntennaArray with positions in metres and this board's element pattern.
        """
        tx_all, rx_all = self.tx_positions_m, self.rx_positions_m
        tx_keep = range(len(tx_all)) if tx_indices is None else tx_indices
        rx_keep = range(len(rx_all)) if rx_indices is None else rx_indices
        for kind, keep, avail in (("TX", tx_keep, tx_all), ("RX", rx_keep, rx_all)):
            bad = [i for i in keep if not 0 <= i < len(avail)]
            if bad:
                raise RadarConfigError(
                    f"device '{self.name}' has {kind} 0..{len(avail) - 1}, asked for {bad}"
                )
        return AntennaArray(
            tx_positions_m=tuple(tx_all[i] for i in tx_keep),
            rx_positions_m=tuple(rx_all[i] for i in rx_keep),
            element_gain_dbi=self.element_gain_dbi,
            half_power_beamwidth_az_rad=self.half_power_beamwidth_az_rad,
            half_power_beamwidth_el_rad=self.half_power_beamwidth_el_rad,
            back_lobe_db=self.back_lobe_db,
        )

    def receiver(self, complex_sampling: bool = True, adc_bits: int = 16) -> ReceiverConfig:
        """Receiver defaults of this board (TX power, noise figure) with the given ADC mode."""
        return ReceiverConfig(
            tx_power_dbm=self.tx_power_dbm,
            noise_figure_db=self.noise_figure_db,
            complex_sampling=complex_sampling,
            adc_bits=adc_bits,
        )

    def covers(self, freq_hz: float) -> bool:
        """True if ``freq_hz`` [Hz] lies inside this board's RF band."""
        return self.limits.min_freq_hz <= freq_hz <= self.limits.max_freq_hz


def _device_from_json(name: str, entry: dict) -> Device:
    try:
        limits = DeviceLimits(
            name=name,
            min_freq_hz=float(entry["min_freq_ghz"]) * 1e9,
            max_freq_hz=float(entry["max_freq_ghz"]) * 1e9,
            max_bandwidth_hz=float(entry["max_bandwidth_ghz"]) * 1e9,
            max_sample_rate_hz=float(entry["max_sample_rate_msps"]) * 1e6,
            max_slope_hz_per_s=float(entry["max_slope_mhz_per_us"]) * 1e12,
            num_tx=len(entry["tx_positions_half_wavelengths"]),
            num_rx=len(entry["rx_positions_half_wavelengths"]),
        )
        return Device(
            name=name,
            description=str(entry["description"]),
            limits=limits,
            design_freq_hz=float(entry["design_freq_ghz"]) * 1e9,
            tx_positions_half_wavelengths=tuple(
                tuple(float(v) for v in p) for p in entry["tx_positions_half_wavelengths"]
            ),
            rx_positions_half_wavelengths=tuple(
                tuple(float(v) for v in p) for p in entry["rx_positions_half_wavelengths"]
            ),
            element_gain_dbi=float(entry["element_gain_dbi"]),
            half_power_beamwidth_az_rad=math.radians(float(entry["half_power_beamwidth_az_deg"])),
            half_power_beamwidth_el_rad=math.radians(float(entry["half_power_beamwidth_el_deg"])),
            back_lobe_db=float(entry["back_lobe_db"]),
            tx_power_dbm=float(entry["tx_power_dbm"]),
            noise_figure_db=float(entry["noise_figure_db"]),
            sources=tuple(sorted(entry.get("sources", {}).items())),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise RadarConfigError(f"{DEVICES_FILE}: device '{name}' is malformed: {exc!r}") from exc


def load_device_table(path: Path = DEVICES_FILE) -> dict[str, Device]:
    """Read board definitions from a JSON file (keys starting with ``_`` are notes)."""
    raw = json.loads(path.read_text(encoding="utf-8"))
    return {k: _device_from_json(k, v) for k, v in raw.items() if not k.startswith("_")}


def load_ti_ant_geometry(name: str, path: Path = DEVICES_FILE) -> dict[str, list[int]] | None:
    """TI's ``antGeometry0/1`` virtual-antenna offsets [lambda/2] kept for a board, if any."""
    raw = json.loads(path.read_text(encoding="utf-8"))
    return raw.get(name, {}).get("ti_ant_geometry")


DEVICES: dict[str, Device] = load_device_table()
"""Registry of supported boards: name -> :class:`Device`."""


def list_devices() -> list[str]:
    """Names of the supported boards, sorted."""
    return sorted(DEVICES)


def get_device(name: str) -> Device:
    """The board called ``name`` (case-insensitive).

    Raises
    ------
    UnknownDeviceError
        If no such board is defined; the message lists the known boards.
    """
    key = name.strip().lower()
    if key not in DEVICES:
        raise UnknownDeviceError(
            f"unknown radar device '{name}'; supported devices: {', '.join(list_devices())}"
        )
    return DEVICES[key]


# Which board to assume when a cfg names none: the band decides (60-64 GHz is the 60 GHz
# family, 76-81 GHz the 77 GHz family); the IWR1843BOOST stands for the 77 GHz family.
DEFAULT_DEVICE_FOR_BAND: tuple[tuple[float, float, str], ...] = (
    (60e9, 64e9, "iwr6843isk"),
    (76e9, 81e9, "iwr1843boost"),
)


def device_for_frequency(start_freq_hz: float) -> str:
    """Default board name for a chirp start frequency [Hz].

    Raises
    ------
    UnknownDeviceError
        If the frequency lies in no supported band.
    """
    for low, high, name in DEFAULT_DEVICE_FOR_BAND:
        if low <= start_freq_hz <= high:
            return name
    bands = ", ".join(f"{lo / 1e9:g}-{hi / 1e9:g} GHz" for lo, hi, _ in DEFAULT_DEVICE_FOR_BAND)
    raise UnknownDeviceError(
        f"start frequency {start_freq_hz / 1e9:.3f} GHz lies in no supported band ({bands}); "
        "name the device explicitly"
    )

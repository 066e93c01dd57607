"""Radar configuration: chirp profile, frame, antennas, receiver, device limits and pose.

Every field is SI (Hz, s, m, W, rad) except where the name says otherwise (``_db``,
``_dbm``, ``_dbi``: decibel quantities kept as the user writes them in TI ``.cfg`` files).

Frames of reference
-------------------
* **Radar local frame** (TI convention): x to the right of the boresight, y along the
  boresight, z up. Antenna positions are given in this frame [m].
* **World frame**: right-handed, z up, metres. :class:`Pose` maps local to world.

Derived quantities follow DESIGN.md section 3:

.. math::

    \\Delta R = \\frac{c f_s}{2 S N}, \\quad R_{max} = \\frac{f_s c}{2 S} \\text{ (complex)},
    \\quad v_{max} = \\frac{\\lambda}{4 T_{loop}}, \\quad
    \\Delta v = \\frac{\\lambda}{2 N_{loops} T_{loop}}
"""

from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from mmexpert.constants import BOLTZMANN_J_PER_K, REFERENCE_TEMPERATURE_K, SPEED_OF_LIGHT_MPS


class RadarConfigError(ValueError):
    """An impossible or malformed radar configuration. The message names the constraint."""


@dataclass(frozen=True)
class ChirpProfile:
    """One FMCW chirp profile (TI ``profileCfg``)."""

    start_freq_hz: float  # carrier at the start of the ramp [Hz]
    slope_hz_per_s: float  # frequency slope S [Hz/s]
    idle_time_s: float  # idle time before each ramp [s]
    adc_start_time_s: float  # ADC start, measured from the ramp start [s]
    ramp_end_time_s: float  # ramp duration [s]
    num_adc_samples: int  # fast-time samples N per chirp
    sample_rate_hz: float  # ADC sample rate f_s [Hz]
    rx_gain_db: float = 30.0  # receiver gain from the RF input to the ADC [dB]
    tx_start_time_s: float = 0.0  # TX start relative to the ramp start [s]


@dataclass(frozen=True)
class FrameConfig:
    """Frame structure (TI ``chirpCfg`` + ``frameCfg``) for TDM-MIMO.

    ``chirp_tx`` lists, for each chirp inside one loop, the TX antennas (0-based indices
    into :attr:`AntennaArray.tx_positions_m`) that transmit during it. The chirp of loop
    ``l`` at index ``k`` starts at ``t_frame + l * loop_time + k * chirp_time``.
    """

    chirp_tx: tuple[tuple[int, ...], ...]  # TX indices per chirp of a loop
    num_loops: int  # chirp loops per frame
    frame_period_s: float  # frame periodicity [s]
    num_frames: int = 0  # frames per capture (0: unbounded, as TI)


@dataclass(frozen=True)
class AntennaArray:
    """TX and RX antenna geometry in the radar local frame and the element pattern.

    The element power pattern is ``G(az, el) = G0 * cos(az)**q_az * cos(el)**q_el`` for
    targets in front of the radar (y > 0), with exponents set by the half-power
    beamwidths; behind the radar the gain is ``back_lobe_db`` below G0.
    """

    tx_positions_m: tuple[tuple[float, float, float], ...]  # [tx, 3] local frame [m]
    rx_positions_m: tuple[tuple[float, float, float], ...]  # [rx, 3] local frame [m]
    element_gain_dbi: float = 10.5  # peak gain of one TX or RX element [dBi]
    half_power_beamwidth_az_rad: float = math.radians(56.0)  # full width at -3 dB [rad]
    half_power_beamwidth_el_rad: float = math.radians(28.0)  # full width at -3 dB [rad]
    back_lobe_db: float = -30.0  # gain behind the radar relative to the peak [dB]

    @property
    def tx(self) -> np.ndarray:
        """TX positions, float64 [tx, 3] [m] (local frame)."""
        return np.asarray(self.tx_positions_m, dtype=np.float64).reshape(-1, 3)

    @property
    def rx(self) -> np.ndarray:
        """RX positions, float64 [rx, 3] [m] (local frame)."""
        return np.asarray(self.rx_positions_m, dtype=np.float64).reshape(-1, 3)

    def element_gain(self, directions_local: np.ndarray) -> np.ndarray:
        """Linear power gain of one element towards unit directions.

        Parameters
        ----------
        directions_local : float [..., 3]
            Unit vectors in the radar local frame.

        Returns
        -------
        float64 [...]: linear power gain (not dB).
        """
        d = np.asarray(directions_local, dtype=np.float64)
        x, y = d[..., 0], d[..., 1]
        cos_el = np.sqrt(np.clip(x * x + y * y, 0.0, 1.0))
        cos_az = np.where(cos_el > 0, y / np.maximum(cos_el, 1e-12), 0.0)
        q_az = math.log(0.5) / math.log(math.cos(self.half_power_beamwidth_az_rad / 2))
        q_el = math.log(0.5) / math.log(math.cos(self.half_power_beamwidth_el_rad / 2))
        front = np.clip(cos_az, 0.0, 1.0) ** q_az * cos_el**q_el
        floor = 10 ** (self.back_lobe_db / 10)
        return 10 ** (self.element_gain_dbi / 10) * np.maximum(front, floor)


@dataclass(frozen=True)
class ReceiverConfig:
    """Transmit power, receiver noise and ADC."""

    tx_power_dbm: float = 12.0  # output power per TX [dBm]
    noise_figure_db: float = 15.0  # receiver noise figure [dB]
    temperature_k: float = REFERENCE_TEMPERATURE_K  # noise temperature [K]
    complex_sampling: bool = True  # IQ (TI complex1x) if True, real-only otherwise
    adc_bits: int = 16  # ADC resolution [bits]; 0 disables quantization
    adc_full_scale_v: float = 1.0  # ADC full scale, peak, per I or Q rail [V]
    load_ohm: float = 50.0  # impedance that converts power to voltage [ohm]

    @property
    def tx_power_w(self) -> float:
        """TX power per antenna [W]."""
        return 10 ** (self.tx_power_dbm / 10) * 1e-3


@dataclass(frozen=True)
class DeviceLimits:
    """What the silicon can do (datasheet values); configs beyond them are refused."""

    name: str = "generic"
    min_freq_hz: float = 76e9  # lowest RF frequency [Hz]
    max_freq_hz: float = 81e9  # highest RF frequency [Hz]
    max_bandwidth_hz: float = 4e9  # widest sweep [Hz]
    max_sample_rate_hz: float = 12.5e6  # fastest ADC sampling [Hz]
    max_slope_hz_per_s: float = 100e12  # steepest ramp [Hz/s]
    num_tx: int = 3  # TX antennas on the device
    num_rx: int = 4  # RX antennas on the device


@dataclass(frozen=True)
class ChainSettings:
    """Processing-chain settings that TI ``.cfg`` files carry (``cfarCfg``, ``aoaFovCfg`` ...).

    The dsp stage reads these as defaults so that a simulated cube is processed as the
    device would process it.
    """

    cfar_range_guard: int = 2  # guard cells each side along range
    cfar_range_train: int = 8  # training cells each side along range
    cfar_range_threshold_db: float = 15.0  # detection threshold over the noise estimate [dB]
    cfar_doppler_guard: int = 2  # guard cells each side along Doppler
    cfar_doppler_train: int = 4  # training cells each side along Doppler
    cfar_doppler_threshold_db: float = 15.0  # threshold along Doppler [dB]
    cfar_kind: str = "ca"  # "ca" (cell averaging) or "os" (ordered statistic)
    clutter_removal: bool = True  # subtract the mean over chirps (static clutter)
    azimuth_fov_rad: tuple[float, float] = (-math.pi / 2, math.pi / 2)  # kept azimuths [rad]
    elevation_fov_rad: tuple[float, float] = (-math.pi / 2, math.pi / 2)  # kept elevations [rad]
    range_fov_m: tuple[float, float] = (0.0, math.inf)  # kept ranges [m]
    doppler_fov_mps: tuple[float, float] = (-math.inf, math.inf)  # kept velocities [m/s]
    # TI multiObjBeamForming: a second azimuth peak outside the first one's main lobe whose
    # power exceeds this fraction of the first peak's is a second point; None: disabled.
    multi_object_threshold: float | None = None

    def __post_init__(self) -> None:
        threshold = self.multi_object_threshold
        if threshold is not None and (
            isinstance(threshold, bool)
            or not isinstance(threshold, int | float)
            or not 0.0 < threshold <= 1.0
        ):
            raise RadarConfigError(
                f"multi_object_threshold must be None (disabled) or in (0, 1] (a power ratio "
                f"of the second azimuth peak to the first), got {threshold!r}"
            )


@dataclass(frozen=True)
class Pose:
    """Radar placement in the world frame.

    The rotation local -> world is ``Rz(yaw) @ Rx(pitch) @ Ry(roll)``: yaw turns the
    boresight about the world z axis (0: boresight along +y), pitch tilts it up (positive)
    or down, roll turns the board about its boresight.
    """

    position_m: tuple[float, float, float] = (0.0, 0.0, 0.0)  # antenna centre [m]
    yaw_rad: float = 0.0  # [rad]
    pitch_rad: float = 0.0  # [rad]
    roll_rad: float = 0.0  # [rad]

    @property
    def rotation(self) -> np.ndarray:
        """Rotation matrix local -> world, float64 [3, 3]."""
        cy, sy = math.cos(self.yaw_rad), math.sin(self.yaw_rad)
        cp, sp = math.cos(self.pitch_rad), math.sin(self.pitch_rad)
        cr, sr = math.cos(self.roll_rad), math.sin(self.roll_rad)
        rz = np.array([[cy, -sy, 0], [sy, cy, 0], [0, 0, 1]])
        rx = np.array([[1, 0, 0], [0, cp, -sp], [0, sp, cp]])
        ry = np.array([[cr, 0, sr], [0, 1, 0], [-sr, 0, cr]])
        return rz @ rx @ ry

    def to_world(self, points_local: np.ndarray) -> np.ndarray:
        """Map points [..., 3] from the radar local frame to the world frame [m]."""
        return np.asarray(points_local) @ self.rotation.T + np.asarray(self.position_m)

    def to_local(self, points_world: np.ndarray) -> np.ndarray:
        """Map points [..., 3] from the world frame to the radar local frame [m]."""
        return (np.asarray(points_world) - np.asarray(self.position_m)) @ self.rotation


@dataclass(frozen=True)
class RadarConfig:
    """A complete, validated radar: construct it and it is known to be physically possible.

    Raises
    ------
    RadarConfigError
        On construction, naming the first violated constraint.
    """

    name: str
    profile: ChirpProfile
    frame: FrameConfig
    antennas: AntennaArray
    receiver: ReceiverConfig = field(default_factory=ReceiverConfig)
    device: DeviceLimits = field(default_factory=DeviceLimits)
    chain: ChainSettings = field(default_factory=ChainSettings)
    pose: Pose = field(default_factory=Pose)

    def __post_init__(self) -> None:
        validate(self)

    # ----------------------------------------------------------------- timing
    @property
    def chirp_time_s(self) -> float:
        """Chirp repetition time T_chirp = idle + ramp end [s]."""
        return self.profile.idle_time_s + self.profile.ramp_end_time_s

    @property
    def chirps_per_loop(self) -> int:
        """Chirps in one TDM loop (the cube's ``tx`` axis)."""
        return len(self.frame.chirp_tx)

    @property
    def loop_time_s(self) -> float:
        """TDM loop time T_loop = chirps_per_loop * T_chirp [s]."""
        return self.chirps_per_loop * self.chirp_time_s

    @property
    def active_frame_time_s(self) -> float:
        """Time spent chirping in one frame [s]."""
        return self.frame.num_loops * self.loop_time_s

    @property
    def frame_rate_hz(self) -> float:
        """Frames per second [Hz]."""
        return 1.0 / self.frame.frame_period_s

    @property
    def duty_cycle(self) -> float:
        """Fraction of the frame period spent chirping [0..1]."""
        return self.active_frame_time_s / self.frame.frame_period_s

    def chirp_start_times_s(self, num_frames: int, first_frame_s: float = 0.0) -> np.ndarray:
        """Start time of every chirp, float64 [frames, loops, chirps_per_loop] [s].

        ``t = first_frame + f * frame_period + l * T_loop + k * T_chirp`` (exact TDM timing;
        chirps are never spread over the frame period).
        """
        f = np.arange(num_frames)[:, None, None] * self.frame.frame_period_s
        loop = np.arange(self.frame.num_loops)[None, :, None] * self.loop_time_s
        k = np.arange(self.chirps_per_loop)[None, None, :] * self.chirp_time_s
        return first_frame_s + f + loop + k

    def adc_sample_times_s(self) -> np.ndarray:
        """Fast-time sample instants t_n from the ramp start, float64 [samples] [s]."""
        p = self.profile
        return p.adc_start_time_s + np.arange(p.num_adc_samples) / p.sample_rate_hz

    # ------------------------------------------------------------ RF quantities
    @property
    def wavelength_m(self) -> float:
        """Wavelength at the centre of the sampled sweep [m]."""
        return SPEED_OF_LIGHT_MPS / self.center_freq_hz

    @property
    def center_freq_hz(self) -> float:
        """RF frequency at the middle of the ADC window [Hz]."""
        t_mid = self.profile.adc_start_time_s + 0.5 * self.adc_duration_s
        return self.profile.start_freq_hz + self.profile.slope_hz_per_s * t_mid

    @property
    def adc_duration_s(self) -> float:
        """ADC sampling window N / f_s [s]."""
        return self.profile.num_adc_samples / self.profile.sample_rate_hz

    @property
    def sampled_bandwidth_hz(self) -> float:
        """Bandwidth swept while the ADC samples, S * N / f_s [Hz]."""
        return self.profile.slope_hz_per_s * self.adc_duration_s

    @property
    def ramp_bandwidth_hz(self) -> float:
        """Bandwidth of the whole ramp, S * ramp_end [Hz]."""
        return self.profile.slope_hz_per_s * self.profile.ramp_end_time_s

    @property
    def range_resolution_m(self) -> float:
        """Range resolution c f_s / (2 S N) [m]."""
        p = self.profile
        return SPEED_OF_LIGHT_MPS * p.sample_rate_hz / (2 * p.slope_hz_per_s * p.num_adc_samples)

    @property
    def max_range_m(self) -> float:
        """Unambiguous range f_s c / (2 S) (complex); half that for real sampling [m]."""
        p = self.profile
        r = p.sample_rate_hz * SPEED_OF_LIGHT_MPS / (2 * p.slope_hz_per_s)
        return r if self.receiver.complex_sampling else r / 2

    @property
    def max_velocity_mps(self) -> float:
        """Unambiguous radial speed lambda / (4 T_loop) [m/s]; velocities span +-this."""
        return self.wavelength_m / (4 * self.loop_time_s)

    @property
    def velocity_resolution_mps(self) -> float:
        """Velocity resolution lambda / (2 N_loops T_loop) [m/s]."""
        return self.wavelength_m / (2 * self.frame.num_loops * self.loop_time_s)

    # ---------------------------------------------------------- virtual array
    @property
    def virtual_positions_m(self) -> np.ndarray:
        """Virtual element positions, float64 [chirps_per_loop, rx, 3] [m] (local frame).

        Element (k, r) sits at the mean of the TX antennas of chirp k plus RX r, i.e. the
        phase centre of a monostatic equivalent.
        """
        tx = self.antennas.tx
        centres = np.stack([tx[list(ids)].mean(axis=0) for ids in self.frame.chirp_tx])
        return centres[:, None, :] + self.antennas.rx[None, :, :]

    @property
    def azimuth_aperture(self) -> tuple[int, float]:
        """(number of distinct azimuth positions on the z=0 row, their spacing [m])."""
        v = self.virtual_positions_m.reshape(-1, 3)
        z0 = v[np.isclose(v[:, 2], v[:, 2].min(), atol=1e-6)]
        xs = np.unique(np.round(z0[:, 0], 9))
        spacing = float(np.min(np.diff(xs))) if xs.size > 1 else self.wavelength_m / 2
        return int(xs.size), spacing

    @property
    def azimuth_resolution_rad(self) -> float:
        """Boresight azimuth resolution lambda / (N_az d) of the virtual array [rad]."""
        n, d = self.azimuth_aperture
        return self.wavelength_m / (n * d)

    # ------------------------------------------------------------------ noise
    @property
    def noise_power_w(self) -> float:
        """Thermal noise per complex ADC sample, k T B NF, referred to the RF input [W].

        B is the ADC sample rate (complex sampling: the noise bandwidth equals f_s).
        """
        r = self.receiver
        nf = 10 ** (r.noise_figure_db / 10)
        return BOLTZMANN_J_PER_K * r.temperature_k * self.profile.sample_rate_hz * nf

    @property
    def volts_per_sqrt_watt(self) -> float:
        """Scale from sqrt(power at the RF input) [sqrt(W)] to ADC volts [V]."""
        return math.sqrt(self.receiver.load_ohm) * 10 ** (self.profile.rx_gain_db / 20)

    def received_power_w(self, range_m: float, rcs_m2: float, azimuth_rad: float = 0.0) -> float:
        """Monostatic radar equation Pt Gt Gr lambda^2 sigma / ((4 pi)^3 R^4) [W]."""
        u = np.array([math.sin(azimuth_rad), math.cos(azimuth_rad), 0.0])
        g = float(self.antennas.element_gain(u))
        lam = self.wavelength_m
        return (
            self.receiver.tx_power_w * g * g * lam**2 * rcs_m2 / ((4 * math.pi) ** 3 * range_m**4)
        )

    def snr_db(self, range_m: float, rcs_m2: float, integrated: bool = False) -> float:
        """SNR of a point target at boresight [dB].

        Per ADC sample if ``integrated`` is False, otherwise after coherent integration
        over the samples and loops of one chirp index on one RX (range and Doppler FFTs
        with a rectangular window): times ``N_samples * N_loops``.
        """
        snr = self.received_power_w(range_m, rcs_m2) / self.noise_power_w
        if integrated:
            snr *= self.profile.num_adc_samples * self.frame.num_loops
        return 10 * math.log10(snr)

    # ---------------------------------------------------------- serialization
    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able dict (inverse of :meth:`from_dict`)."""
        return _jsonable(dataclasses.asdict(self))

    def to_json(self) -> str:
        """JSON text of the full configuration."""
        return json.dumps(self.to_dict(), indent=1)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RadarConfig:
        """Rebuild from :meth:`to_dict` output; unknown or missing keys are errors."""
        return _from_dict(cls, data, "radar")

    @classmethod
    def from_json(cls, text: str) -> RadarConfig:
        """Rebuild from :meth:`to_json` output."""
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise RadarConfigError(f"radar config JSON is malformed: {exc}") from exc
        return cls.from_dict(data)

    def with_pose(self, pose: Pose) -> RadarConfig:
        """The same radar placed at ``pose``."""
        return dataclasses.replace(self, pose=pose)

    def summary(self) -> dict[str, float | int | str]:
        """Derived quantities, SI units, for ``mmexpert radar info``."""
        n_az, _ = self.azimuth_aperture
        return {
            "name": self.name,
            "device": self.device.name,
            "start_freq_hz": self.profile.start_freq_hz,
            "center_freq_hz": self.center_freq_hz,
            "wavelength_m": self.wavelength_m,
            "slope_hz_per_s": self.profile.slope_hz_per_s,
            "sampled_bandwidth_hz": self.sampled_bandwidth_hz,
            "ramp_bandwidth_hz": self.ramp_bandwidth_hz,
            "num_adc_samples": self.profile.num_adc_samples,
            "sample_rate_hz": self.profile.sample_rate_hz,
            "complex_sampling": self.receiver.complex_sampling,
            "range_resolution_m": self.range_resolution_m,
            "max_range_m": self.max_range_m,
            "num_tx": len(self.antennas.tx_positions_m),
            "num_rx": len(self.antennas.rx_positions_m),
            "chirps_per_loop": self.chirps_per_loop,
            "num_loops": self.frame.num_loops,
            "num_virtual": self.chirps_per_loop * len(self.antennas.rx_positions_m),
            "num_azimuth_virtual": n_az,
            "chirp_time_s": self.chirp_time_s,
            "loop_time_s": self.loop_time_s,
            "max_velocity_mps": self.max_velocity_mps,
            "velocity_resolution_mps": self.velocity_resolution_mps,
            "azimuth_resolution_rad": self.azimuth_resolution_rad,
            "azimuth_resolution_deg": math.degrees(self.azimuth_resolution_rad),
            "frame_period_s": self.frame.frame_period_s,
            "frame_rate_hz": self.frame_rate_hz,
            "active_frame_time_s": self.active_frame_time_s,
            "duty_cycle": self.duty_cycle,
            "noise_power_dbm": 10 * math.log10(self.noise_power_w * 1e3),
            "snr_1m2_at_5m_per_sample_db": self.snr_db(5.0, 1.0),
        }


def validate(cfg: RadarConfig) -> None:
    """Raise :class:`RadarConfigError` naming the first violated constraint."""
    p, fr, dev = cfg.profile, cfg.frame, cfg.device
    n_tx = len(cfg.antennas.tx_positions_m)
    n_rx = len(cfg.antennas.rx_positions_m)

    def need(ok: bool, constraint: str) -> None:
        if not ok:
            raise RadarConfigError(f"radar '{cfg.name}': {constraint}")

    need(p.num_adc_samples >= 2, f"num_adc_samples must be >= 2, got {p.num_adc_samples}")
    need(p.sample_rate_hz > 0, f"ADC sample rate must be positive, got {p.sample_rate_hz} Hz")
    need(p.slope_hz_per_s > 0, f"frequency slope must be positive, got {p.slope_hz_per_s} Hz/s")
    need(p.ramp_end_time_s > 0, "ramp end time must be positive")
    need(p.idle_time_s >= 0 and p.adc_start_time_s >= 0, "idle and ADC start times must be >= 0")
    need(
        p.sample_rate_hz <= dev.max_sample_rate_hz,
        f"ADC sample rate {p.sample_rate_hz / 1e6:.3f} Msps exceeds the {dev.name} limit of "
        f"{dev.max_sample_rate_hz / 1e6:.3f} Msps",
    )
    need(
        p.slope_hz_per_s <= dev.max_slope_hz_per_s,
        f"slope {p.slope_hz_per_s / 1e12:.3f} MHz/us exceeds the {dev.name} limit of "
        f"{dev.max_slope_hz_per_s / 1e12:.3f} MHz/us",
    )
    sampling_end = p.adc_start_time_s + p.num_adc_samples / p.sample_rate_hz
    need(
        sampling_end <= p.ramp_end_time_s * (1 + 1e-9),
        f"ramp too short for the ADC samples: ADC start {p.adc_start_time_s * 1e6:.2f} us + "
        f"{p.num_adc_samples} samples / {p.sample_rate_hz / 1e6:.3f} Msps = "
        f"{sampling_end * 1e6:.2f} us > ramp end {p.ramp_end_time_s * 1e6:.2f} us",
    )
    need(
        dev.min_freq_hz <= p.start_freq_hz <= dev.max_freq_hz,
        f"start frequency {p.start_freq_hz / 1e9:.3f} GHz is outside the {dev.name} band "
        f"{dev.min_freq_hz / 1e9:.1f}-{dev.max_freq_hz / 1e9:.1f} GHz",
    )
    bandwidth = p.slope_hz_per_s * p.ramp_end_time_s
    need(
        bandwidth <= dev.max_bandwidth_hz * (1 + 1e-9),
        f"bandwidth {bandwidth / 1e9:.3f} GHz (slope x ramp end) exceeds the {dev.name} limit "
        f"of {dev.max_bandwidth_hz / 1e9:.3f} GHz",
    )
    need(
        p.start_freq_hz + bandwidth <= dev.max_freq_hz * (1 + 1e-9),
        f"the ramp ends at {(p.start_freq_hz + bandwidth) / 1e9:.3f} GHz, above the {dev.name} "
        f"band edge {dev.max_freq_hz / 1e9:.1f} GHz",
    )
    need(n_tx >= 1 and n_rx >= 1, "the antenna array needs at least one TX and one RX")
    need(n_tx <= dev.num_tx, f"{n_tx} TX antennas but the {dev.name} has {dev.num_tx}")
    need(n_rx <= dev.num_rx, f"{n_rx} RX antennas but the {dev.name} has {dev.num_rx}")
    need(len(fr.chirp_tx) >= 1, "a loop needs at least one chirp")
    for k, ids in enumerate(fr.chirp_tx):
        need(len(ids) >= 1, f"chirp {k} of the loop enables no TX antenna")
        bad = [i for i in ids if not 0 <= i < n_tx]
        need(not bad, f"chirp {k} uses TX {bad}, but only TX 0..{n_tx - 1} exist")
    need(fr.num_loops >= 1, f"num_loops must be >= 1, got {fr.num_loops}")
    need(fr.num_frames >= 0, f"num_frames must be >= 0, got {fr.num_frames}")
    active = fr.num_loops * len(fr.chirp_tx) * (p.idle_time_s + p.ramp_end_time_s)
    need(
        active <= fr.frame_period_s * (1 + 1e-9),
        f"frame shorter than its chirps: {fr.num_loops} loops x {len(fr.chirp_tx)} chirps x "
        f"{(p.idle_time_s + p.ramp_end_time_s) * 1e6:.2f} us = {active * 1e3:.3f} ms > frame "
        f"period {fr.frame_period_s * 1e3:.3f} ms",
    )
    r = cfg.receiver
    need(r.adc_bits >= 0 and r.adc_full_scale_v > 0, "ADC bits must be >= 0, full scale > 0")
    need(r.load_ohm > 0 and r.temperature_k > 0, "load impedance and temperature must be > 0")


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, float) and math.isinf(value):
        return "inf" if value > 0 else "-inf"
    return value


def _from_dict(cls: type, data: Any, where: str) -> Any:
    if not isinstance(data, dict):
        raise RadarConfigError(f"{where}: expected an object, got {type(data).__name__}")
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - set(fields))
    if unknown:
        raise RadarConfigError(f"{where}: unknown field(s) {unknown}")
    kwargs = {}
    for name, f in fields.items():
        if name not in data:
            if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
                raise RadarConfigError(f"{where}: missing field '{name}'")
            continue
        sub = _NESTED.get(f.type if isinstance(f.type, str) else f.type.__name__)
        kwargs[name] = (
            _from_dict(sub, data[name], f"{where}.{name}") if sub else _tuplify(data[name])
        )
    try:
        return cls(**kwargs)
    except TypeError as exc:
        raise RadarConfigError(f"{where}: {exc}") from exc


def _tuplify(value: Any) -> Any:
    if isinstance(value, list):
        return tuple(_tuplify(v) for v in value)
    if value in ("inf", "-inf"):
        return float(value)
    return value


_NESTED: dict[str, type] = {
    "ChirpProfile": ChirpProfile,
    "FrameConfig": FrameConfig,
    "AntennaArray": AntennaArray,
    "ReceiverConfig": ReceiverConfig,
    "DeviceLimits": DeviceLimits,
    "ChainSettings": ChainSettings,
    "Pose": Pose,
}

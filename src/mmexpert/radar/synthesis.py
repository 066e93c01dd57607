"""FMCW synthesis: a :class:`Scene` seen by a :class:`RadarConfig` becomes a :class:`RadarCube`.

Physics (DESIGN.md section 3). For one chirp, TX antenna ``tx`` and RX antenna ``rx``:

.. math::

    s[n] = \\sum_p a_p \\exp\\left(j 2\\pi \\left(f_0 \\tau_p + S \\tau_p t_n
           - \\tfrac{1}{2} S \\tau_p^2\\right)\\right), \\qquad
    t_n = t_{adc} + n / f_s, \\qquad
    \\tau_p = (|p_{tx} - tx| + |p_{rx} - rx|) / c

* Positions are evaluated at each chirp's own start time (stop-and-hop per chirp) with
  exact TDM timing (:meth:`RadarConfig.chirp_start_times_s`); times are absolute, so the
  Doppler phase is continuous across frames. A chirp whose ``chirp_tx`` entry lists
  several TX antennas sums their contributions.
* Amplitude (bistatic radar equation) [sqrt(W) at the RF input]:

  .. math::

      a = \\Gamma \\sqrt{\\frac{P_t G(u_{tx}) G(u_{rx}) \\lambda^2 \\sigma}
          {(4\\pi)^3 R_t^2 R_r^2}}

  with ``R_t = |p_tx - tx|``, ``R_r = |p_rx - rx|`` per antenna, ``G`` the element power
  gain towards the unit direction from the radar origin to the point (far-field element
  pattern, radar local frame), ``Gamma`` the wall reflection coefficient of multipath
  paths. ADC volts are ``a * radar.volts_per_sqrt_watt``.
* Noise: circular complex Gaussian of power ``noise_power_w`` per complex sample (default
  ``radar.noise_power_w = k T f_s NF``) in the same sqrt(W) units. Real-only sampling keeps
  the real part of the signal and adds real noise of variance ``noise_power_w / 2`` (the
  real part of the complex noise; same per-sample SNR).
* Quantization: I and Q rounded to ``adc_bits`` over ``+-adc_full_scale_v`` with clipping.
* Randomness: ``rng`` gives one seed per block of ``NOISE_BLOCK_CHIRPS`` chirps; each
  block's noise comes from its own generator (so worker threads draw it in parallel), and
  every method produces the same noise for the same ``rng`` state.

Methods
-------
``"exact"``
    Direct float64 evaluation of the sum for every (chirp, rx, sample, path); the reference
    (seconds per frame for a body-sized scene).
``"fast"``
    Non-uniform FFT (finufft type 1) over fast time, float32 strengths, worker threads;
    matches ``"exact"`` to ~1e-5 relative RMS. See :mod:`mmexpert.radar.synthesis_fast`.
``"torch"``
    Direct evaluation in torch on ``device`` ("cpu", "cuda"); ``method="fast"`` with a
    non-CPU device also uses it. See :mod:`mmexpert.radar.synthesis_torch`.

``mmexpert.radar.benchmark.run_synth_benchmark`` times fast against exact.

Example
-------
>>> radar = load_radar("iwr1843-udoppler")  # doctest: +SKIP
>>> scene = Scene([point_target(radar, 3.0, 0.5, 0.2)])  # doctest: +SKIP
>>> cube = simulate(radar, scene, 4, np.random.default_rng(0))  # doctest: +SKIP
>>> cube.adc.shape  # doctest: +SKIP
(4, 128, 1, 4, 256)
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from mmexpert.constants import SPEED_OF_LIGHT_MPS
from mmexpert.radar.config import RadarConfig
from mmexpert.radar.cube import RadarCube
from mmexpert.radar.scene import PathGeometry, Scene, SceneError
from mmexpert.radar.synthesis_fast import CHIRPS_PER_BLOCK as NOISE_BLOCK_CHIRPS


class SynthesisError(ValueError):
    """Invalid synthesis request (bad arguments, unknown method or device)."""


METHODS = ("fast", "exact", "torch")


@dataclass(frozen=True)
class SynthesisOptions:
    """How to synthesize (everything except the radar, the scene and the randomness)."""

    method: str = "fast"  # "fast" (NUFFT), "exact" (float64 reference) or "torch"
    noise: bool = True  # add receiver thermal noise
    noise_power_w: float | None = None  # per complex sample at the RF input [W]; None: radar's
    quantize: bool = True  # ADC quantization when radar.receiver.adc_bits > 0
    first_frame_s: float = 0.0  # start time of the first frame [s]
    device: str = "cpu"  # torch device for method "torch" ("cpu" or "cuda")
    num_threads: int = 2  # worker threads of the fast method

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise SynthesisError(f"unknown synthesis method {self.method!r}; use one of {METHODS}")
        if self.noise_power_w is not None and not (
            math.isfinite(self.noise_power_w) and self.noise_power_w >= 0
        ):
            raise SynthesisError(f"noise_power_w must be finite and >= 0, got {self.noise_power_w}")
        if not math.isfinite(self.first_frame_s):
            raise SynthesisError("first_frame_s must be finite")
        if self.num_threads < 1:
            raise SynthesisError(f"num_threads must be >= 1, got {self.num_threads}")


def simulate(
    radar: RadarConfig,
    scene: Scene,
    num_frames: int,
    rng: np.random.Generator | None = None,
    *,
    method: str = "fast",
    noise: bool = True,
    noise_power_w: float | None = None,
    quantize: bool = True,
    first_frame_s: float = 0.0,
    device: str = "cpu",
    num_threads: int = 2,
) -> RadarCube:
    """Synthesize the raw ADC cube that ``radar`` records from ``scene``.

    Parameters
    ----------
    radar : RadarConfig
        Chirp profile, frame, antennas, receiver and pose.
    scene : Scene
        Scatterers and walls (world frame).
    num_frames : int
        Frames to synthesize (>= 1).
    rng : numpy.random.Generator, optional
        Source of the receiver noise; a fresh unseeded generator when None (pass one for
        reproducible cubes).
    method : {"fast", "exact", "torch"}
        Algorithm (see the module docstring). ``device="cuda"`` with ``"fast"`` uses torch.
    noise : bool
        Add thermal noise.
    noise_power_w : float, optional
        Noise power per complex sample at the RF input [W]; default ``radar.noise_power_w``.
        Use it to set an SNR.
    quantize : bool
        Quantize to ``radar.receiver.adc_bits`` (no effect when adc_bits is 0).
    first_frame_s : float
        Absolute start time of the first frame [s].
    device : str
        Torch device ("cpu", "cuda") for the torch method.
    num_threads : int
        Worker threads of the fast method.

    Returns
    -------
    RadarCube
        ``adc``: complex64 [frames, loops, chirps_per_loop, rx, samples] [V];
        ``noise_power_w``: the noise power used [W] (0 without noise).
    """
    options = SynthesisOptions(
        method=method,
        noise=noise,
        noise_power_w=noise_power_w,
        quantize=quantize,
        first_frame_s=first_frame_s,
        device=device,
        num_threads=num_threads,
    )
    return synthesize(radar, scene, num_frames, options, rng)


def synthesize(
    radar: RadarConfig,
    scene: Scene,
    num_frames: int,
    options: SynthesisOptions,
    rng: np.random.Generator | None = None,
) -> RadarCube:
    """:func:`simulate` with the settings in a :class:`SynthesisOptions`."""
    if not isinstance(radar, RadarConfig):
        raise SynthesisError(f"radar must be a RadarConfig, got {type(radar).__name__}")
    if not isinstance(scene, Scene):
        raise SynthesisError(f"scene must be a Scene, got {type(scene).__name__}")
    if isinstance(num_frames, bool) or not isinstance(num_frames, int | np.integer):
        raise SynthesisError(f"num_frames must be an integer, got {num_frames!r}")
    if num_frames < 1:
        raise SynthesisError(f"num_frames must be >= 1, got {num_frames}")
    chirp_times = radar.chirp_start_times_s(int(num_frames), options.first_frame_s)
    noise_power = (
        (radar.noise_power_w if options.noise_power_w is None else options.noise_power_w)
        if options.noise
        else 0.0
    )
    if rng is None:
        rng = np.random.default_rng()
    shape = (*chirp_times.shape, len(radar.antennas.rx_positions_m), radar.profile.num_adc_samples)
    noise_seeds = draw_noise_seeds(radar, shape, noise_power, rng)
    receiver = _Receiver(radar, noise_seeds, noise_power, options.quantize)
    if options.method == "fast" and options.device == "cpu":
        from mmexpert.radar.synthesis_fast import beat_signal_fast

        _check_times(radar, chirp_times)
        # The receiver runs on each block of chirps inside the worker threads.
        adc = beat_signal_fast(radar, scene, chirp_times, options, finish_block=receiver.apply)
    else:
        adc = beat_signal(radar, scene, chirp_times, options).astype(np.complex64)
        receiver.apply(adc.reshape(-1, *shape[-2:]), np.arange(int(np.prod(shape[:3]))))
    frame_times = chirp_times[:, 0, 0].copy()
    return RadarCube(adc=adc, config=radar, frame_times_s=frame_times, noise_power_w=noise_power)


def beat_signal(
    radar: RadarConfig,
    scene: Scene,
    chirp_times_s: np.ndarray,
    options: SynthesisOptions | None = None,
) -> np.ndarray:
    """Noise-free complex beat signal at the RF input.

    Parameters
    ----------
    radar : RadarConfig
    scene : Scene
    chirp_times_s : float64 [frames, loops, chirps_per_loop]
        Chirp start times [s] (normally :meth:`RadarConfig.chirp_start_times_s`).
    options : SynthesisOptions, optional
        Method and device (defaults: fast on CPU).

    Returns
    -------
    complex [frames, loops, chirps_per_loop, rx, samples] [sqrt(W)]; complex128 for
    "exact", complex64 for "fast" and "torch".
    """
    options = options or SynthesisOptions()
    _check_times(radar, chirp_times_s)
    method = options.method
    if method == "fast" and options.device != "cpu":
        method = "torch"
    backend = _backend(method)
    return backend(radar, scene, chirp_times_s, options)


def _check_times(radar: RadarConfig, chirp_times_s: np.ndarray) -> None:
    expected = (radar.frame.num_loops, radar.chirps_per_loop)
    if chirp_times_s.ndim != 3 or chirp_times_s.shape[1:] != expected:
        raise SynthesisError(
            f"chirp_times_s must have shape [frames, {expected[0]}, {expected[1]}], "
            f"got {chirp_times_s.shape}"
        )


def _backend(method: str) -> Callable[..., np.ndarray]:
    if method == "exact":
        return _beat_signal_exact
    if method == "fast":
        from mmexpert.radar.synthesis_fast import beat_signal_fast

        return beat_signal_fast
    if method == "torch":
        from mmexpert.radar.synthesis_torch import beat_signal_torch

        return beat_signal_torch
    raise SynthesisError(f"unknown synthesis method {method!r}; use one of {METHODS}")


# ---------------------------------------------------------------- shared geometry
@dataclass(frozen=True)
class AntennaGeometry:
    """Antenna positions in the world frame and the amplitude constant.

    Attributes
    ----------
    tx_m : float64 [tx, 3]; rx_m : float64 [rx, 3]
        World positions [m].
    origin_m : float64 [3]
        Radar origin in the world [m] (reference for the element-pattern direction).
    amplitude_sqrt_w_m2 : float
        ``sqrt(Pt lambda^2 / (4 pi)^3)`` [sqrt(W) m]; times sqrt(sigma G_t G_r)/(R_t R_r).
    """

    tx_m: np.ndarray
    rx_m: np.ndarray
    origin_m: np.ndarray
    amplitude_sqrt_w_m2: float

    @classmethod
    def of(cls, radar: RadarConfig) -> AntennaGeometry:
        """World antenna geometry of ``radar`` (its pose applied)."""
        lam = radar.wavelength_m
        return cls(
            tx_m=radar.pose.to_world(radar.antennas.tx),
            rx_m=radar.pose.to_world(radar.antennas.rx),
            origin_m=np.asarray(radar.pose.position_m, dtype=np.float64),
            amplitude_sqrt_w_m2=math.sqrt(radar.receiver.tx_power_w * lam**2 / (4 * math.pi) ** 3),
        )


def sqrt_element_gain(radar: RadarConfig, points_m: np.ndarray) -> np.ndarray:
    """Amplitude pattern sqrt(G) towards world points, seen from the radar origin.

    Parameters
    ----------
    points_m : float64 [..., 3]
        World positions [m].

    Returns
    -------
    float64 [...]: sqrt of the linear element power gain.
    """
    local = radar.pose.to_local(points_m)
    norm = np.linalg.norm(local, axis=-1, keepdims=True)
    if np.any(norm == 0):
        raise SceneError("a scatterer sits exactly at the radar origin")
    return np.sqrt(radar.antennas.element_gain(local / norm))


def path_geometry(radar: RadarConfig, scene: Scene, times_s: np.ndarray) -> PathGeometry:
    """Paths of ``scene`` at ``times_s`` [T] with the radar's position as the front side."""
    return scene.paths_at(times_s, np.asarray(radar.pose.position_m, dtype=np.float64))


# ---------------------------------------------------------------- exact reference
_EXACT_CHUNK_ELEMENTS = 1 << 21  # complex128 phase elements per chunk (32 MiB)


def _beat_signal_exact(
    radar: RadarConfig,
    scene: Scene,
    chirp_times_s: np.ndarray,
    options: SynthesisOptions,
) -> np.ndarray:
    """Direct float64 evaluation; complex128 [frames, loops, chirps_per_loop, rx, samples]."""
    del options
    antennas = AntennaGeometry.of(radar)
    f0 = radar.profile.start_freq_hz
    slope = radar.profile.slope_hz_per_s
    t_n = radar.adc_sample_times_s()  # [N]
    num_frames, num_loops, num_chirps = chirp_times_s.shape
    num_rx, num_samples = antennas.rx_m.shape[0], t_n.size
    out = np.zeros((num_frames, num_loops, num_chirps, num_rx, num_samples), np.complex128)
    for frame in range(num_frames):
        geometry = path_geometry(radar, scene, chirp_times_s[frame].reshape(-1))
        if geometry.num_paths == 0:
            continue
        if not np.all(np.isfinite(geometry.points_m)):
            raise SceneError("scatterer positions became non-finite")
        gain = sqrt_element_gain(radar, geometry.points_m)  # [C, U]
        path_amplitude = np.sqrt(geometry.rcs_m2) * geometry.reflection  # [C, Q]
        per_chirp = max(1, _EXACT_CHUNK_ELEMENTS // (num_rx * num_samples * geometry.num_paths))
        per_path = max(1, _EXACT_CHUNK_ELEMENTS // (num_rx * num_samples))
        for k, tx_ids in enumerate(radar.frame.chirp_tx):
            for loop_start in range(0, num_loops, per_chirp):
                loops = np.arange(loop_start, min(num_loops, loop_start + per_chirp))
                chirp_index = loops * num_chirps + k  # rows of the flattened [L*K] times
                for q0 in range(0, geometry.num_paths, max(1, per_path // loops.size)):
                    q = slice(q0, q0 + max(1, per_path // loops.size))
                    tx_point = geometry.points_m[chirp_index][:, geometry.tx_point[q]]
                    rx_point = geometry.points_m[chirp_index][:, geometry.rx_point[q]]
                    gain_tx = gain[chirp_index][:, geometry.tx_point[q]]  # [c, q]
                    gain_rx = gain[chirp_index][:, geometry.rx_point[q]]
                    range_rx = np.linalg.norm(
                        rx_point[:, :, None, :] - antennas.rx_m, axis=-1
                    )  # [c, q, R]
                    for tx in tx_ids:
                        range_tx = np.linalg.norm(tx_point - antennas.tx_m[tx], axis=-1)
                        tau = (range_tx[..., None] + range_rx) / SPEED_OF_LIGHT_MPS
                        amplitude = (
                            antennas.amplitude_sqrt_w_m2
                            * path_amplitude[chirp_index][:, q, None]
                            * (gain_tx / range_tx)[..., None]
                            * gain_rx[..., None]
                            / range_rx
                        )  # [c, q, R]
                        cycles = (
                            f0 * tau[..., None]
                            + slope * tau[..., None] * t_n
                            - 0.5 * slope * tau[..., None] ** 2
                        )  # [c, q, R, N]
                        tones = np.exp(2j * np.pi * cycles)
                        out[frame, loops, k] += np.einsum("cqr,cqrn->crn", amplitude, tones)
    return out


# ---------------------------------------------------------------- receiver
def receive(
    radar: RadarConfig,
    signal_sqrt_w: np.ndarray,
    noise_power_w: float,
    rng: np.random.Generator,
    *,
    quantize: bool = True,
) -> np.ndarray:
    """Receiver chain: real/complex sampling, thermal noise, voltage gain, ADC.

    Parameters
    ----------
    radar : RadarConfig
    signal_sqrt_w : complex [frames, loops, chirps_per_loop, rx, samples]
        Noise-free beat signal at the RF input [sqrt(W)].
    noise_power_w : float
        Noise power per complex sample at the RF input [W] (0: no noise).
    rng : numpy.random.Generator
        Noise source (drawn exactly as :func:`simulate` draws it).
    quantize : bool
        Apply ADC quantization when ``radar.receiver.adc_bits > 0``.

    Returns
    -------
    complex64 [frames, loops, chirps_per_loop, rx, samples]: ADC samples [V] (zero
    imaginary part for real-only sampling).
    """
    adc = np.array(signal_sqrt_w, dtype=np.complex64)
    noise_seeds = draw_noise_seeds(radar, adc.shape, noise_power_w, rng)
    chirps = int(np.prod(adc.shape[:-2]))
    _Receiver(radar, noise_seeds, noise_power_w, quantize).apply(
        adc.reshape(chirps, *adc.shape[-2:]), np.arange(chirps)
    )
    return adc


def draw_noise_seeds(
    radar: RadarConfig, shape: tuple[int, ...], noise_power_w: float, rng: np.random.Generator
) -> np.ndarray | None:
    """Seeds for the receiver noise of a cube of ``shape`` [..., rx, samples].

    The noise of each block of :data:`NOISE_BLOCK_CHIRPS` consecutive chirps comes from
    its own generator seeded from ``rng``, so worker threads draw it in parallel and every
    method draws the same noise for the same ``rng`` state.

    Returns
    -------
    int64 [blocks] seeds, or None when ``noise_power_w`` is 0.
    """
    if noise_power_w <= 0:
        return None
    chirps = int(np.prod(shape[:-2]))
    num_blocks = -(-chirps // NOISE_BLOCK_CHIRPS)
    return rng.integers(0, 2**63 - 1, size=num_blocks, dtype=np.int64)


class _Receiver:
    """Applies noise, voltage gain and the ADC in place to blocks of chirps."""

    def __init__(
        self,
        radar: RadarConfig,
        noise_seeds: np.ndarray | None,
        noise_power_w: float,
        quantize: bool,
    ) -> None:
        self.complex_sampling = radar.receiver.complex_sampling
        self.noise_seeds = noise_seeds
        self.sigma = np.float32(math.sqrt(noise_power_w / 2.0))
        self.volts = np.float32(radar.volts_per_sqrt_watt)
        self.bits = radar.receiver.adc_bits if quantize else 0
        self.full_scale_v = radar.receiver.adc_full_scale_v

    def apply(self, flat_adc: np.ndarray, rows: np.ndarray) -> None:
        """Turn ``flat_adc[rows]`` (complex64 [chirps, rx, samples], sqrt(W)) into volts.

        ``rows`` are consecutive chirp indices; blocks of :data:`NOISE_BLOCK_CHIRPS`
        starting at multiples of it are processed with their own noise generator.
        """
        for start in range(int(rows[0]), int(rows[-1]) + 1, NOISE_BLOCK_CHIRPS):
            self._apply_block(flat_adc, slice(start, min(start + NOISE_BLOCK_CHIRPS, rows[-1] + 1)))

    def _apply_block(self, flat_adc: np.ndarray, block: slice) -> None:
        adc = flat_adc[block]  # view, complex64 [chirps, rx, samples]
        rails = adc.view(np.float32)  # [chirps, rx, 2 * samples]: I0, Q0, I1, Q1, ...
        if self.noise_seeds is not None:
            if block.start % NOISE_BLOCK_CHIRPS:
                raise ValueError("receiver blocks must start at multiples of NOISE_BLOCK_CHIRPS")
            generator = np.random.default_rng(self.noise_seeds[block.start // NOISE_BLOCK_CHIRPS])
            shape = adc.shape if not self.complex_sampling else rails.shape
            noise = _standard_normal_float32(generator, shape)
            noise *= self.sigma
        if not self.complex_sampling:
            adc.imag = 0.0
            if self.noise_seeds is not None:
                adc.real += noise
        elif self.noise_seeds is not None:
            rails += noise
        rails *= self.volts
        if self.bits > 0:
            _quantize_rails(rails, self.bits, self.full_scale_v)


def _standard_normal_float32(generator: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    """Standard normal float32 samples by the Box-Muller transform.

    Twice as fast as ``Generator.standard_normal`` (ziggurat) here; exact Gaussian up to the
    float32 uniforms, which cut the tails beyond 5.8 sigma (probability 1e-8).
    """
    count = math.prod(shape)
    half = (count + 1) // 2
    uniform = generator.random(2 * half, dtype=np.float32)
    radius = np.subtract(np.float32(1.0), uniform[:half], out=uniform[:half])  # (0, 1]
    np.log(radius, out=radius)
    radius *= np.float32(-2.0)
    np.sqrt(radius, out=radius)
    angle = uniform[half:]
    angle *= np.float32(2 * np.pi)
    normal = np.empty(2 * half, np.float32)
    np.cos(angle, out=normal[:half])
    np.sin(angle, out=normal[half:])
    normal[:half] *= radius
    normal[half:] *= radius
    return normal[:count].reshape(shape)


def _quantize_rails(rails_v: np.ndarray, bits: int, full_scale_v: float) -> None:
    """In-place mid-tread quantization of float32 samples [V] with clipping."""
    step = 2.0 * full_scale_v / 2**bits
    rails_v *= np.float32(1.0 / step)
    np.rint(rails_v, out=rails_v)
    np.clip(rails_v, -(2 ** (bits - 1)), 2 ** (bits - 1) - 1, out=rails_v)
    rails_v *= np.float32(step)


def quantize_adc(adc_v: np.ndarray, bits: int, full_scale_v: float) -> np.ndarray:
    """Round I and Q to ``bits`` over ``+-full_scale_v`` with clipping.

    Parameters
    ----------
    adc_v : complex64 [...]
        Samples [V].
    bits : int
        ADC resolution; the step is ``2 full_scale / 2**bits``.
    full_scale_v : float
        Peak voltage per rail [V].

    Returns
    -------
    complex64 [...]: quantized samples [V]; within range the error is at most half a step.
    """
    quantized = np.array(adc_v, dtype=np.complex64)
    _quantize_rails(quantized.view(np.float32), bits, full_scale_v)
    return quantized

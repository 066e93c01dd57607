"""Fast FMCW synthesis: one non-uniform FFT over fast time per (chirp, TX, RX).

For a fixed chirp, TX and RX the beat signal is a sum of complex exponentials in the
sample index ``n``:

.. math::

    s[n] = \\sum_q c_q e^{j n x_q}, \\quad
    x_q = 2\\pi S \\tau_q / f_s, \\quad
    c_q = a_q e^{j 2\\pi (f_c \\tau_q - S \\tau_q^2 / 2)}, \\quad
    f_c = f_0 + S (t_{adc} + \\lfloor N/2 \\rfloor / f_s)

(phase referred to the middle sample, so the modes are ``k = n - N/2``), which is exactly a
1-D type-1 NUFFT (finufft, single precision, ``eps = 1e-5``). ``x_q`` is reduced modulo
``2 pi`` (exact for integer ``n``), so targets beyond the unambiguous range alias as on the
device.

Cost structure
--------------
* Per chirp and path point, float64: the distance ``d0`` to the radar origin, the carrier
  phase ``f_c tau0`` (~1e3 cycles, reduced modulo one cycle) and the beat frequency.
* Per antenna, float32: the path-length excess ``|p - a| - d0`` (millimetres) from
  ``(|a|^2 - 2 p.a) / (d0 + |p - a|)``, for each TX and each RX separately
  (``tau_{tx,rx} = tau_tx + tau_rx``, never tx x rx); phases and beat frequencies are the
  float64 base plus a float32 increment.
* Chirps are split into blocks processed by ``num_threads`` worker threads; numpy and the
  finufft C library release the GIL. finufft is called through its C entry points
  (``setpts``/``execute`` on a reused plan) because the Python wrapper's checks cost about
  as much as the transform itself at 2,000 points. Paths hidden (RCS 0) during a whole
  block are skipped.
* What limits speed: finufft spreads ~10 ns per point here whatever its precision, and
  there are chirps x RX x paths points (1.0 M per frame for 2,000 scatterers, 128 chirps,
  4 RX), about half the time; the float32 passes over ``[chirps, rx, paths]`` and the
  geometry make the other half.

Accuracy: relative RMS error ~1e-5 against the float64 reference (finufft eps and float32
strengths), checked in ``tests/test_synthesis.py``.
"""

from __future__ import annotations

import ctypes
import math
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

import finufft
import numpy as np

from mmexpert.constants import SPEED_OF_LIGHT_MPS
from mmexpert.radar.config import RadarConfig
from mmexpert.radar.scene import Scene, SceneError

if TYPE_CHECKING:
    from mmexpert.radar.synthesis import SynthesisOptions

NUFFT_EPS = 1e-5  # finufft requested relative precision (single precision transforms)
CHIRPS_PER_BLOCK = 16  # chirps per work item and noise block: bounds memory, feeds threads


class _Nufft1D:
    """A reusable single-precision type-1 1-D finufft plan (one per worker thread).

    ``transform(x, strengths, out)`` writes ``out[k] = sum_q strengths[q] exp(i k x[q])``
    for ``k = -N/2 .. N/2 - 1``.
    """

    def __init__(self, num_modes: int) -> None:
        self._plan = finufft.Plan(
            1,
            (num_modes,),
            n_trans=1,
            eps=NUFFT_EPS,
            isign=1,
            dtype="complex64",
            nthreads=1,
            spread_sort=0,  # 1-D, 2k points: sorting costs more than it saves
        )
        self._raw = _raw_entry_points()

    def transform_many(self, x: np.ndarray, strengths: np.ndarray, out: np.ndarray) -> None:
        """Row-wise transforms: x float32 [B, Q], strengths complex64 [B, Q] -> out [B, N].

        ``out`` must be C-contiguous; ``x`` and ``strengths`` are made so if needed (numpy
        may lay out results of fancy indexing in another order).
        """
        x = np.ascontiguousarray(x, dtype=np.float32)
        strengths = np.ascontiguousarray(strengths, dtype=np.complex64)
        if not out.flags.c_contiguous:
            raise ValueError("NUFFT output buffer must be C-contiguous")
        if self._raw is None:
            for b in range(x.shape[0]):
                self.transform(x[b], strengths[b], out[b])
            return
        setpts, execute = self._raw
        inner = self._plan._inner_plan
        num_points = x.shape[1]
        x_ptr, s_ptr, o_ptr = x.ctypes.data, strengths.ctypes.data, out.ctypes.data
        for b in range(x.shape[0]):
            status = setpts(
                inner, num_points, x_ptr + 4 * b * num_points, None, None, 0, None, None, None
            )
            if (
                status != 0
                or execute(inner, s_ptr + 8 * b * num_points, o_ptr + 8 * b * out.shape[1]) != 0
            ):
                raise RuntimeError(f"finufft failed with status {status}")

    def transform(self, x: np.ndarray, strengths: np.ndarray, out: np.ndarray) -> None:
        if self._raw is None:
            self._plan.setpts(x)
            self._plan.execute(strengths, out=out)
            return
        setpts, execute = self._raw
        inner = self._plan._inner_plan
        if setpts(inner, x.size, x.ctypes.data, None, None, 0, None, None, None) != 0:
            raise RuntimeError("finufft setpts failed")
        if execute(inner, strengths.ctypes.data, out.ctypes.data) != 0:
            raise RuntimeError("finufft execute failed")


def _raw_entry_points() -> tuple[ctypes._CFuncPtr, ctypes._CFuncPtr] | None:
    """finufft's C ``setpts``/``execute`` (single precision) without the wrapper's checks.

    Returns None when this finufft build does not expose them; the public API is used then.
    """
    try:
        from finufft import _finufft

        # Item access returns fresh function objects, so finufft's own argtypes stay intact.
        setpts = _finufft.lib["finufftf_setpts"]
        execute = _finufft.lib["finufftf_execute"]
    except (ImportError, AttributeError, KeyError):
        return None
    pointer, int64 = ctypes.c_void_p, ctypes.c_int64
    setpts.argtypes = [pointer, int64, pointer, pointer, pointer, int64, pointer, pointer, pointer]
    setpts.restype = ctypes.c_int
    execute.argtypes = [pointer, pointer, pointer]
    execute.restype = ctypes.c_int
    return setpts, execute


def _fast_sqrt_gain(radar: RadarConfig, points_rel_local: np.ndarray) -> np.ndarray:
    """sqrt(G) of :meth:`AntennaArray.element_gain` via logarithms (same formula, fewer passes).

    Parameters
    ----------
    points_rel_local : float64 [..., 3]
        Points relative to the radar origin, radar local frame [m].

    Returns
    -------
    float64 [...]: amplitude pattern sqrt(G).
    """
    antennas = radar.antennas
    x, y, z = points_rel_local[..., 0], points_rel_local[..., 1], points_rel_local[..., 2]
    horizontal = x * x + y * y
    total = horizontal + z * z
    q_az = math.log(0.5) / math.log(math.cos(antennas.half_power_beamwidth_az_rad / 2))
    q_el = math.log(0.5) / math.log(math.cos(antennas.half_power_beamwidth_el_rad / 2))
    # G = G0 max(cos(az)^q_az cos(el)^q_el, floor), cos(az) = y / |(x, y)|,
    # cos(el) = |(x, y)| / |p|; so log sqrt(front) = (q_az log y^2 + (q_el - q_az) log h
    # - q_el log t) / 4 with h = x^2 + y^2, t = h + z^2.
    with np.errstate(divide="ignore", invalid="ignore"):
        log_front = np.log(y * y) * (q_az / 4)
        log_front += np.log(horizontal) * ((q_el - q_az) / 4)
        log_front -= np.log(total) * (q_el / 4)
    log_floor = 0.5 * antennas.back_lobe_db / 10 * math.log(10)
    # y <= 0: behind the radar or straight above it, the back-lobe floor.
    log_front = np.where(y > 0, log_front, log_floor)
    np.maximum(log_front, log_floor, out=log_front)
    return 10 ** (antennas.element_gain_dbi / 20) * np.exp(log_front)


def beat_signal_fast(
    radar: RadarConfig,
    scene: Scene,
    chirp_times_s: np.ndarray,
    options: SynthesisOptions,
    finish_block: Callable[[np.ndarray, np.ndarray], None] | None = None,
) -> np.ndarray:
    """Beat signal by NUFFT (noise-free unless ``finish_block`` adds the receiver).

    Parameters
    ----------
    radar : RadarConfig
    scene : Scene
    chirp_times_s : float64 [frames, loops, chirps_per_loop]
        Chirp start times [s].
    options : SynthesisOptions
        Uses ``num_threads``.
    finish_block : callable, optional
        ``finish_block(flat_out, rows)`` runs in the worker thread after each block of
        chirps ``rows`` (consecutive indices into ``flat_out``, complex64
        [chirps, rx, samples]) is synthesized; :func:`simulate` applies the receiver there.

    Returns
    -------
    complex64 [frames, loops, chirps_per_loop, rx, samples] [sqrt(W)], or whatever
    ``finish_block`` turned it into (ADC volts).
    """
    num_frames, num_loops, num_chirps = chirp_times_s.shape
    num_rx = len(radar.antennas.rx_positions_m)
    num_samples = radar.profile.num_adc_samples
    out = np.zeros((num_frames, num_loops, num_chirps, num_rx, num_samples), np.complex64)
    flat_out = out.reshape(-1, num_rx, num_samples)  # view, chirp g = (f L + l) K + k
    if scene.num_scatterers == 0:
        if finish_block is not None:
            finish_block(flat_out, np.arange(flat_out.shape[0]))
        return out
    flat_times = chirp_times_s.reshape(-1)
    synthesizer = _BlockSynthesizer(radar, scene)
    blocks = list(range(0, flat_times.size, CHIRPS_PER_BLOCK))
    num_workers = max(1, min(options.num_threads, len(blocks)))

    def worker(worker_id: int) -> None:
        plan = _Nufft1D(num_samples)
        for block_start in blocks[worker_id::num_workers]:
            rows = np.arange(block_start, min(block_start + CHIRPS_PER_BLOCK, flat_times.size))
            synthesizer.run(rows, flat_times[rows], flat_out, plan)
            if finish_block is not None:
                finish_block(flat_out, rows)

    if num_workers == 1:
        worker(0)
    else:
        with ThreadPoolExecutor(num_workers) as pool:
            list(pool.map(worker, range(num_workers)))
    return out


class _BlockSynthesizer:
    """Synthesizes blocks of chirps (flat chirp indices) into a shared output array.

    Path delays are split into a float64 part per point, twice the distance ``d0`` to the
    radar origin, and a small float32 excess per antenna,
    ``|p - a| - d0 = (|a|^2 - 2 p.a) / (d0 + |p - a|)`` (millimetres; exact, no cancellation).
    Only the ``[chirps, points]`` arrays need float64; the ``[chirps, rx, paths]`` arrays are
    float32. Dropped term: ``S delta^2 / (2 c^2)`` in the carrier phase (delta the excess
    path length), below 1e-7 cycles for antenna offsets of centimetres.
    """

    def __init__(self, radar: RadarConfig, scene: Scene) -> None:
        from mmexpert.radar.synthesis import AntennaGeometry

        antennas = AntennaGeometry.of(radar)
        self.radar = radar
        self.scene = scene
        self.origin = antennas.origin_m
        self.rotation = radar.pose.rotation
        self.amplitude = antennas.amplitude_sqrt_w_m2
        self.tx_rel = (antennas.tx_m - self.origin).astype(np.float32)  # [TX, 3]
        self.rx_rel = (antennas.rx_m - self.origin).astype(np.float32)  # [R, 3]
        profile = radar.profile
        self.num_samples = profile.num_adc_samples
        self.slope = profile.slope_hz_per_s
        centre_time = profile.adc_start_time_s + (self.num_samples // 2) / profile.sample_rate_hz
        self.centre_freq = profile.start_freq_hz + self.slope * centre_time  # f_c [Hz]
        self.beat_cycles_per_sample_per_s = self.slope / profile.sample_rate_hz
        self.chirp_tx = radar.frame.chirp_tx

    def run(
        self, rows: np.ndarray, times_s: np.ndarray, flat_out: np.ndarray, plan: _Nufft1D
    ) -> None:
        """Add the chirps ``rows`` (start times ``times_s`` [c]) into ``flat_out[rows]``."""
        from mmexpert.radar.synthesis import path_geometry

        c0 = SPEED_OF_LIGHT_MPS
        geometry = path_geometry(self.radar, self.scene, times_s)
        geometry = geometry.subset(np.flatnonzero(np.any(geometry.rcs_m2 > 0, axis=0)))
        if geometry.num_paths == 0:
            return  # every path hidden during these chirps: the output stays zero
        points_rel = geometry.points_m - self.origin  # [c, U, 3] float64
        range0 = np.sqrt(np.square(points_rel) @ np.ones(3))  # [c, U]
        if not np.all(range0 > 0):
            raise SceneError(
                "a scatterer sits exactly at the radar origin or has a non-finite position"
            )
        points32 = points_rel.astype(np.float32)
        range32 = range0.astype(np.float32)
        local = (points32.reshape(-1, 3) @ self.rotation.astype(np.float32)).reshape(points32.shape)
        sqrt_gain = _fast_sqrt_gain(self.radar, local)  # [c, U]
        excess_rx, distance_rx = self._excess(points32, range32, self.rx_rel)  # [c, R, U] [m]
        tx_used = sorted({tx for ids in self.chirp_tx for tx in ids})
        excess_tx, distance_tx = self._excess(points32, range32, self.tx_rel[tx_used])
        tx_slot = {tx: slot for slot, tx in enumerate(tx_used)}

        tx_point, rx_point = geometry.tx_point, geometry.rx_point
        direct_only = np.array_equal(tx_point, rx_point) and np.array_equal(
            tx_point, np.arange(range0.shape[1])
        )
        if direct_only:
            tau0 = range0 * (2 / c0)  # [c, Q] [s]
        else:
            tau0 = (range0[:, tx_point] + range0[:, rx_point]) / c0
            excess_rx = excess_rx[:, :, rx_point]
            distance_rx = distance_rx[:, :, rx_point]
        carrier0 = _wrapped_radians(tau0 * (self.centre_freq - 0.5 * self.slope * tau0))
        beat0 = _wrapped_radians(tau0 * self.beat_cycles_per_sample_per_s)  # [rad / sample]
        two_pi = 2 * np.pi
        # d(carrier)/d(path length) = (f_c - S tau0) / c per path [rad/m]
        carrier_rad_per_m = (two_pi / c0 * (self.centre_freq - self.slope * tau0)).astype(
            np.float32
        )  # [c, Q]
        beat_rad_per_m = np.float32(two_pi * self.beat_cycles_per_sample_per_s / c0)
        path_scale = self.amplitude * np.sqrt(geometry.rcs_m2)  # [c, Q]
        if direct_only:
            path_scale = (path_scale * sqrt_gain * sqrt_gain).astype(np.float32)
        else:
            path_scale = path_scale * geometry.reflection * sqrt_gain[:, tx_point]
            path_scale = (path_scale * sqrt_gain[:, rx_point]).astype(np.complex64)
        tx_of_row = [self.chirp_tx[row % len(self.chirp_tx)] for row in rows]
        for emission in range(max(len(ids) for ids in tx_of_row)):
            # Rows whose chirp has an emission-th TX; all rows in the usual TDM case.
            chosen = np.array([i for i, ids in enumerate(tx_of_row) if len(ids) > emission])
            slots = np.array([tx_slot[tx_of_row[i][emission]] for i in chosen])
            every_row = chosen.size == rows.size

            def pick(array: np.ndarray, chosen: np.ndarray = chosen, every: bool = every_row):
                return array if every else array[chosen]

            excess_t = excess_tx[chosen, slots]  # [s, U] [m]
            distance_t = distance_tx[chosen, slots]  # [s, U] [m]
            if not direct_only:
                excess_t = excess_t[:, tx_point]
                distance_t = distance_t[:, tx_point]
            # Per-path parts first ([s, Q]); then the few float32 passes over [s, R, Q], the
            # hot spot after finufft.
            slope_rad = pick(carrier_rad_per_m)
            phase_base = pick(carrier0) + slope_rad * excess_t  # [s, Q] [rad]
            beat_base = pick(beat0) + beat_rad_per_m * excess_t  # [s, Q] [rad / sample]
            tx_part = pick(path_scale) / distance_t  # [s, Q]
            rx_excess = pick(excess_rx)
            x = np.multiply(rx_excess, beat_rad_per_m)
            x += beat_base[:, None, :]  # [s, R, Q] [rad / sample]
            phase = np.multiply(rx_excess, slope_rad[:, None, :])
            phase += phase_base[:, None, :]  # [s, R, Q] [rad]
            amplitude = np.divide(tx_part[:, None, :], pick(distance_rx))  # [s, R, Q]
            strengths = np.empty(x.shape, np.complex64)
            if direct_only:
                cosine = np.cos(phase)
                cosine *= amplitude
                np.sin(phase, out=phase)
                phase *= amplitude
                strengths.real = cosine
                strengths.imag = phase
            else:
                np.multiply(amplitude, np.cos(phase) + 1j * np.sin(phase), out=strengths)
            for j, i in enumerate(chosen):
                if emission == 0:
                    plan.transform_many(x[j], strengths[j], flat_out[rows[i]])
                else:
                    scratch = np.empty_like(flat_out[rows[i]])
                    plan.transform_many(x[j], strengths[j], scratch)
                    flat_out[rows[i]] += scratch

    @staticmethod
    def _excess(
        points32: np.ndarray, range32: np.ndarray, antennas32: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Distances from points to antennas near the origin.

        Returns
        -------
        excess : float32 [c, A, U]
            ``|p - a| - |p|`` [m], as ``(|a|^2 - 2 p.a) / (|p| + |p - a|)`` (no cancellation).
        distance : float32 [c, A, U]
            ``|p - a|`` [m].
        """
        cross = np.matmul(antennas32, points32.transpose(0, 2, 1))  # [c, A, U]
        numerator = np.multiply(cross, np.float32(-2.0), out=cross)
        numerator += np.einsum("ai,ai->a", antennas32, antennas32)[None, :, None]
        distance = np.add(numerator, (range32 * range32)[:, None, :])
        np.sqrt(distance, out=distance)
        denominator = np.add(distance, range32[:, None, :])
        return np.divide(numerator, denominator, out=numerator), distance


_ROUNDING_MAGIC = 1.5 * 2.0**52  # adding and subtracting it rounds a float64 to an integer


def _wrapped_radians(cycles: np.ndarray) -> np.ndarray:
    """float64 cycles (|v| < 2**51) -> float32 radians in [-pi, pi] (np.rint is slower)."""
    rounded = cycles + _ROUNDING_MAGIC
    rounded -= _ROUNDING_MAGIC
    np.subtract(cycles, rounded, out=rounded)
    return np.multiply(
        rounded, 2 * np.pi, out=np.empty(cycles.shape, np.float32), casting="same_kind"
    )

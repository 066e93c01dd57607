"""Torch backend of the FMCW synthesis: direct evaluation of the beat-signal sum.

Same physics and geometry as the exact reference (:mod:`mmexpert.radar.synthesis`), with
the ``[chirps, rx, paths, samples]`` tone tensor evaluated by torch on ``device`` ("cpu",
"cuda", "cuda:1" ...). Phases are reduced modulo one cycle in float64 and the tones summed
in complex64, so the result matches the float64 reference to ~1e-6 relative RMS. There is
no NUFFT here: on a GPU the direct sum (P x chirps x RX x samples tones) is fast enough, on
a CPU the ``"fast"`` method is the one to use.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from mmexpert.constants import SPEED_OF_LIGHT_MPS
from mmexpert.radar.config import RadarConfig
from mmexpert.radar.scene import Scene

if TYPE_CHECKING:
    from mmexpert.radar.synthesis import SynthesisOptions

TONES_PER_CHUNK = 1 << 23  # elements of the [chirps, rx, paths, samples] tensor per chunk


def beat_signal_torch(
    radar: RadarConfig,
    scene: Scene,
    chirp_times_s: np.ndarray,
    options: SynthesisOptions,
) -> np.ndarray:
    """Noise-free beat signal evaluated with torch.

    Parameters
    ----------
    radar : RadarConfig
    scene : Scene
    chirp_times_s : float64 [frames, loops, chirps_per_loop]
        Chirp start times [s].
    options : SynthesisOptions
        Uses ``device``.

    Returns
    -------
    complex64 [frames, loops, chirps_per_loop, rx, samples] [sqrt(W)] (numpy, on the host).
    """
    from mmexpert.radar.synthesis import (
        AntennaGeometry,
        SynthesisError,
        path_geometry,
        sqrt_element_gain,
    )

    try:
        import torch
    except ImportError as exc:
        raise SynthesisError("the torch synthesis backend needs torch installed") from exc
    try:
        device = torch.device(options.device)
    except RuntimeError as exc:
        raise SynthesisError(f"unknown torch device {options.device!r}") from exc
    if device.type == "cuda" and not torch.cuda.is_available():
        raise SynthesisError(f"device {options.device!r} requested but CUDA is not available")

    antennas = AntennaGeometry.of(radar)
    profile = radar.profile
    slope = profile.slope_hz_per_s
    num_samples = profile.num_adc_samples
    centre_time = profile.adc_start_time_s + (num_samples // 2) / profile.sample_rate_hz
    centre_freq = profile.start_freq_hz + slope * centre_time
    modes = torch.arange(num_samples, device=device, dtype=torch.float64) - num_samples // 2
    num_frames, num_loops, num_chirps = chirp_times_s.shape
    num_rx = antennas.rx_m.shape[0]
    out = torch.zeros(
        (num_frames, num_loops, num_chirps, num_rx, num_samples), dtype=torch.complex64
    )
    tx_m = torch.as_tensor(antennas.tx_m, device=device)
    rx_m = torch.as_tensor(antennas.rx_m, device=device)

    def frac(values: torch.Tensor) -> torch.Tensor:
        return values - torch.round(values)

    for frame in range(num_frames):
        geometry = path_geometry(radar, scene, chirp_times_s[frame].reshape(-1))
        if geometry.num_paths == 0:
            continue
        points = torch.as_tensor(geometry.points_m, device=device)  # [C, U, 3]
        gain = torch.as_tensor(sqrt_element_gain(radar, geometry.points_m), device=device)
        tx_point = torch.as_tensor(geometry.tx_point, device=device)
        rx_point = torch.as_tensor(geometry.rx_point, device=device)
        scale = torch.as_tensor(
            antennas.amplitude_sqrt_w_m2 * np.sqrt(geometry.rcs_m2) * geometry.reflection,
            device=device,
        )  # [C, Q] complex128
        for k, tx_ids in enumerate(radar.frame.chirp_tx):
            rows = torch.arange(num_loops, device=device) * num_chirps + k
            tx_side = points[rows][:, tx_point]  # [L, Q, 3]
            rx_side = points[rows][:, rx_point]
            range_rx = torch.linalg.vector_norm(rx_side[:, None] - rx_m[:, None, :], dim=-1)
            rx_amp = gain[rows][:, rx_point][:, None, :] / range_rx  # [L, R, Q]
            for tx in tx_ids:
                range_tx = torch.linalg.vector_norm(tx_side - tx_m[tx], dim=-1)  # [L, Q]
                tau = (range_tx[:, None, :] + range_rx) / SPEED_OF_LIGHT_MPS  # [L, R, Q]
                carrier = frac(tau * (centre_freq - 0.5 * slope * tau))  # [cycles]
                beat = frac(tau * (slope / profile.sample_rate_hz))  # [cycles / sample]
                amplitude = (scale[rows] * gain[rows][:, tx_point] / range_tx)[:, None, :] * rx_amp
                per_chunk = max(1, TONES_PER_CHUNK // (num_loops * num_rx * num_samples))
                for q0 in range(0, tau.shape[-1], per_chunk):
                    q = slice(q0, q0 + per_chunk)
                    cycles = frac(carrier[..., q, None] + beat[..., q, None] * modes)
                    tones = torch.polar(
                        torch.ones((), device=device, dtype=torch.float32),
                        (2 * math.pi * cycles).to(torch.float32),
                    )  # [L, R, q, N]
                    summed = torch.einsum(
                        "lrq,lrqn->lrn", amplitude[..., q].to(torch.complex64), tones
                    )
                    out[frame, :, k] += summed.cpu()
    return out.numpy()

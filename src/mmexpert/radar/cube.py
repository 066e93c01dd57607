"""The raw ADC cube: what a radar (simulated or real) hands to the processing chain."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mmexpert.radar.config import RadarConfig


@dataclass(frozen=True)
class RadarCube:
    """Raw ADC samples of consecutive frames.

    Attributes
    ----------
    adc : complex64 [frames, loops, tx, rx, samples]
        ADC samples [V]. The ``tx`` axis is the chirp index inside one TDM loop (chirp k
        is transmitted by the TX antennas ``config.frame.chirp_tx[k]``). Real-sampled
        captures keep a zero imaginary part.
    config : RadarConfig
        The radar that produced the samples.
    frame_times_s : float64 [frames]
        Start time of each frame [s].
    noise_power_w : float
        Thermal noise power per complex sample referred to the RF input [W]; 0 when the
        cube was simulated without noise, NaN when unknown (real captures).
    """

    adc: np.ndarray
    config: RadarConfig
    frame_times_s: np.ndarray
    noise_power_w: float = float("nan")

    def __post_init__(self) -> None:
        cfg = self.config
        expected = (
            cfg.frame.num_loops,
            cfg.chirps_per_loop,
            len(cfg.antennas.rx_positions_m),
            cfg.profile.num_adc_samples,
        )
        if self.adc.ndim != 5 or tuple(self.adc.shape[1:]) != expected:
            raise ValueError(
                f"ADC cube shape {self.adc.shape} does not match the radar config "
                f"[frames, loops={expected[0]}, tx={expected[1]}, rx={expected[2]}, "
                f"samples={expected[3]}]"
            )
        if len(self.frame_times_s) != self.adc.shape[0]:
            raise ValueError("frame_times_s must have one entry per frame")

    @property
    def num_frames(self) -> int:
        """Number of frames in the cube."""
        return int(self.adc.shape[0])

    def virtual(self) -> np.ndarray:
        """ADC samples with TX and RX merged into virtual channels.

        Returns
        -------
        complex64 [frames, loops, tx * rx, samples], channel index ``k * rx + r``.
        """
        f, lo, tx, rx, n = self.adc.shape
        return self.adc.reshape(f, lo, tx * rx, n)

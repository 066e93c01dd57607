"""Closed-form physics through the whole path, for every preset: synthesis -> device chain.

A point target must land in its range bin, Doppler bin (TDM loop time) and azimuth
(within 1 degree inside +-30 degrees); two targets 1.5 resolutions apart are resolved;
velocity beyond v_max aliases to ``v - 2 v_max``; the integrated SNR of 1 m^2 at 5 m
matches the radar equation within 1 dB; fast synthesis matches exact.
"""

import dataclasses
import math

import numpy as np
import pytest

from mmexpert.dsp.chain import ProcessingChain, ProcessingSettings
from mmexpert.radar.presets import list_presets, load_radar
from mmexpert.radar.scene import Scene, point_target
from mmexpert.radar.synthesis import simulate

PRESETS = list_presets()


def _one_frame(radar, targets, noise=False, method="exact", seed=0, quantize=True):
    scene = Scene()
    for r, v, az in targets:
        scene.add(point_target(radar, r, v, az))
    rng = np.random.default_rng(seed)
    return simulate(radar, scene, 1, rng, method=method, noise=noise, quantize=quantize)


def _strongest(points):
    assert len(points) > 0, "the chain detected nothing"
    return points[np.argmax(points["intensity"])]


def test_every_required_preset_ships():
    assert {"iwr1843-udoppler", "iwr1843-demo", "iwr1443-30fps", "iwr6843isk"} <= set(PRESETS)


@pytest.mark.parametrize("preset", PRESETS)
@pytest.mark.parametrize("azimuth_deg", [-30.0, -7.0, 0.0, 12.0, 30.0])
def test_point_target_lands_in_its_range_doppler_and_angle_bins(preset, azimuth_deg):
    radar = load_radar(preset)
    r = 0.37 * radar.max_range_m
    v = 0.43 * radar.max_velocity_mps
    cube = _one_frame(radar, [(r, v, math.radians(azimuth_deg))])
    point = _strongest(ProcessingChain()(cube).points[0])
    assert abs(point["range"] - r) <= radar.range_resolution_m
    assert abs(point["velocity"] - v) <= radar.velocity_resolution_mps
    assert abs(math.degrees(point["bearing"]) - azimuth_deg) <= 1.0


@pytest.mark.parametrize("preset", PRESETS)
def test_two_targets_one_and_a_half_range_resolutions_apart_are_resolved(preset):
    radar = load_radar(preset)
    # Quarter-bin offsets keep both peaks off the shared bin between them (a peak sitting
    # exactly on a bin next to a half-bin target would share a plateau).
    first_bin = round(0.3 * radar.max_range_m / radar.range_resolution_m)
    r1 = (first_bin + 0.25) * radar.range_resolution_m
    r2 = r1 + 1.5 * radar.range_resolution_m
    # Same slow velocity and angle: only range separates them. The targets move by
    # v * T_active / 2 (a small fraction of a bin) by mid-frame, where the FFT sees them.
    v = 3 * radar.velocity_resolution_mps
    cube = _one_frame(radar, [(r1, v, 0.0), (r2, v, 0.0)])
    settings = ProcessingSettings(range_window="rect")  # Hann would widen the main lobe 2x
    points = ProcessingChain(settings)(cube).points[0]
    shift = v * radar.active_frame_time_s / 2
    found = [
        np.min(np.abs(points["range"] - r - shift)) <= radar.range_resolution_m / 2
        for r in (r1, r2)
    ]
    assert all(found), f"ranges {sorted(points['range'])} do not resolve {r1:.3f} and {r2:.3f}"


@pytest.mark.parametrize("preset", PRESETS)
def test_velocity_beyond_vmax_aliases_as_physics_says(preset):
    radar = load_radar(preset)
    v_max = radar.max_velocity_mps
    v_true = 1.3 * v_max
    expected = v_true - 2 * v_max  # the Doppler phase per loop wraps by 2 pi
    cube = _one_frame(radar, [(0.4 * radar.max_range_m, v_true, 0.0)])
    point = _strongest(ProcessingChain()(cube).points[0])
    assert abs(point["velocity"] - expected) <= radar.velocity_resolution_mps


@pytest.mark.parametrize("preset", PRESETS)
def test_integrated_snr_of_one_square_metre_at_five_metres_matches_radar_equation(preset):
    radar = load_radar(preset)
    if radar.max_range_m <= 5.0:
        pytest.skip(f"{preset} reaches only {radar.max_range_m:.1f} m")
    # On a range-bin centre and at zero velocity, the rectangular-window FFTs put all the
    # target's energy in one cell: coherent gain N_samples * N_loops over one channel.
    r = round(5.0 / radar.range_resolution_m) * radar.range_resolution_m
    radar = dataclasses.replace(
        radar,
        receiver=dataclasses.replace(radar.receiver, adc_bits=0),
        chain=dataclasses.replace(radar.chain, clutter_removal=False),
    )
    signal = _one_frame(radar, [(r, 0.0, 0.0)]).adc[0, :, 0, 0, :]
    noise = simulate(radar, Scene(), 1, np.random.default_rng(1), noise=True).adc[0, :, 0, 0, :]
    spectrum = np.fft.fft2(signal)
    peak = np.max(np.abs(spectrum) ** 2)
    noise_floor = np.mean(np.abs(np.fft.fft2(noise)) ** 2)
    measured_db = 10 * math.log10(peak / noise_floor)
    expected_db = radar.snr_db(r, 1.0, integrated=True)
    assert measured_db == pytest.approx(expected_db, abs=1.0)


@pytest.mark.parametrize("preset", PRESETS)
def test_fast_synthesis_matches_exact(preset):
    radar = load_radar(preset)
    rng = np.random.default_rng(3)
    targets = [
        (
            rng.uniform(0.5, 0.8 * radar.max_range_m),
            rng.uniform(-1, 1) * radar.max_velocity_mps,
            rng.uniform(-1.0, 1.0),
        )
        for _ in range(20)
    ]
    # Without ADC quantization: rounding may legitimately flip an LSB between methods.
    exact = _one_frame(radar, targets, method="exact", quantize=False).adc
    fast = _one_frame(radar, targets, method="fast", quantize=False).adc
    error = np.linalg.norm(fast - exact) / np.linalg.norm(exact)
    assert error <= 1e-4

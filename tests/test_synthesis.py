"""FMCW synthesis against closed-form truth: bins, timing, phase, power, noise, ADC, multipath."""

from __future__ import annotations

import math

import numpy as np
import pytest

from mmexpert.constants import SPEED_OF_LIGHT_MPS
from mmexpert.radar.config import (
    AntennaArray,
    ChirpProfile,
    FrameConfig,
    Pose,
    RadarConfig,
    ReceiverConfig,
)
from mmexpert.radar.scene import (
    ConstantVelocityScatterers,
    Scene,
    SceneError,
    StaticReflectors,
    TrajectoryScatterers,
    Wall,
    point_target,
)
from mmexpert.radar.synthesis import SynthesisError, SynthesisOptions, beat_signal, simulate

WAVELENGTH_77GHZ_M = SPEED_OF_LIGHT_MPS / 77e9


def make_radar(
    num_tx: int = 1,
    num_loops: int = 16,
    chirp_tx: tuple[tuple[int, ...], ...] | None = None,
    tx_positions_m: tuple[tuple[float, float, float], ...] | None = None,
    receiver: ReceiverConfig | None = None,
    pose: Pose | None = None,
) -> RadarConfig:
    """An IWR1843-like radar: 77 GHz, 70 MHz/us, 256 samples at 5.209 Msps, 4 RX at lambda/2."""
    lam = WAVELENGTH_77GHZ_M
    if tx_positions_m is None:
        tx_positions_m = tuple((2 * i * lam, 0.0, 0.0) for i in range(num_tx))
    return RadarConfig(
        name="test-iwr1843",
        profile=ChirpProfile(
            start_freq_hz=77e9,
            slope_hz_per_s=70e12,
            idle_time_s=100e-6,
            adc_start_time_s=6e-6,
            ramp_end_time_s=56e-6,
            num_adc_samples=256,
            sample_rate_hz=5.209e6,
        ),
        frame=FrameConfig(
            chirp_tx=chirp_tx or tuple((i,) for i in range(len(tx_positions_m))),
            num_loops=num_loops,
            frame_period_s=20e-3,
        ),
        antennas=AntennaArray(
            tx_positions_m=tx_positions_m,
            rx_positions_m=tuple((i * lam / 2, 0.0, 0.0) for i in range(4)),
        ),
        receiver=receiver or ReceiverConfig(),
        pose=pose or Pose(),
    )


def clean(radar: RadarConfig, scene: Scene, num_frames: int = 1, method: str = "exact"):
    """Noise-free, unquantized ADC samples [V], complex64 [frames, loops, tx, rx, samples]."""
    cube = simulate(radar, scene, num_frames, method=method, noise=False, quantize=False)
    return cube.adc


def relative_rms(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.linalg.norm(a - b) / np.linalg.norm(b))


# ------------------------------------------------------------------ bins and timing
@pytest.mark.parametrize("method", ["exact", "fast"])
def test_point_target_lands_in_its_range_bin(method: str) -> None:
    radar = make_radar(num_loops=2)
    expected_bin = 80
    range_m = expected_bin * radar.range_resolution_m
    adc = clean(radar, Scene([point_target(radar, range_m, 0.0, 0.2)]), method=method)
    spectrum = np.abs(np.fft.fft(adc[0, 0, 0, 0]))
    assert int(np.argmax(spectrum)) == expected_bin
    # On-bin tone: everything else is at the numerical floor.
    assert np.sort(spectrum)[-2] < 1e-3 * spectrum.max()


@pytest.mark.parametrize("num_tx", [1, 3])
def test_doppler_bin_uses_the_tdm_loop_time(num_tx: int) -> None:
    # Delta v = lambda / (2 N_loops T_loop) with T_loop = N_tx T_chirp (not the frame period).
    radar = make_radar(num_tx=num_tx, num_loops=32)
    doppler_bin = 5
    velocity = doppler_bin * radar.velocity_resolution_mps
    range_m = 60 * radar.range_resolution_m
    adc = clean(radar, Scene([point_target(radar, range_m, velocity, 0.0)]))
    range_profile = np.fft.fft(adc[0, :, 0, 0], axis=-1)  # [loops, range bins]
    doppler = np.abs(np.fft.fft(range_profile[:, 60]))
    assert int(np.argmax(doppler)) == doppler_bin
    # Receding target (positive velocity) -> positive Doppler frequency (not bin N - 5).
    assert doppler[doppler_bin] > 10 * doppler[-doppler_bin]


def test_second_tx_chirp_phase_is_taken_at_its_own_start_time() -> None:
    # Both TX at the same place: chirp 1 differs from chirp 0 only by T_chirp of motion.
    lam = WAVELENGTH_77GHZ_M
    radar = make_radar(num_loops=1, tx_positions_m=((lam, 0.0, 0.0), (lam, 0.0, 0.0)))
    velocity = 1.3
    range_m = 50 * radar.range_resolution_m
    adc = clean(radar, Scene([point_target(radar, range_m, velocity, 0.0)]))
    peaks = np.fft.fft(adc[0, 0, :, 0], axis=-1)[:, 50]  # [chirps]
    measured = np.angle(peaks[1] / peaks[0])
    expected = 2 * np.pi * 2 * velocity * radar.chirp_time_s / radar.wavelength_m
    assert abs(np.angle(np.exp(1j * (measured - expected)))) < 2e-3


def test_doppler_phase_is_continuous_across_frames() -> None:
    radar = make_radar(num_loops=16)
    velocity = 0.7
    range_m = 70 * radar.range_resolution_m
    adc = clean(radar, Scene([point_target(radar, range_m, velocity, 0.1)]), num_frames=2)
    peaks = np.fft.fft(adc[:, :, 0, 0], axis=-1)[..., 70]  # [frames, loops]
    rate = np.angle(np.mean(peaks[0, 1:] / peaks[0, :-1])) / radar.loop_time_s  # [rad/s]
    predicted = np.angle(peaks[0, 0]) + rate * radar.frame.frame_period_s
    error = np.angle(np.exp(1j * (np.angle(peaks[1, 0]) - predicted)))
    assert abs(error) < 0.02
    # The rate itself is the closed-form Doppler 4 pi v / lambda.
    assert rate == pytest.approx(4 * np.pi * velocity / radar.wavelength_m, rel=1e-3)


def test_first_frame_time_shifts_the_motion() -> None:
    radar = make_radar(num_loops=2)
    scene = Scene([point_target(radar, 3.0, 1.0, 0.0)])
    later = simulate(radar, scene, 1, first_frame_s=0.5, method="exact", noise=False)
    both = simulate(radar, scene, 2, method="exact", noise=False)
    assert later.frame_times_s[0] == 0.5
    assert both.frame_times_s[1] == pytest.approx(radar.frame.frame_period_s)
    # After 0.5 s at 1 m/s the target is at 3.5 m.
    peak = int(np.argmax(np.abs(np.fft.fft(later.adc[0, 0, 0, 0]))))
    assert peak == round(3.5 / radar.range_resolution_m)


# ------------------------------------------------------------------ fast == exact
def random_scene(radar: RadarConfig, rng: np.random.Generator) -> Scene:
    """Moving, sampled-trajectory and static scatterers with two walls, around the radar."""
    origin = np.asarray(radar.pose.position_m)
    rotation = radar.pose.rotation

    def in_front(count: int) -> np.ndarray:
        local = rng.uniform([-2.0, 0.5, -1.0], [2.0, 6.0, 1.0], (count, 3))
        return local @ rotation.T + origin

    num = 12
    times = np.linspace(-0.05, 0.2, 6)
    start = in_front(num)
    wobble = 0.05 * np.sin(7 * times)[:, None, None] * rng.standard_normal((1, num, 3))
    trajectory = start[None] + times[:, None, None] * rng.uniform(-1.5, 1.5, (1, num, 3)) + wobble
    visible = (rng.uniform(size=(times.size, num)) > 0.2).astype(float)
    return Scene(
        [
            ConstantVelocityScatterers(in_front(num), rng.uniform(-3, 3, (num, 3)), 0.5),
            TrajectoryScatterers(times, trajectory, rng.uniform(0.01, 1.0, num), visible),
            StaticReflectors(in_front(5), rng.uniform(0.5, 5.0, 5)),
        ],
        [
            Wall(origin + rotation @ np.array([0.0, 7.0, 0.0]), rotation[:, 1], -0.6),
            Wall(origin + rotation @ np.array([2.5, 0.0, 0.0]), rotation[:, 0], 0.3 + 0.3j),
        ],
    )


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_fast_matches_exact_on_random_scenes(seed: int) -> None:
    rng = np.random.default_rng(seed)
    pose = Pose(tuple(rng.uniform(-1, 1, 3)), *rng.uniform(-0.3, 0.3, 3))
    radar = make_radar(num_tx=3, num_loops=3, chirp_tx=((0,), (1, 2), (2,)), pose=pose)
    scene = random_scene(radar, rng)
    times = radar.chirp_start_times_s(2, first_frame_s=float(rng.uniform(0, 0.1)))
    exact = beat_signal(radar, scene, times, SynthesisOptions(method="exact"))
    fast = beat_signal(radar, scene, times, SynthesisOptions(method="fast"))
    assert fast.dtype == np.complex64
    assert relative_rms(fast, exact) <= 1e-4


def test_fast_single_thread_equals_multi_thread() -> None:
    radar = make_radar(num_loops=40)
    scene = random_scene(radar, np.random.default_rng(5))
    times = radar.chirp_start_times_s(1)
    one = beat_signal(radar, scene, times, SynthesisOptions(num_threads=1))
    two = beat_signal(radar, scene, times, SynthesisOptions(num_threads=2))
    np.testing.assert_array_equal(one, two)


def test_torch_backend_on_cpu_matches_exact() -> None:
    pytest.importorskip("torch")
    rng = np.random.default_rng(3)
    radar = make_radar(num_tx=2, num_loops=2, pose=Pose((0.2, 0.1, 1.2), 0.3, -0.2, 0.0))
    scene = random_scene(radar, rng)
    times = radar.chirp_start_times_s(1)
    exact = beat_signal(radar, scene, times, SynthesisOptions(method="exact"))
    torch_cpu = beat_signal(radar, scene, times, SynthesisOptions(method="torch", device="cpu"))
    assert relative_rms(torch_cpu, exact) <= 1e-5


# ------------------------------------------------------------------ power and noise
def test_noise_power_per_sample_matches_ktbnf() -> None:
    radar = make_radar(num_loops=64)
    cube = simulate(radar, Scene(), 1, np.random.default_rng(0), quantize=False)
    measured_w = np.mean(np.abs(cube.adc) ** 2) / radar.volts_per_sqrt_watt**2
    assert cube.noise_power_w == radar.noise_power_w
    assert measured_w == pytest.approx(radar.noise_power_w, rel=0.03)
    # I and Q carry half each (circular noise).
    assert np.var(cube.adc.real) == pytest.approx(np.var(cube.adc.imag), rel=0.03)


def test_noise_power_override_sets_the_snr() -> None:
    radar = make_radar(num_loops=32)
    cube = simulate(radar, Scene(), 1, np.random.default_rng(1), noise_power_w=1e-9)
    measured_w = np.mean(np.abs(cube.adc) ** 2) / radar.volts_per_sqrt_watt**2
    assert cube.noise_power_w == 1e-9
    assert measured_w == pytest.approx(1e-9, rel=0.03)
    silent = simulate(radar, Scene(), 1, noise=False)
    assert silent.noise_power_w == 0.0
    assert not np.any(silent.adc)


def test_snr_of_one_square_metre_at_five_metres_matches_the_radar_equation() -> None:
    radar = make_radar(num_loops=32)
    signal = clean(radar, Scene([point_target(radar, 5.0, 0.0, 0.0, rcs_m2=1.0)]))
    noise = simulate(radar, Scene(), 1, np.random.default_rng(2), quantize=False).adc
    snr_db = 10 * np.log10(np.mean(np.abs(signal) ** 2) / np.mean(np.abs(noise) ** 2))
    assert snr_db == pytest.approx(radar.snr_db(5.0, 1.0), abs=0.1)


def test_amplitude_follows_r_to_the_minus_two() -> None:
    radar = make_radar(num_loops=1)
    near = clean(radar, Scene([point_target(radar, 2.0, 0.0, 0.0)]))
    far = clean(radar, Scene([point_target(radar, 4.0, 0.0, 0.0)]))
    ratio = np.sqrt(np.mean(np.abs(near) ** 2) / np.mean(np.abs(far) ** 2))
    assert ratio == pytest.approx(4.0, rel=1e-3)


# ------------------------------------------------------------------ receiver variants
def test_real_sampling_gives_a_real_signal_with_both_tones() -> None:
    radar = make_radar(num_loops=1, receiver=ReceiverConfig(complex_sampling=False))
    bin_index = 40
    range_m = bin_index * radar.range_resolution_m
    cube = simulate(radar, Scene([point_target(radar, range_m, 0.0, 0.0)]), 1, noise=False)
    assert cube.adc.dtype == np.complex64
    assert not np.any(cube.adc.imag)
    spectrum = np.abs(np.fft.fft(cube.adc[0, 0, 0, 0]))
    n = spectrum.size
    assert spectrum[bin_index] == pytest.approx(spectrum[n - bin_index], rel=1e-3)
    assert set(np.argsort(spectrum)[-2:]) == {bin_index, n - bin_index}


def test_real_sampling_noise_keeps_the_per_sample_snr() -> None:
    radar = make_radar(num_loops=64, receiver=ReceiverConfig(complex_sampling=False))
    cube = simulate(radar, Scene(), 1, np.random.default_rng(4), quantize=False)
    measured_w = np.mean(cube.adc.real**2) / radar.volts_per_sqrt_watt**2
    assert not np.any(cube.adc.imag)
    assert measured_w == pytest.approx(radar.noise_power_w / 2, rel=0.03)


def test_quantization_error_is_at_most_half_an_lsb_and_clips_at_full_scale() -> None:
    receiver = ReceiverConfig(adc_bits=8, adc_full_scale_v=0.02)
    radar = make_radar(num_loops=2, receiver=receiver)
    scene = Scene([point_target(radar, 3.0, 0.5, 0.1, rcs_m2=0.5)])
    exact = simulate(radar, scene, 1, method="exact", noise=False, quantize=False).adc
    quantized = simulate(radar, scene, 1, method="exact", noise=False, quantize=True).adc
    lsb = 2 * receiver.adc_full_scale_v / 2**receiver.adc_bits
    inside = (np.abs(exact.real) < receiver.adc_full_scale_v - lsb) & (
        np.abs(exact.imag) < receiver.adc_full_scale_v - lsb
    )
    assert inside.mean() > 0.5
    error = quantized - exact
    assert np.max(np.abs(error.real[inside])) <= lsb / 2 * (1 + 1e-5)
    assert np.max(np.abs(error.imag[inside])) <= lsb / 2 * (1 + 1e-5)
    # Values on the quantization grid, clipped to the ADC range.
    codes = quantized.real / lsb
    np.testing.assert_allclose(codes, np.round(codes), atol=1e-3)
    assert codes.max() <= 2**7 - 1 + 1e-3 and codes.min() >= -(2**7) - 1e-3
    loud = Scene([point_target(radar, 1.0, 0.0, 0.0, rcs_m2=1e6)])
    clipped = simulate(radar, loud, 1, noise=False).adc
    assert np.max(np.abs(clipped.real)) <= receiver.adc_full_scale_v


# ------------------------------------------------------------------ multipath
def test_side_wall_creates_a_ghost_at_the_bistatic_range() -> None:
    radar = make_radar(num_loops=1)
    target = StaticReflectors(np.array([[0.0, 4.0, 0.0]]), 1.0)
    wall = Wall(np.array([1.5, 0.0, 0.0]), np.array([1.0, 0.0, 0.0]), 0.7)
    # Mirror image at (3, 4, 0), 5 m away: TX->p->wall->RX and TX->wall->p->RX are both
    # (4 + 5) m long, i.e. a ghost at 4.5 m range.
    with_wall = clean(radar, Scene([target], [wall]))[0, 0, 0, 0]
    without = clean(radar, Scene([target]))[0, 0, 0, 0]
    window = np.hanning(with_wall.size)
    ghost = np.abs(np.fft.fft(with_wall * window) - np.fft.fft(without * window))
    ghost_bin = int(np.argmax(ghost))
    assert ghost_bin == round(4.5 / radar.range_resolution_m)
    direct_bin = int(np.argmax(np.abs(np.fft.fft(without * window))))
    assert direct_bin == round(4.0 / radar.range_resolution_m)


def test_scatterer_behind_a_wall_has_no_multipath() -> None:
    radar = make_radar(num_loops=1)
    target = StaticReflectors(np.array([[0.0, 4.0, 0.0]]), 1.0)
    wall = Wall(np.array([0.0, 3.0, 0.0]), np.array([0.0, 1.0, 0.0]), 0.9)
    with_wall = clean(radar, Scene([target], [wall]))
    without = clean(radar, Scene([target]))
    np.testing.assert_allclose(with_wall, without, rtol=0, atol=1e-12)


# ------------------------------------------------------------------ bad input
def test_bad_requests_raise_clear_errors() -> None:
    radar = make_radar(num_loops=1)
    scene = Scene([point_target(radar, 2.0, 0.0, 0.0)])
    with pytest.raises(SynthesisError, match="num_frames must be >= 1"):
        simulate(radar, scene, 0)
    with pytest.raises(SynthesisError, match="num_frames must be an integer"):
        simulate(radar, scene, 1.5)  # type: ignore[arg-type]
    with pytest.raises(SynthesisError, match="unknown synthesis method"):
        simulate(radar, scene, 1, method="magic")
    with pytest.raises(SynthesisError, match="noise_power_w"):
        simulate(radar, scene, 1, noise_power_w=-1.0)
    with pytest.raises(SynthesisError, match="scene must be a Scene"):
        simulate(radar, [scene], 1)  # type: ignore[arg-type]
    with pytest.raises(SceneError, match="NaN"):
        Scene([StaticReflectors(np.array([[0.0, math.nan, 1.0]]))])
    with pytest.raises(SceneError, match="last axis of length 3"):
        ConstantVelocityScatterers(np.zeros((3, 2)), np.zeros((3, 2)))
    with pytest.raises(SceneError, match="at the radar origin"):
        simulate(radar, Scene([StaticReflectors(np.zeros((1, 3)))]), 1, method="exact")


def test_same_seed_gives_the_same_noise_for_every_method() -> None:
    radar = make_radar(num_loops=20)  # 20 chirps: more than one noise block
    scene = Scene([point_target(radar, 2.0, 0.4, 0.0, rcs_m2=0.1)])
    fast = simulate(radar, scene, 2, np.random.default_rng(7), quantize=False)
    again = simulate(radar, scene, 2, np.random.default_rng(7), quantize=False)
    exact = simulate(radar, scene, 2, np.random.default_rng(7), method="exact", quantize=False)
    other = simulate(radar, scene, 2, np.random.default_rng(8), quantize=False)
    np.testing.assert_array_equal(fast.adc, again.adc)
    assert relative_rms(fast.adc, exact.adc) < 1e-4
    assert relative_rms(fast.adc, other.adc) > 0.1


def test_fast_gain_pattern_equals_the_element_gain() -> None:
    from mmexpert.radar.synthesis_fast import _fast_sqrt_gain

    radar = make_radar()
    rng = np.random.default_rng(0)
    directions = rng.normal(size=(500, 3))
    directions = np.vstack([directions, [[0, 0, 1], [0, -1, 0], [1, 0, 0], [0, 1e-3, -1]]])
    directions /= np.linalg.norm(directions, axis=-1, keepdims=True)
    expected = np.sqrt(radar.antennas.element_gain(directions))
    fast = _fast_sqrt_gain(radar, (3.0 * directions).astype(np.float32))
    np.testing.assert_allclose(fast, expected, rtol=1e-5)


def test_hidden_scatterers_contribute_nothing() -> None:
    radar = make_radar(num_loops=4)
    times = np.array([-1.0, 1.0])
    positions = np.tile(np.array([[[0.0, 3.0, 0.0], [0.5, 4.0, 0.2]]]), (2, 1, 1))
    visible = np.array([[1.0, 0.0], [1.0, 0.0]])
    hidden_second = TrajectoryScatterers(times, positions, 1.0, visible)
    first_only = TrajectoryScatterers(times, positions[:, :1], 1.0)
    for method in ("fast", "exact"):
        np.testing.assert_allclose(
            clean(radar, Scene([hidden_second]), method=method),
            clean(radar, Scene([first_only]), method=method),
            rtol=0,
            atol=1e-9,
        )
    nothing = TrajectoryScatterers(times, positions, 1.0, np.zeros((2, 2)))
    assert not np.any(clean(radar, Scene([nothing]), method="fast"))


def test_cuda_request_without_cuda_is_a_clear_error() -> None:
    torch = pytest.importorskip("torch")
    if torch.cuda.is_available():
        pytest.skip("CUDA is available here; the error path cannot be exercised")
    radar = make_radar(num_loops=1)
    scene = Scene([point_target(radar, 2.0, 0.0, 0.0)])
    with pytest.raises(SynthesisError, match="CUDA is not available"):
        simulate(radar, scene, 1, device="cuda")


def test_benchmark_runs_small_and_reports_its_figures() -> None:
    from mmexpert.radar.benchmark import run_synth_benchmark

    result = run_synth_benchmark(50, 1, exact_loops=1, repeats=1, scene_kind="trajectory")
    for key in ("realtime_factor", "fast_ms_per_frame", "exact_ms_per_frame", "threads"):
        assert result[key] > 0
    assert result["num_scatterers"] == 50
    assert result["exact_extrapolated"] is True
    assert result["rel_rms_error"] <= 1e-4
    assert result["realtime_factor"] == pytest.approx(
        result["frame_period_ms"] / result["fast_ms_per_frame"]
    )

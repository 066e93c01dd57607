"""A simulated person seen through the device chain: micro-Doppler physics.

DESIGN / issue 3: a person walking straight toward the radar at 1.2 m/s has the torso's
micro-Doppler line at -1.2 m/s (approaching; within one Doppler bin) and limbs reaching
about 2-3x that; a person standing still gives near-zero Doppler apart from breathing.
"""

import numpy as np
import pytest

from mmexpert.data.products import SimulationProducts
from mmexpert.data.simulation import DEMO_ROOM, activity_program, simulate_person
from mmexpert.radar.presets import load_radar

RADAR = load_radar("iwr1843-udoppler")
WALK = {
    "placement": {"start_xy_m": [0.0, 4.5]},
    "segments": [
        {"primitive": "walk_forward", "parameters": {"speed_mps": 1.2}, "duration_s": 2.0}
    ],
}


@pytest.fixture(scope="module")
def walking():
    return simulate_person(RADAR, WALK, seed=1, noise=False, keep_adc=False)


def _micro_doppler_linear(products):
    return 10 ** (products.maps_db["micro_doppler"] / 10), products.axes["velocity_axis"]


def test_torso_line_of_a_walker_sits_at_the_walking_speed(walking):
    power, velocity = _micro_doppler_linear(walking)
    torso = np.median(velocity[np.argmax(power, axis=0)])
    assert abs(torso - (-1.2)) <= RADAR.velocity_resolution_mps


def test_limbs_of_a_walker_reach_two_to_three_times_the_torso_speed(walking):
    power, velocity = _micro_doppler_linear(walking)
    # Per frame, the fastest Doppler bin within 15 dB of that frame's peak; the 95th
    # percentile over frames is the envelope of the swinging legs and arms.
    strong = power >= power.max(axis=0, keepdims=True) * 10 ** (-15 / 10)
    envelope = np.percentile([np.abs(velocity[s]).max() for s in strong.T], 95)
    assert 2.0 <= envelope / 1.2 <= 3.5
    slow = np.abs(velocity) <= 0.3
    assert power[slow].sum() / power.sum() < 0.1


def test_a_person_standing_still_has_near_zero_doppler():
    standing = simulate_person(
        RADAR,
        {"segments": [{"primitive": "stand", "duration_s": 2.0}]},
        seed=2,
        noise=False,
        keep_adc=False,
    )
    power, velocity = _micro_doppler_linear(standing)
    slow = np.abs(velocity) <= 0.3  # breathing and postural sway: a few cm/s
    assert np.all(np.abs(velocity[np.argmax(power, axis=0)]) <= 0.3)
    # The rest is the ADC quantization floor spread over all Doppler bins (a walker keeps
    # under 10 % of its energy this slow).
    assert power[slow].sum() / power.sum() >= 0.9


def test_person_products_round_trip_through_npz(tmp_path):
    products = simulate_person(
        RADAR, activity_program("wave"), num_frames=10, room=DEMO_ROOM, seed=3, keep_adc=False
    )
    loaded = SimulationProducts.load(products.save(tmp_path / "wave.npz"))
    assert loaded.extras["joints"].shape == (len(loaded.extras["joint_times"]), 22, 3)
    np.testing.assert_array_equal(loaded.points, products.points)
    assert loaded.metadata["walls"] == 1
    assert loaded.config == products.config

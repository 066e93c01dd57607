"""Domain randomization: scene specs -> rooms, radar mounting and receiver noise."""

import numpy as np
import pytest

from mmexpert.data.simulation import room_from_spec, simulate_person
from mmexpert.flywheel.sampling import wider_scene
from mmexpert.plan import RoomSpec, SceneSpec
from mmexpert.plan.programs import NOISE_FIGURE_OFFSET_SPAN_DB, sample_scene
from mmexpert.radar import load_radar


def test_room_walls_exist_only_with_reflectivity_and_furniture_stays_inside():
    spec = RoomSpec(width_m=4.0, depth_m=6.0, side_wall_reflectivity=0.3, furniture=5)
    room = room_from_spec(spec, seed=7)
    assert len(room.walls) == 1
    assert room.walls[0].reflection_coefficient == pytest.approx(0.3)
    furniture = np.array(room.furniture_m)
    assert furniture.shape == (5, 3)
    assert np.all(np.abs(furniture[:, 0]) <= 2.0)
    assert np.all((furniture[:, 1] >= 1.0) & (furniture[:, 1] <= 6.0))
    assert room_from_spec(spec, seed=7).furniture_m == room.furniture_m  # seeded placement
    assert room_from_spec(RoomSpec(), seed=0).walls == ()


def test_sampled_scenes_contain_the_person_and_vary():
    rng = np.random.default_rng(0)
    starts = [(rng.uniform(-2, 2), rng.uniform(1.5, 5.5)) for _ in range(200)]
    scenes = [sample_scene(start, rng) for start in starts]
    for (x, y), scene in zip(starts, scenes, strict=True):
        assert scene.room.depth_m >= y + 1.5 - 0.05
        assert scene.room.width_m / 2 >= abs(x) + 0.75 - 0.05
    with_wall = np.mean([s.room.side_wall_reflectivity > 0 for s in scenes])
    assert 0.35 <= with_wall <= 0.65
    assert np.std([s.tilt_rad for s in scenes]) > 0.03
    offsets = np.array([s.noise_figure_offset_db for s in scenes])
    low, high = NOISE_FIGURE_OFFSET_SPAN_DB
    assert np.all((offsets >= low) & (offsets <= high))
    # the span reaches the SNR regime of real captures (+12 dB), not only the datasheet's
    assert np.mean(offsets >= 12.0) > 0.15 and np.mean(offsets <= 4.0) > 0.15


def test_wider_scenes_stay_valid_specs():
    rng = np.random.default_rng(1)
    scenes = [wider_scene((0.5, 3.0), rng) for _ in range(300)]  # SceneSpec validates each
    assert max(s.noise_figure_offset_db for s in scenes) > NOISE_FIGURE_OFFSET_SPAN_DB[1]


def test_tilt_and_noise_figure_reach_the_radar():
    radar = load_radar("iwr1843-udoppler")
    program = {"segments": [{"primitive": "stand", "duration_s": 0.4}]}
    base = simulate_person(radar, program, num_frames=2, keep_adc=False)
    varied = simulate_person(
        radar, program, num_frames=2, keep_adc=False, tilt_rad=-0.1, noise_figure_offset_db=3.0
    )
    assert varied.config.pose.pitch_rad == pytest.approx(-0.1)
    ratio = varied.metadata["noise_power_w"] / base.metadata["noise_power_w"]
    assert ratio == pytest.approx(10**0.3)


def test_scene_spec_refuses_impossible_values():
    with pytest.raises(ValueError, match="tilt_rad"):
        SceneSpec(tilt_rad=2.0)
    with pytest.raises(ValueError, match="side_wall_reflectivity"):
        RoomSpec(side_wall_reflectivity=1.5)

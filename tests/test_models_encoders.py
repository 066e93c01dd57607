"""Radar encoders, input normalisation and model configs (shapes, masks, registry)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from mmexpert.models.encoders import ENCODERS, EncoderConfig, RadarEncoder
from mmexpert.models.inputs import (
    ModelInputError,
    check_views,
    normalize_db_map,
    points_window,
)
from mmexpert.models.models import ClipConfig, config_from_dict
from mmexpert.models.registry import MODEL_CONFIGS, UnknownModelError, list_models, model_config

WINDOW = 24


def _batch(views, batch=2, window=WINDOW, real=18, seed=0):
    generator = torch.Generator().manual_seed(seed)
    bins = {"micro_doppler": 128, "range_time": 256, "azimuth_time": 128}
    out = {}
    mask = torch.zeros(batch, window, dtype=torch.bool)
    mask[:, :real] = True
    for view in views:
        if view == "points":
            out["points"] = torch.randn(batch, window, 16, 8, generator=generator)
            point_mask = torch.rand(batch, window, 16, generator=generator) < 0.5
            out["point_mask"] = point_mask & mask[:, :, None]
        else:
            values = torch.rand(batch, bins[view], window, generator=generator)
            out[view] = values * mask[:, None, :]
    out["mask"] = mask
    return out


def test_normalize_db_map_maps_peak_to_one_and_floor_to_zero():
    map_db = np.array([[-100.0, 0.0, 10.0], [20.0, -5.0, 30.0]], dtype=np.float32)
    mask = np.array([True, True, False])
    out = normalize_db_map(map_db, mask, dynamic_range_db=40.0)
    # peak over real frames is 20 dB -> floor -20 dB
    np.testing.assert_allclose(out[:, :2], [[0.0, 0.5], [1.0, 15 / 40]], atol=1e-6)
    assert (out[:, 2] == 0).all(), "padded frames must be zero"
    with pytest.raises(ModelInputError, match="dynamic_range_db"):
        normalize_db_map(map_db, mask, dynamic_range_db=0.0)


def test_points_window_keeps_the_strongest_points_per_frame():
    points = np.zeros((5, 8), np.float32)
    points[:, 4] = [1.0, 9.0, 5.0, 3.0, 7.0]  # SNR
    points[:, 0] = np.arange(5)
    window, mask = points_window(
        points, np.array([3, 2]), start_frame=0, window_frames=3, max_points=2
    )
    assert window.shape == (3, 2, 8) and mask.tolist() == [
        [True, True],
        [True, True],
        [False, False],
    ]
    assert sorted(window[0, :, 0].tolist()) == [1.0, 2.0]  # SNR 9 and 5 of frame 0
    with pytest.raises(ModelInputError, match="sums to"):
        points_window(points, np.array([1, 1]), 0, 3)


def test_check_views_orders_and_rejects_unknown():
    assert check_views(["points", "micro_doppler"]) == ("micro_doppler", "points")
    with pytest.raises(ModelInputError, match="unknown views"):
        check_views(["doppler"])
    with pytest.raises(ModelInputError, match="at least one"):
        check_views([])


@pytest.mark.parametrize("kind", sorted(ENCODERS))
def test_every_encoder_gives_tokens_masks_and_embeddings(kind):
    views = ("points",) if kind == "points" else ("micro_doppler", "range_time")
    config = EncoderConfig(
        kind="vit" if kind == "points" else kind,
        views=views,
        width=32,
        heads=4,
        depth=1,
        cnn_channels=8,
    )
    torch.manual_seed(0)
    encoder = RadarEncoder(config).eval()
    batch = _batch(views, real=12)
    tokens, mask = encoder.encode_tokens(batch)
    assert tokens.shape[0] == 2 and tokens.shape[2] == 32 and mask.shape == tokens.shape[:2]
    assert mask.any(1).all() and not mask.all(), "padded frames must be masked"
    embedding = encoder(batch)
    assert embedding.shape == (2, 32) and torch.isfinite(embedding).all()


def test_vit_adaptive_patching_gives_one_grid_per_view():
    config = EncoderConfig(
        kind="vit",
        views=("micro_doppler", "range_time", "azimuth_time"),
        width=32,
        depth=1,
        freq_patches=8,
        time_patch=4,
    )
    encoder = RadarEncoder(config).eval()
    tokens, mask = encoder.encode_tokens(_batch(config.views))
    # 3 views x 8 frequency patches x 6 time patches, whatever the bin count (128 or 256)
    assert tokens.shape[1] == 3 * 8 * (WINDOW // 4)
    assert mask[0].sum() == 3 * 8 * 5  # 18 real frames -> 5 of 6 time patches


@pytest.mark.parametrize("kind", ["vit", "cnn", "points"])
def test_padded_frames_do_not_change_the_embedding(kind):
    views = ("points",) if kind == "points" else ("micro_doppler",)
    config = EncoderConfig(
        kind="cnn" if kind == "cnn" else "vit",
        views=views,
        width=32,
        depth=1,
        cnn_channels=8,
        time_patch=4,
    )
    torch.manual_seed(0)
    encoder = RadarEncoder(config).eval()
    batch = _batch(views, real=18)  # the ViT's last real patch is half padding
    with torch.no_grad():
        reference = encoder(batch)
        changed = dict(batch)
        key = "points" if kind == "points" else "micro_doppler"
        changed[key] = batch[key].clone()
        changed[key][..., 18:] += 100.0  # garbage in the padded frames
        if kind == "points":
            changed[key] = batch[key].clone()
            changed[key][:, 18:] += 100.0
        torch.testing.assert_close(encoder(changed), reference)


def test_bad_encoder_configs_are_named():
    with pytest.raises(ModelInputError, match="unknown encoder kind"):
        EncoderConfig(kind="resnet")
    with pytest.raises(ModelInputError, match="freq_patches"):
        EncoderConfig(kind="vit", freq_patches=7)
    with pytest.raises(ModelInputError, match="multiple of heads"):
        EncoderConfig(width=30, heads=4)


def test_registry_configs_round_trip_through_json():
    assert "clip-vit-tiny" in list_models("clip")
    assert all(MODEL_CONFIGS[name].family == "classifier" for name in list_models("classifier"))
    for name in list_models():
        config = model_config(name)
        assert config_from_dict(config.to_dict()) == config
    with pytest.raises(UnknownModelError, match="registered"):
        model_config("clip-huge")
    changed = dataclasses.replace(MODEL_CONFIGS["clip-vit-tiny"], loss="siglip")
    assert isinstance(config_from_dict(changed.to_dict()), ClipConfig)
    with pytest.raises(ValueError, match="unknown loss"):
        ClipConfig(loss="triplet")


def _person_window(offset_xyz=(0.0, 0.0, 0.0), snr_offset_db=0.0):
    """One window: 4 moving body points per frame around (0.3, 1.5, 0.1) m, a static body
    point, a TX->RX leakage point at 5 cm and a wall point 3 m behind the person."""
    frames, slots = 6, 8
    points = torch.zeros(1, frames, slots, 8)
    mask = torch.zeros(1, frames, slots, dtype=torch.bool)
    for frame in range(frames):
        body = torch.tensor(
            [[0.3 + 0.05 * frame, 1.5, 0.1 + 0.1 * k, 0.6, 20.0 + k, 0, 0, frame] for k in range(4)]
        )
        static = torch.tensor(
            [
                [0.3, 1.6, -0.3, 0.0, 25.0, 0, 0, frame],
                [0.0, 0.05, 0.0, 0.0, 30.0, 0, 0, frame],
                [0.2, 4.5, 0.5, 0.0, 22.0, 0, 0, frame],
            ]
        )
        rows = torch.cat([body, static])
        rows[:, :3] += torch.tensor(offset_xyz)
        rows[:, 4] += snr_offset_db
        rows[:, 5] = rows[:, :3].norm(dim=-1)
        rows[:, 6] = torch.atan2(rows[:, 0], rows[:, 1])
        points[0, frame, : len(rows)] = rows
        mask[0, frame, : len(rows)] = True
    return points, mask


def test_person_frame_centres_on_moving_points_and_gates_clutter():
    from mmexpert.models.encoders import person_frame

    points, mask = _person_window()
    out, kept = person_frame(points, mask, gate_radius_m=1.2)
    # the leakage (slot 5) and the wall (slot 6) are > 1.2 m from the person: dropped
    assert kept[0, :, :5].all() and not kept[0, :, 5:].any()
    # anchor = mean of the moving points: x 0.3 + 0.05 * mean(frame) = 0.425, y 1.5, z 0.25
    moving = points[0, :, :4, :3].reshape(-1, 3)
    np.testing.assert_allclose(moving.mean(0).numpy(), [0.425, 1.5, 0.25], atol=1e-6)
    np.testing.assert_allclose(
        out[0, :, :4, :3].reshape(-1, 3).mean(0).numpy(), [0, 0, 0], atol=1e-6
    )
    assert (out[0, :, 5:] == 0).all(), "dropped points must be zeroed"
    assert (out[..., 3] == points[..., 3] * kept).all(), "velocity is kept as measured"
    assert (out[..., 4] == 0).all(), "device SNR scales differ: not a feature"


def test_static_gate_keeps_still_body_points_near_the_person_only():
    from mmexpert.models.encoders import person_frame

    points, mask = _person_window()
    # the static body point (slot 4) is 0.16 m from the anchor (0.425, 1.5) horizontally
    _, near = person_frame(points, mask, 1.2, static_gate_m=0.3)
    assert near[0, :, :5].all() and not near[0, :, 5:].any()
    _, tight = person_frame(points, mask, 1.2, static_gate_m=0.1)
    assert tight[0, :, :4].all(), "movers keep the 1.2 m gate"
    assert not tight[0, :, 4:].any()
    with pytest.raises(ModelInputError, match="static_gate_m must be in"):
        EncoderConfig(views=("points",), point_frame="person", static_gate_m=1.5)
    with pytest.raises(ModelInputError, match="drop_static_points=False"):
        EncoderConfig(
            views=("points",), point_frame="person", drop_static_points=True, static_gate_m=0.3
        )


def test_person_frame_is_invariant_to_radar_placement_and_snr_scale():
    from mmexpert.models.encoders import person_frame

    near, mask = _person_window()
    # the same scene seen from a radar 0.8 m lower and 1 m farther, with 6 dB more SNR; range
    # and bearing change non-linearly, so compare the Cartesian offsets, velocity and SNR
    far, _ = _person_window(offset_xyz=(0.0, 1.0, 0.8), snr_offset_db=6.0)
    out_near, kept_near = person_frame(near, mask, 1.2)
    out_far, kept_far = person_frame(far, mask, 1.2)
    assert torch.equal(kept_near, kept_far)
    torch.testing.assert_close(out_near[..., :5], out_far[..., :5], atol=1e-5, rtol=0)


def test_point_frame_is_validated_and_saved_with_the_config():
    with pytest.raises(ModelInputError, match="point_frame"):
        EncoderConfig(views=("points",), point_frame="world")
    with pytest.raises(ModelInputError, match="gate_radius_m"):
        EncoderConfig(views=("points",), gate_radius_m=0.0)
    config = MODEL_CONFIGS["classifier-points-tiny"].encoder
    assert config.point_frame == "person"
    assert EncoderConfig.from_dict(config.to_dict()) == config


def test_random_crop_draws_a_window_per_epoch_that_maps_and_points_share():
    from mmexpert.models.inputs import RadarModelDataset

    frames, window = 40, 10
    micro_doppler = np.tile(np.arange(frames, dtype=np.float32), (128, 1))  # column = frame
    points = np.zeros((frames, 8), np.float32)
    points[:, 0] = np.arange(frames)  # one point per frame, x = frame index
    points[:, 4] = 10.0
    raw = {
        "micro_doppler": micro_doppler,
        "points": points,
        "points_per_frame": np.ones(frames, np.int32),
        "sample_id": "s",
        "activity": "a",
    }
    dataset = RadarModelDataset(
        [raw],
        ("micro_doppler", "points"),
        ["a"],
        window_frames=window,
        crop="random",
        dynamic_range_db=1e6,
    )
    starts = set()
    for epoch in range(8):
        dataset.set_epoch(epoch)
        item = dataset[0]
        start = int(item["points"][0, 0, 0])
        starts.add(start)
        assert 0 <= start <= frames - window
        np.testing.assert_array_equal(
            item["points"][:, 0, 0].numpy(), np.arange(start, start + window)
        )
        # the map window is the same frames: its columns rise by one per frame
        assert np.all(np.diff(item["micro_doppler"][0].numpy()) > 0)
    assert len(starts) > 2, "the window start must change between epochs"
    dataset.set_epoch(3)
    assert torch.equal(dataset[0]["points"], dataset[0]["points"]), "reproducible per epoch"


def test_dropping_static_points_makes_the_encoder_blind_to_static_clutter():
    from mmexpert.models.encoders import PointSequenceEncoder

    points, mask = _person_window()
    moving_only = mask & (points[..., 3] != 0)
    batch = {
        "points": points,
        "point_mask": mask,
        "mask": torch.ones(1, points.shape[1], dtype=bool),
    }
    clean = {**batch, "point_mask": moving_only}
    torch.manual_seed(0)
    config = EncoderConfig(views=("points",), point_frame="person", drop_static_points=True)
    encoder = PointSequenceEncoder(config).eval()
    with torch.no_grad():
        torch.testing.assert_close(encoder(batch)[0], encoder(clean)[0])
        keeping = PointSequenceEncoder(dataclasses.replace(config, drop_static_points=False))
        keeping.load_state_dict(encoder.state_dict())
        assert not torch.allclose(keeping.eval()(batch)[0], keeping(clean)[0])


def test_pooled_frames_give_one_token_per_span_and_keep_frame_order():
    from mmexpert.models.encoders import PointSequenceEncoder, _pool_frames

    points = torch.zeros(1, 7, 2, 3)
    points[0, :, 0, 0] = torch.arange(7.0)  # first point of frame f has x = f
    point_mask = torch.zeros(1, 7, 2, dtype=torch.bool)
    point_mask[0, :, 0] = True
    frame_mask = torch.ones(1, 7, dtype=torch.bool)
    pooled, pooled_mask, token_mask = _pool_frames(points, point_mask, frame_mask, span=3)
    assert pooled.shape == (1, 3, 6, 4)  # ceil(7 / 3) tokens of 3 frames x 2 points
    assert token_mask.tolist() == [[True, True, True]]  # frame 6 alone makes the last real
    # points keep their frame's x, and gain the time inside the span: -1/3, 0, +1/3
    assert pooled[0, 1, pooled_mask[0, 1], 0].tolist() == [3.0, 4.0, 5.0]
    times = pooled[0, 1, pooled_mask[0, 1], 3]
    torch.testing.assert_close(times, torch.tensor([-1 / 3, 0.0, 1 / 3]))
    assert pooled_mask[0, 2].sum() == 1  # frame 6 only; the padded frames hold nothing

    config = EncoderConfig(views=("points",), width=32, depth=1, frames_per_token=6)
    encoder = PointSequenceEncoder(config).eval()
    batch = _batch(("points",), window=WINDOW, real=18)
    tokens, mask = encoder(batch)
    assert tokens.shape == (2, WINDOW // 6, 32)
    assert mask[0].tolist() == [True, True, True, False]  # 18 real frames = 3 spans
    with torch.no_grad():
        swapped = dict(batch)
        swapped["points"] = batch["points"].clone()
        swapped["points"][:, [0, 1]] = batch["points"][:, [1, 0]]  # two frames of one span
        swapped["point_mask"] = batch["point_mask"].clone()
        swapped["point_mask"][:, [0, 1]] = batch["point_mask"][:, [1, 0]]
        assert not torch.allclose(encoder(swapped)[0][:, 0], tokens[:, 0]), "order is seen"


def test_frames_per_token_is_validated():
    with pytest.raises(ModelInputError, match="frames_per_token"):
        EncoderConfig(views=("points",), frames_per_token=0)

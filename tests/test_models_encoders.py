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

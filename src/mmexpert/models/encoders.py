"""Radar encoders: map windows and point-cloud sequences to token sequences and one embedding.

========  ===========================================================================
``vit``   small ViT over the map views with adaptive patching: every view is cut into
          ``freq_patches`` patches along its bin axis (patch height = bins / freq_patches,
          so a 256-bin range map and a 128-bin Doppler map give the same token grid) and
          ``time_patch``-frame patches in time; one token stream per view plus a view
          embedding; time patches holding no real frame are masked out of attention.
``cnn``   baseline: a per-view 2-D CNN pooled over bins, one token per 8 frames.
``points`` point-cloud sequence: a PointNet-style set encoder (shared MLP, masked max-pool)
          over the points of ``frames_per_token`` frames (each point also carries its
          time inside that span), and a temporal transformer under the frame mask.
========  ===========================================================================

:class:`RadarEncoder` combines a map encoder (for the chosen map views) and the point encoder
(when ``"points"`` is chosen). It exposes ``encode_tokens(batch) -> (tokens, mask)`` (what
the radar LLM projects into its embedding space) and ``forward(batch) -> embedding``.

Batch keys (see :class:`~mmexpert.models.inputs.RadarModelDataset`): map views float32
``[b, bins, window]`` in [0, 1], ``mask`` bool ``[b, window]``, ``points`` float32
``[b, window, max_points, 8]``, ``point_mask`` bool ``[b, window, max_points]``.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F  # noqa: N812
from torch import nn

from mmexpert.models.inputs import MAP_VIEWS, POINTS_VIEW, ModelInputError, check_views

DEFAULT_VIEW_BINS = {"micro_doppler": 128, "range_time": 256, "azimuth_time": 128}
POINT_FRAMES = ("sensor", "person")
"""Frames of the point encoder's features: ``"sensor"`` feeds the point table as measured;
``"person"`` gates and centres it on the person (:func:`person_frame`)."""


@dataclass(frozen=True)
class EncoderConfig:
    """Configuration of a :class:`RadarEncoder`."""

    kind: str = "vit"  # map encoder: "vit" or "cnn" (ignored when only "points" is chosen)
    views: tuple[str, ...] = ("micro_doppler",)  # inputs, among MAP_VIEWS and "points"
    width: int = 128  # token width
    depth: int = 2  # transformer layers (ViT and the point encoder's temporal transformer)
    heads: int = 4  # attention heads
    freq_patches: int = 8  # ViT: patches along each view's bin axis
    time_patch: int = 4  # ViT: frames per patch
    max_frames: int = 512  # longest window supported [frames] (positional table size)
    dropout: float = 0.0  # dropout inside the transformers
    cnn_channels: int = 32  # CNN baseline: channels of the first block (doubled per block)
    point_hidden: int = 64  # point encoder: hidden width of the per-point MLP
    point_frame: str = "sensor"  # point encoder: "sensor" (radar frame) or "person" (below)
    gate_radius_m: float = 1.2  # "person" frame: horizontal gate around the person [m]
    drop_static_points: bool = False  # point encoder: keep moving points only (see below)
    static_gate_m: float | None = None  # "person" frame: tighter gate for static points [m]
    frames_per_token: int = 1  # point encoder: frames pooled into one token (see below)
    view_bins: tuple[tuple[str, int], ...] = tuple(DEFAULT_VIEW_BINS.items())  # bins per view

    def __post_init__(self) -> None:
        object.__setattr__(self, "views", check_views(self.views))
        object.__setattr__(self, "view_bins", tuple((str(k), int(v)) for k, v in self.view_bins))
        if self.kind not in MAP_ENCODERS:
            raise ModelInputError(
                f"unknown encoder kind {self.kind!r}; known: {list(MAP_ENCODERS)}"
            )
        if self.width % self.heads:
            raise ModelInputError(f"width {self.width} is not a multiple of heads {self.heads}")
        if self.point_frame not in POINT_FRAMES:
            raise ModelInputError(
                f"unknown point_frame {self.point_frame!r}; known: {list(POINT_FRAMES)}"
            )
        if self.frames_per_token < 1:
            raise ModelInputError(f"frames_per_token must be >= 1, got {self.frames_per_token}")
        if not self.gate_radius_m > 0:
            raise ModelInputError(f"gate_radius_m must be positive, got {self.gate_radius_m}")
        if self.static_gate_m is not None:
            if not 0 < self.static_gate_m <= self.gate_radius_m:
                raise ModelInputError(
                    f"static_gate_m must be in (0, gate_radius_m={self.gate_radius_m}], got "
                    f"{self.static_gate_m}"
                )
            if self.point_frame != "person" or self.drop_static_points:
                raise ModelInputError(
                    "static_gate_m gates static points around the person: it needs "
                    "point_frame='person' and drop_static_points=False"
                )
        bins = dict(self.view_bins)
        for view in self.map_views:
            if view not in bins:
                raise ModelInputError(f"view_bins lacks view {view!r}")
            if self.kind == "vit" and bins[view] % self.freq_patches:
                raise ModelInputError(
                    f"{view} has {bins[view]} bins, not a multiple of freq_patches "
                    f"{self.freq_patches}"
                )

    @property
    def map_views(self) -> tuple[str, ...]:
        """The chosen map views."""
        return tuple(view for view in self.views if view in MAP_VIEWS)

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        data = dataclasses.asdict(self)
        data["views"] = list(self.views)
        data["view_bins"] = dict(self.view_bins)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> EncoderConfig:
        """Inverse of :meth:`to_dict`."""
        data = dict(data)
        data["views"] = tuple(data.get("views", ("micro_doppler",)))
        data["view_bins"] = tuple(dict(data.get("view_bins", DEFAULT_VIEW_BINS)).items())
        return cls(**data)


def masked_mean(tokens: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean of ``tokens`` [b, n, d] over positions where ``mask`` [b, n] is True -> [b, d]."""
    weights = mask.to(tokens.dtype).unsqueeze(-1)  # (b, n, 1)
    return (tokens * weights).sum(1) / weights.sum(1).clamp_min(1.0)


def _transformer(config: EncoderConfig) -> nn.TransformerEncoder:
    layer = nn.TransformerEncoderLayer(
        config.width,
        config.heads,
        4 * config.width,
        config.dropout,
        activation="gelu",
        batch_first=True,
        norm_first=True,
    )
    return nn.TransformerEncoder(layer, config.depth, enable_nested_tensor=False)


class MapViT(nn.Module):
    """ViT over the map views with adaptive patching (see the module docstring)."""

    def __init__(self, config: EncoderConfig) -> None:
        super().__init__()
        self.config = config
        bins = dict(config.view_bins)
        self.patchers = nn.ModuleDict(
            {
                view: nn.Conv2d(
                    1,
                    config.width,
                    kernel_size=(bins[view] // config.freq_patches, config.time_patch),
                    stride=(bins[view] // config.freq_patches, config.time_patch),
                )
                for view in config.map_views
            }
        )
        max_time_patches = math.ceil(config.max_frames / config.time_patch)
        self.view_embedding = nn.Parameter(torch.zeros(len(config.map_views), config.width))
        self.freq_embedding = nn.Parameter(torch.zeros(config.freq_patches, config.width))
        self.time_embedding = nn.Parameter(torch.zeros(max_time_patches, config.width))
        for parameter in (self.view_embedding, self.freq_embedding, self.time_embedding):
            nn.init.normal_(parameter, std=0.02)
        self.transformer = _transformer(config)
        self.norm = nn.LayerNorm(config.width)

    def forward(self, batch: dict[str, Any]) -> tuple[torch.Tensor, torch.Tensor]:
        """Tokens [b, views * freq_patches * time_patches, width] and their mask."""
        frame_mask = batch["mask"]  # (b, w)
        window = frame_mask.shape[1]
        pad = (-window) % self.config.time_patch
        time_patches = (window + pad) // self.config.time_patch
        if time_patches > self.time_embedding.shape[0]:
            raise ModelInputError(
                f"window of {window} frames exceeds max_frames {self.config.max_frames}"
            )
        patch_mask = F.pad(frame_mask, (0, pad)).view(-1, time_patches, self.config.time_patch)
        patch_mask = patch_mask.any(-1)  # (b, tp): a patch with any real frame is kept
        streams, masks = [], []
        for index, view in enumerate(self.config.map_views):
            values = batch[view] * frame_mask[:, None, :]  # padded frames carry nothing
            image = F.pad(values, (0, pad)).unsqueeze(1)  # (b, 1, bins, w + pad)
            grid = self.patchers[view](image)  # (b, width, fp, tp)
            grid = grid + self.freq_embedding.T[None, :, :, None]
            grid = grid + self.time_embedding[:time_patches].T[None, :, None, :]
            tokens = grid.flatten(2).transpose(1, 2) + self.view_embedding[index]  # (b, fp*tp, d)
            streams.append(tokens)
            masks.append(patch_mask.repeat(1, self.config.freq_patches))
        tokens = torch.cat(streams, 1)  # (b, n, width)
        mask = torch.cat(masks, 1)  # (b, n)
        tokens = self.transformer(tokens, src_key_padding_mask=~mask)
        return self.norm(tokens), mask


class MapCNN(nn.Module):
    """CNN baseline: three conv blocks per view (bins and time halved per block), mean over
    bins, one token per 8 frames per view."""

    def __init__(self, config: EncoderConfig) -> None:
        super().__init__()
        self.config = config
        channels = [1, config.cnn_channels, 2 * config.cnn_channels, 4 * config.cnn_channels]

        def tower() -> nn.Sequential:
            blocks: list[nn.Module] = []
            for c_in, c_out in itertools.pairwise(channels):
                blocks += [
                    nn.Conv2d(c_in, c_out, 3, padding=1),
                    nn.GroupNorm(8, c_out),
                    nn.GELU(),
                    nn.MaxPool2d(2, ceil_mode=True),
                ]
            return nn.Sequential(*blocks)

        self.towers = nn.ModuleDict({view: tower() for view in config.map_views})
        self.project = nn.Linear(channels[-1], config.width)
        self.view_embedding = nn.Parameter(0.02 * torch.randn(len(config.map_views), config.width))
        self.norm = nn.LayerNorm(config.width)

    def forward(self, batch: dict[str, Any]) -> tuple[torch.Tensor, torch.Tensor]:
        """Tokens [b, views * ceil(window / 8), width] and their mask."""
        frame_mask = batch["mask"]  # (b, w)
        streams, masks = [], []
        for index, view in enumerate(self.config.map_views):
            values = batch[view] * frame_mask[:, None, :]  # padded frames carry nothing
            features = self.towers[view](values.unsqueeze(1))  # (b, c, bins/8, w/8)
            tokens = self.project(features.mean(2).transpose(1, 2))  # (b, w/8, d)
            streams.append(tokens + self.view_embedding[index])
            mask = F.max_pool1d(frame_mask[:, None].float(), 8, ceil_mode=True)[:, 0] > 0
            masks.append(mask[:, : tokens.shape[1]])
        return self.norm(torch.cat(streams, 1)), torch.cat(masks, 1)


def person_frame(
    points: torch.Tensor,
    point_mask: torch.Tensor,
    gate_radius_m: float,
    static_gate_m: float | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Express a window of points relative to the person, as a tracker would.

    Real TI captures differ from any simulation in where the radar hangs, how far away the
    person stands, what static clutter the room holds and how the device scales its SNR. None
    of that says which activity is done, so this view removes it: the window's anchor is the
    mean position of its moving points (of all points if none move); points farther than
    ``gate_radius_m`` horizontally from the anchor are dropped (furniture, walls, TX->RX
    leakage near 0 m); positions, range and bearing become offsets from the anchor. SNR is
    zeroed: TI firmware reports a compressed log-magnitude whose scale no simulation shares
    (the RadHAR sample spans 22-32 dB where SNR spans 12-60 dB). One anchor per window keeps
    the motion in it.

    ``static_gate_m`` keeps the zero-Doppler points that close to the anchor (the still
    parts of the body) and drops the rest of the static ones: inside 0.3 m the RadHAR
    sample's static points spread in z and x as the simulated body's do, while inside the
    1.2 m gate most of them are room.

    Parameters
    ----------
    points
        float32 [b, window, points, >=7]: x, y, z [m], velocity [m/s], SNR [dB], range [m],
        bearing [rad], ...
    point_mask
        bool [b, window, points].
    gate_radius_m
        Horizontal gate radius [m].
    static_gate_m
        Horizontal gate radius of the static (zero-Doppler) points [m]; None: ``gate_radius_m``.

    Returns
    -------
    (points, point_mask) of the same shapes; masked-out entries are zero.
    """
    xyz = points[..., :3]
    moving = point_mask & (points[..., 3].abs() > 1e-3)
    any_moving = moving.flatten(1).any(1).view(-1, 1, 1)
    weights = torch.where(any_moving, moving, point_mask).to(points.dtype).unsqueeze(-1)
    anchor = (xyz * weights).sum((1, 2)) / weights.sum((1, 2)).clamp_min(1.0)  # (b, 3)
    offsets = xyz - anchor[:, None, None, :]
    distance = offsets[..., :2].norm(dim=-1)
    kept = point_mask & (distance <= gate_radius_m)
    if static_gate_m is not None:
        kept &= moving | (distance <= static_gate_m)
    anchor_range = anchor.norm(dim=-1)
    anchor_bearing = torch.atan2(anchor[:, 0], anchor[:, 1])
    out = torch.cat(
        [
            offsets,
            points[..., 3:4],
            torch.zeros_like(points[..., 4:5]),
            (points[..., 5] - anchor_range[:, None, None]).unsqueeze(-1),
            (points[..., 6] - anchor_bearing[:, None, None]).unsqueeze(-1),
            points[..., 7:],
        ],
        dim=-1,
    )
    return out * kept.unsqueeze(-1), kept


# Feature scales of the point table: x, y, z [m], velocity [m/s], SNR [dB], range [m],
# bearing [rad]; the 8th column (absolute frame index) is dropped.
POINT_SCALE = (5.0, 5.0, 2.0, 5.0, 30.0, 5.0, math.pi / 2)


class PointSequenceEncoder(nn.Module):
    """Per-frame PointNet-style set encoder + temporal transformer (see the module docstring)."""

    def __init__(self, config: EncoderConfig) -> None:
        super().__init__()
        self.config = config
        self.register_buffer("scale", torch.tensor(POINT_SCALE), persistent=False)
        features = len(POINT_SCALE) + (config.frames_per_token > 1)  # + time inside the span
        self.point_mlp = nn.Sequential(
            nn.Linear(features, config.point_hidden),
            nn.GELU(),
            nn.Linear(config.point_hidden, config.point_hidden),
            nn.GELU(),
            nn.Linear(config.point_hidden, config.width),
        )
        self.empty_frame = nn.Parameter(torch.zeros(config.width))  # a frame without points
        self.time_embedding = nn.Parameter(0.02 * torch.randn(config.max_frames, config.width))
        self.transformer = _transformer(config)
        self.norm = nn.LayerNorm(config.width)

    def forward(self, batch: dict[str, Any]) -> tuple[torch.Tensor, torch.Tensor]:
        """Tokens [b, ceil(window / frames_per_token), width] and their mask."""
        points, point_mask = batch["points"], batch["point_mask"]  # (b, w, p, 8), (b, w, p)
        if self.config.drop_static_points:
            # software clutter removal: TI configs that keep static returns (RadHAR's) fill
            # a frame with furniture, leakage and elevation ghosts no simulation reproduces
            point_mask = point_mask & (points[..., 3].abs() > 1e-3)
        if self.config.point_frame == "person":
            points, point_mask = person_frame(
                points, point_mask, self.config.gate_radius_m, self.config.static_gate_m
            )
        points = points[..., : len(POINT_SCALE)] / self.scale  # (b, w, p, 7)
        frame_mask = batch["mask"]  # (b, w)
        span = self.config.frames_per_token
        if span > 1:
            points, point_mask, frame_mask = _pool_frames(points, point_mask, frame_mask, span)
        window = frame_mask.shape[1]
        if window > self.config.max_frames:
            raise ModelInputError(f"window of {window} tokens exceeds max_frames")
        features = self.point_mlp(points)  # (b, t, p, d)
        features = features.masked_fill(~point_mask.unsqueeze(-1), float("-inf"))
        frames = features.max(2).values  # (b, t, d)
        has_points = point_mask.any(-1, keepdim=True)  # (b, t, 1)
        frames = torch.where(has_points, frames, self.empty_frame)
        tokens = self.transformer(
            frames + self.time_embedding[:window], src_key_padding_mask=~frame_mask
        )
        return self.norm(tokens), frame_mask


def _pool_frames(
    points: torch.Tensor, point_mask: torch.Tensor, frame_mask: torch.Tensor, span: int
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Group ``span`` consecutive frames into one set per token.

    A TI device gives one or two moving points per frame; one set per frame is then mostly
    empty, while a 0.2 s set holds the limb's trajectory. Each point gains its time inside
    the span (-0.5..0.5) as a last feature, so the order of the frames is kept.

    Returns
    -------
    points : float32 [b, t, span * p, f + 1]; point_mask : bool [b, t, span * p];
    frame_mask : bool [b, t] (True where any frame of the span is real), t = ceil(w / span).
    """
    b, w, p, f = points.shape
    pad = -w % span
    if pad:
        points = F.pad(points, (0, 0, 0, 0, 0, pad))
        point_mask = torch.cat([point_mask, point_mask.new_zeros(b, pad, p)], 1)
        frame_mask = torch.cat([frame_mask, frame_mask.new_zeros(b, pad)], 1)
    t = (w + pad) // span
    offset = (torch.arange(span, dtype=points.dtype, device=points.device) + 0.5) / span - 0.5
    offset = offset.view(1, 1, span, 1, 1).expand(b, t, span, p, 1)
    points = torch.cat([points.view(b, t, span, p, f), offset], -1).view(b, t, span * p, f + 1)
    point_mask = point_mask.reshape(b, t, span * p)
    return points, point_mask, frame_mask.reshape(b, t, span).any(-1)


MAP_ENCODERS: dict[str, type[nn.Module]] = {"vit": MapViT, "cnn": MapCNN}
"""Registry of map encoders by ``EncoderConfig.kind``."""

ENCODERS: dict[str, type[nn.Module]] = {**MAP_ENCODERS, "points": PointSequenceEncoder}
"""Registry of every encoder family."""


class RadarEncoder(nn.Module):
    """The chosen views -> tokens and one embedding of width ``config.width``."""

    def __init__(self, config: EncoderConfig) -> None:
        super().__init__()
        self.config = config
        self.width = config.width
        self.map_encoder = MAP_ENCODERS[config.kind](config) if config.map_views else None
        self.point_encoder = PointSequenceEncoder(config) if POINTS_VIEW in config.views else None
        self.norm = nn.LayerNorm(config.width)

    def encode_tokens(self, batch: dict[str, Any]) -> tuple[torch.Tensor, torch.Tensor]:
        """Radar tokens.

        Returns
        -------
        tokens : torch.Tensor
            float32 [b, n, width].
        mask : torch.Tensor
            bool [b, n]; True on tokens that cover real frames.
        """
        parts = [
            encoder(batch)
            for encoder in (self.map_encoder, self.point_encoder)
            if encoder is not None
        ]
        tokens = torch.cat([part[0] for part in parts], 1)
        mask = torch.cat([part[1] for part in parts], 1)
        return tokens, mask

    def forward(self, batch: dict[str, Any]) -> torch.Tensor:
        """Pooled embedding float32 [b, width] (masked mean of the tokens, layer-normed)."""
        tokens, mask = self.encode_tokens(batch)
        return self.norm(masked_mean(tokens, mask))

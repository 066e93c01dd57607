"""Radar token encoders for the radar-conditioned LLM.

The LLM needs one thing from a radar encoder: a frozen ``torch.nn.Module`` that maps a dict of
normalised map windows ``{view: float32 [batch, bins, window_frames]}`` (plus ``"mask"``,
bool ``[batch, window_frames]``) to a token sequence ``float32 [batch, tokens, token_dim]``,
and exposes ``token_dim`` (int). :class:`RadarTokenEncoder` is that contract.

:class:`MapPatchEncoder` is a self-contained stand-in until a trained radar encoder (CLIP or
classifier tower from ``mmexpert.models``) is plugged in through :class:`TokenEncoderAdapter`:
each view is average-pooled to ``pooled_bins`` bins, cut into non-overlapping time patches of
``patch_frames`` frames, and each patch is mapped by a fixed, seeded random linear map plus a
sinusoidal time code. Being random and frozen it carries the map content without any radar
pre-training (a random projection keeps distances, Johnson-Lindenstrauss), so captions learnt
on top of it come from the projector and LoRA alone.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
from torch import nn


class RadarEncoderError(ValueError):
    """Radar inputs that do not fit the encoder (missing view, wrong shape)."""


class RadarTokenEncoder(nn.Module):
    """Contract: ``forward(batch) -> float32 [batch, tokens, token_dim]``; frozen by the LLM.

    Subclasses set ``token_dim`` and ``views`` and may set ``bins`` (view -> expected bins)
    so inputs are checked before they reach a matmul.
    """

    token_dim: int
    views: tuple[str, ...]
    bins: dict[str, int]

    def check_batch(self, batch: Mapping[str, torch.Tensor]) -> int:
        """Validate ``batch`` against ``views`` and ``bins``; return the batch size."""
        sizes = set()
        for view in self.views:
            if view not in batch:
                raise RadarEncoderError(
                    f"radar input lacks view {view!r}; the encoder needs {list(self.views)}"
                )
            tensor = batch[view]
            if tensor.ndim != 3:
                raise RadarEncoderError(
                    f"view {view!r} must be [batch, bins, frames], got shape {tuple(tensor.shape)}"
                )
            expected = self.bins.get(view)
            if expected is not None and tensor.shape[1] != expected:
                raise RadarEncoderError(
                    f"view {view!r} has {tensor.shape[1]} bins, the encoder was built for "
                    f"{expected}"
                )
            sizes.add(int(tensor.shape[0]))
        if len(sizes) != 1:
            raise RadarEncoderError(f"views disagree on the batch size: {sorted(sizes)}")
        return sizes.pop()


@dataclass(frozen=True)
class MapPatchEncoderConfig:
    """Settings of :class:`MapPatchEncoder` (saved with the model as JSON)."""

    views: tuple[str, ...] = ("micro_doppler", "range_time", "azimuth_time")
    bins: tuple[int, ...] = (128, 256, 128)  # bins per view, in ``views`` order
    window_frames: int = 64  # time window [frames]
    pooled_bins: int = 32  # bins after average pooling (a 4x-8x coarser axis)
    patch_frames: int = 8  # frames per token; 64 / 8 = 8 tokens per view
    token_dim: int = 128  # output width
    seed: int = 0  # seeds the fixed random projection

    def to_dict(self) -> dict[str, object]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, object]) -> MapPatchEncoderConfig:
        values = dict(data)
        values["views"] = tuple(values["views"])  # type: ignore[arg-type]
        values["bins"] = tuple(values["bins"])  # type: ignore[arg-type]
        return cls(**values)  # type: ignore[arg-type]


def _sinusoid(positions: int, width: int) -> torch.Tensor:
    """Transformer sinusoidal code, float32 [positions, width]."""
    position = torch.arange(positions, dtype=torch.float32)[:, None]
    frequency = torch.exp(
        torch.arange(0, width, 2, dtype=torch.float32) * (-math.log(10000.0) / width)
    )
    code = torch.zeros(positions, width)
    code[:, 0::2] = torch.sin(position * frequency)
    code[:, 1::2] = torch.cos(position * frequency[: width // 2])
    return code


class MapPatchEncoder(RadarTokenEncoder):
    """Fixed random patch tokens of map windows (see the module docstring).

    Parameters
    ----------
    config
        Views, bins, window and token sizes.

    Input: ``{view: float32 [batch, bins_v, window_frames]}``.
    Output: float32 [batch, len(views) * window_frames // patch_frames, token_dim].
    """

    def __init__(self, config: MapPatchEncoderConfig) -> None:
        super().__init__()
        if len(config.views) != len(config.bins):
            raise RadarEncoderError("MapPatchEncoderConfig needs one bin count per view")
        if config.window_frames % config.patch_frames:
            raise RadarEncoderError(
                f"window_frames {config.window_frames} is not a multiple of patch_frames "
                f"{config.patch_frames}"
            )
        self.config = config
        self.views = tuple(config.views)
        self.bins = dict(zip(config.views, config.bins, strict=True))
        self.token_dim = config.token_dim
        self.patches_per_view = config.window_frames // config.patch_frames
        generator = torch.Generator().manual_seed(config.seed)
        patch_width = config.pooled_bins * config.patch_frames
        projections = torch.randn(
            len(self.views), patch_width, config.token_dim, generator=generator
        ) / math.sqrt(patch_width)
        self.register_buffer("projections", projections)  # (views, patch, dim)
        codes = _sinusoid(self.patches_per_view, config.token_dim)
        views_code = torch.randn(len(self.views), 1, config.token_dim, generator=generator)
        self.register_buffer("position_codes", 0.1 * (codes[None] + views_code))  # (v, p, dim)

    @property
    def num_tokens(self) -> int:
        return len(self.views) * self.patches_per_view

    def forward(self, batch: Mapping[str, torch.Tensor]) -> torch.Tensor:
        batch_size = self.check_batch(batch)
        tokens = []
        for index, view in enumerate(self.views):
            maps = batch[view].float()  # (b, bins, w)
            if maps.shape[2] != self.config.window_frames:
                raise RadarEncoderError(
                    f"view {view!r} has {maps.shape[2]} frames, the encoder expects "
                    f"{self.config.window_frames}"
                )
            pooled = nn.functional.adaptive_avg_pool1d(
                maps.transpose(1, 2), self.config.pooled_bins
            )  # (b, w, pooled)
            patches = pooled.reshape(
                batch_size,
                self.patches_per_view,
                self.config.patch_frames * self.config.pooled_bins,
            )  # (b, p, patch)
            tokens.append(patches @ self.projections[index] + self.position_codes[index])
        return torch.cat(tokens, dim=1)  # (b, views * p, dim)


class TokenEncoderAdapter(RadarTokenEncoder):
    """Wrap any module into the :class:`RadarTokenEncoder` contract.

    Parameters
    ----------
    module
        The encoder (e.g. a trained radar tower).
    token_dim
        Width of its output tokens.
    views
        Views it reads.
    call
        ``(module, batch) -> tensor``; default ``module(batch)``. A ``[batch, dim]`` output
        (one pooled vector) becomes a single token.
    bins
        Optional expected bins per view, for input checks.
    """

    def __init__(
        self,
        module: nn.Module,
        token_dim: int,
        views: Sequence[str],
        call: Callable[[nn.Module, Mapping[str, torch.Tensor]], torch.Tensor] | None = None,
        bins: Mapping[str, int] | None = None,
    ) -> None:
        super().__init__()
        self.module = module
        self.token_dim = int(token_dim)
        self.views = tuple(views)
        self.bins = dict(bins or {})
        self._call = call

    def forward(self, batch: Mapping[str, torch.Tensor]) -> torch.Tensor:
        self.check_batch(batch)
        output = self.module(batch) if self._call is None else self._call(self.module, batch)
        if output.ndim == 2:
            output = output[:, None, :]  # (b, 1, dim)
        if output.ndim != 3 or output.shape[-1] != self.token_dim:
            raise RadarEncoderError(
                f"encoder output {tuple(output.shape)} is not [batch, tokens, {self.token_dim}]"
            )
        return output


def load_trained_radar_encoder(
    folder: str | Path, device: str = "cpu", pool_frequency: bool = True
) -> tuple[TokenEncoderAdapter, dict[str, object]]:
    """The radar tower of a model saved by ``mmexpert train clip|classifier`` as a frozen
    token encoder.

    Parameters
    ----------
    folder
        The trained model's folder (``config.json``, ``classes.json``, weights).
    device
        Where to load it.
    pool_frequency
        For a ViT tower: average each time patch's ``freq_patches`` tokens (their masks are
        equal), giving ``views * time_patches`` tokens ordered by view then time, as the CNN
        tower and :class:`MapPatchEncoder` give. The LLM keeps the time course and reads 8x
        fewer tokens (48 instead of 384 for 3 views, 64 frames, 4-frame patches), which is
        what makes a 135M LM trainable on a CPU. False: every token.

    Returns
    -------
    encoder : TokenEncoderAdapter
        ``encode_tokens`` of the tower; tokens over padded frames are zeroed.
    inputs : dict
        ``views``, ``window_frames``, ``dynamic_range_db`` the tower was trained with.

    Raises
    ------
    RadarEncoderError
        If the folder cannot be read or the tower uses point clouds (not supported here).
    """
    from mmexpert.models.io import ModelFileError, load_model

    try:
        loaded = load_model(folder, device=device)
    except ModelFileError as error:
        raise RadarEncoderError(str(error)) from error
    views = tuple(loaded.inputs.views)
    if "points" in views:
        raise RadarEncoderError(
            f"{folder}: the radar LLM takes map views only; this tower also reads points"
        )
    tower = loaded.model.radar
    encoder_config = loaded.config.encoder
    freq_patches = int(encoder_config.freq_patches) if encoder_config.kind == "vit" else 1
    pool = pool_frequency and freq_patches > 1

    def tokens_of(module: nn.Module, batch: Mapping[str, torch.Tensor]) -> torch.Tensor:
        tokens, mask = module.encode_tokens(dict(batch))  # (b, n, width), (b, n)
        tokens = tokens * mask[..., None].to(tokens.dtype)
        if pool:  # ViT layout per view: freq-major (fp, tp) grid, flattened
            b, n, width = tokens.shape
            streams = len(encoder_config.map_views)
            grid = tokens.view(b, streams, freq_patches, n // (streams * freq_patches), width)
            tokens = grid.mean(2).reshape(b, -1, width)  # (b, views * tp, width)
        return tokens

    adapter = TokenEncoderAdapter(
        tower,
        token_dim=int(tower.width),
        views=views,
        call=tokens_of,
        bins={view: dict(loaded.config.encoder.view_bins)[view] for view in views},
    )
    inputs = {
        "views": views,
        "window_frames": int(loaded.inputs.window_frames),
        "dynamic_range_db": float(loaded.inputs.dynamic_range_db),
    }
    return adapter, inputs

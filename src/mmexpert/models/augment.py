"""Augmentations aimed at the sim-to-real gap, as a registry of small callables.

Each augmentation is a frozen dataclass called as ``aug(raw, rng) -> raw`` on a *raw* sample
(full-length dB maps ``[bins, frames]`` and the point table ``[N, 8]``), before the window crop
and the per-sample normalisation. Each fires with its ``probability``; a fired augmentation
returns new arrays and never modifies its input.

========================  ==================================================================
``time_warp``             resample the time axis by a factor (people move faster or slower)
``doppler_scale``         stretch the velocity axis of the micro-Doppler map about 0 m/s
``motion_speed``          a slower or faster person: time axis resampled and point radial
                          velocities scaled by one factor, then put back on the Doppler bins
``amplitude``             per-frame gain drift and dB contrast change (the per-sample
                          normalisation removes a constant gain, so a constant offset is moot)
``noise``                 Gaussian noise in dB plus a raised noise floor
``point_dropout``         drop points at random (real detectors miss weak scatterers)
``point_jitter``          Gaussian jitter on positions [m] and radial velocity [m/s]
``point_density``         extra detections of each moving point in neighbouring range bins
                          (devices differ in how many cells CFAR and peak grouping keep)
``radar_pose``            random radar yaw [rad] and height [m]: rotate/shift the points
``elevation_noise``       Gaussian error on each point's elevation angle [rad], range and
                          azimuth kept (a weak or mixed cell's elevation phase is unreliable)
========================  ==================================================================
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from mmexpert.models.inputs import MAP_VIEWS, RawSample

# Columns of the stored point table.
X, Y, Z, VELOCITY, SNR, RANGE, BEARING = range(7)


class AugmentationError(ValueError):
    """An unknown augmentation or a bad augmentation parameter."""


def _resample_time(array: np.ndarray, frames_out: int) -> np.ndarray:
    """Linear interpolation of the last axis to ``frames_out`` columns."""
    frames_in = array.shape[-1]
    if frames_in == frames_out:
        return array.copy()
    positions = np.linspace(0.0, frames_in - 1.0, frames_out)
    lower = np.floor(positions).astype(int)
    upper = np.minimum(lower + 1, frames_in - 1)
    weight = (positions - lower).astype(np.float32)
    return (array[..., lower] * (1 - weight) + array[..., upper] * weight).astype(array.dtype)


@dataclass(frozen=True)
class TimeWarp:
    """Resample the time axis by a factor drawn in ``[min_factor, max_factor]`` (> 1 means a
    faster motion: fewer frames); points keep their per-frame grouping (frames are dropped or
    repeated)."""

    probability: float = 0.5  # chance to fire
    min_factor: float = 0.8  # slowest speed-up factor
    max_factor: float = 1.25  # fastest speed-up factor

    def __call__(self, raw: RawSample, rng: np.random.Generator) -> RawSample:
        if rng.random() >= self.probability:
            return raw
        factor = float(rng.uniform(self.min_factor, self.max_factor))
        out = dict(raw)
        frames_in = None
        for view in MAP_VIEWS:
            if view in raw:
                frames_in = raw[view].shape[-1]
                frames_out = max(2, round(frames_in / factor))
                out[view] = _resample_time(raw[view], frames_out)
        if "points_per_frame" in raw:
            counts = np.asarray(raw["points_per_frame"], dtype=np.int64)
            frames_in = frames_in or len(counts)
            frames_out = max(2, round(frames_in / factor))
            source = np.round(np.linspace(0, len(counts) - 1, frames_out))
            offsets = np.concatenate([[0], np.cumsum(counts)])
            pieces = [raw["points"][offsets[f] : offsets[f + 1]] for f in source.astype(int)]
            out["points"] = (
                np.concatenate(pieces).astype(np.float32) if pieces else raw["points"][:0].copy()
            )
            out["points_per_frame"] = np.array([len(p) for p in pieces], dtype=np.int32)
        return out


@dataclass(frozen=True)
class DopplerScale:
    """Stretch the micro-Doppler velocity axis about its centre (0 m/s) by a factor in
    ``[min_factor, max_factor]``: limbs that move faster or slower than the simulated body.
    Bins pulled in from outside the map get the map's noise floor (its 5th percentile);
    point radial velocities are scaled by the same factor."""

    probability: float = 0.5  # chance to fire
    min_factor: float = 0.8  # velocity-axis compression
    max_factor: float = 1.25  # velocity-axis stretch

    def __call__(self, raw: RawSample, rng: np.random.Generator) -> RawSample:
        if rng.random() >= self.probability:
            return raw
        factor = float(rng.uniform(self.min_factor, self.max_factor))
        out = dict(raw)
        if "micro_doppler" in raw:
            spectrum = raw["micro_doppler"]
            bins = spectrum.shape[0]
            centre = bins // 2  # fftshifted: bin bins//2 is 0 m/s
            source = centre + (np.arange(bins) - centre) / factor
            floor_db = np.percentile(spectrum, 5)
            stretched = np.empty_like(spectrum)
            for column in range(spectrum.shape[1]):
                stretched[:, column] = np.interp(
                    source, np.arange(bins), spectrum[:, column], left=floor_db, right=floor_db
                )
            out["micro_doppler"] = stretched
        if "points" in raw:
            points = raw["points"].copy()
            points[:, VELOCITY] *= factor
            out["points"] = points
        return out


@dataclass(frozen=True)
class MotionSpeed:
    """The same motion done ``factor`` times as fast, factor in ``[min_factor, max_factor]``:
    the time axis is resampled as by :class:`TimeWarp` and every point's radial velocity is
    scaled by the factor and rounded to the device's Doppler bins (``velocity_step_mps``;
    None: the smallest non-zero speed in the clip), so a limb slowed below half a bin lands
    in the zero bin, as on a device. The RadHAR sample's moving points sit in the first
    Doppler bin far more often than simulated ones (half its 2 s windows have at most 4 %
    of them faster, against 19 % for the simulated activities), hence a slower default."""

    probability: float = 0.5  # chance to fire
    min_factor: float = 0.5  # slowest version of the motion
    max_factor: float = 1.1  # fastest version
    velocity_step_mps: float | None = None  # Doppler bin width [m/s]; None: from the clip

    def __call__(self, raw: RawSample, rng: np.random.Generator) -> RawSample:
        if "points" not in raw or rng.random() >= self.probability:
            return raw
        factor = float(rng.uniform(self.min_factor, self.max_factor))
        speeds = np.abs(raw["points"][:, VELOCITY])
        step = self.velocity_step_mps or (float(speeds[speeds > 0].min()) if speeds.any() else 0)
        out = TimeWarp(1.0, factor, factor)(raw, rng)
        if step > 0:
            points = out["points"].copy()
            points[:, VELOCITY] = np.round(points[:, VELOCITY] * factor / step) * step
            out["points"] = points
        return out


@dataclass(frozen=True)
class Amplitude:
    """Slow per-frame gain drift (a smoothed random walk, ``drift_db`` RMS) and a dB contrast
    factor in ``[1 - contrast, 1 + contrast]`` about the map median, on every map view."""

    probability: float = 0.5  # chance to fire
    drift_db: float = 2.0  # RMS gain drift over time [dB]
    contrast: float = 0.2  # relative change of the dB spread

    def __call__(self, raw: RawSample, rng: np.random.Generator) -> RawSample:
        if rng.random() >= self.probability:
            return raw
        out = dict(raw)
        scale = float(rng.uniform(1 - self.contrast, 1 + self.contrast))
        for view in MAP_VIEWS:
            if view not in raw:
                continue
            frames = raw[view].shape[-1]
            walk = np.cumsum(rng.normal(size=frames))
            walk = walk - walk.mean()
            walk *= self.drift_db / max(float(walk.std()), 1e-6)
            median = float(np.median(raw[view]))
            warped = median + (raw[view] - median) * scale + walk[None, :]
            out[view] = warped.astype(np.float32)
        return out


@dataclass(frozen=True)
class Noise:
    """Gaussian noise of ``sigma_db`` on every map bin [dB], and a noise floor raised by up to
    ``floor_raise_db`` above the map's 5th percentile (a noisier real receiver)."""

    probability: float = 0.5  # chance to fire
    sigma_db: float = 1.5  # noise standard deviation [dB]
    floor_raise_db: float = 6.0  # largest floor raise [dB]

    def __call__(self, raw: RawSample, rng: np.random.Generator) -> RawSample:
        if rng.random() >= self.probability:
            return raw
        out = dict(raw)
        raise_db = float(rng.uniform(0.0, self.floor_raise_db))
        for view in MAP_VIEWS:
            if view not in raw:
                continue
            floor_db = float(np.percentile(raw[view], 5)) + raise_db
            noisy = raw[view] + rng.normal(0.0, self.sigma_db, raw[view].shape)
            out[view] = np.maximum(noisy, floor_db).astype(np.float32)
        return out


def _filter_points(raw: RawSample, keep: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    counts = np.asarray(raw["points_per_frame"], dtype=np.int64)
    frame_of_point = np.repeat(np.arange(len(counts)), counts)
    new_counts = np.bincount(frame_of_point[keep], minlength=len(counts)).astype(np.int32)
    return raw["points"][keep].copy(), new_counts


@dataclass(frozen=True)
class PointDropout:
    """Drop each point with probability ``rate``."""

    probability: float = 0.5  # chance to fire
    rate: float = 0.2  # fraction of points dropped

    def __call__(self, raw: RawSample, rng: np.random.Generator) -> RawSample:
        if "points" not in raw or rng.random() >= self.probability:
            return raw
        keep = rng.random(len(raw["points"])) >= self.rate
        points, counts = _filter_points(raw, keep)
        return {**raw, "points": points, "points_per_frame": counts}


@dataclass(frozen=True)
class PointJitter:
    """Gaussian jitter: ``position_m`` on x, y, z [m], ``velocity_mps`` on the radial velocity
    of moving points. A point in the zero Doppler bin stays at exactly 0 m/s, as a device
    reports it: jittering it would make every static return (room clutter, the still torso)
    look like a mover to a model that keeps moving points only."""

    probability: float = 0.5  # chance to fire
    position_m: float = 0.03  # position jitter (about a range bin) [m]
    velocity_mps: float = 0.05  # velocity jitter [m/s]

    def __call__(self, raw: RawSample, rng: np.random.Generator) -> RawSample:
        if "points" not in raw or rng.random() >= self.probability:
            return raw
        points = raw["points"].copy()
        points[:, X : Z + 1] += rng.normal(0.0, self.position_m, (len(points), 3))
        moving = points[:, VELOCITY] != 0.0
        points[moving, VELOCITY] += rng.normal(0.0, self.velocity_mps, int(moving.sum()))
        _refresh_polar(points)
        return {**raw, "points": points}


@dataclass(frozen=True)
class PointDensity:
    """More detections per moving scatterer, as a device with a lower CFAR threshold or
    without peak grouping reports: every moving point gains Poisson(``rate``) copies, with
    ``rate`` drawn per clip in ``[0, max_rate]``, each one or two range cells
    (``range_step_m``) nearer or farther along its line of sight, with a small bearing
    jitter, and in the same Doppler bin (same radial velocity). Static points are left
    alone. The RadHAR sample holds up to 4 moving points per frame where the simulated
    chain gives at most about 2."""

    probability: float = 0.5  # chance to fire
    max_rate: float = 2.0  # largest mean number of copies per moving point
    range_step_m: float = 0.044  # one range cell [m] (RadHAR's IWR1443 config: 4.4 cm)
    bearing_rad: float = 0.05  # bearing jitter of a copy [rad]

    def __call__(self, raw: RawSample, rng: np.random.Generator) -> RawSample:
        if "points" not in raw or rng.random() >= self.probability:
            return raw
        points = raw["points"]
        moving = points[:, VELOCITY] != 0.0
        copies = np.where(moving, rng.poisson(rng.uniform(0.0, self.max_rate), len(points)), 0)
        if not copies.any():
            return raw
        # copies sit right after their point, so the table stays grouped by frame
        out = np.repeat(points, 1 + copies, axis=0)
        is_copy = np.ones(len(out), dtype=bool)
        is_copy[np.concatenate([[0], np.cumsum(1 + copies)[:-1]])] = False
        twins = out[is_copy]
        shift = rng.choice([-2, -1, 1, 2], len(twins)) * self.range_step_m
        ranges = np.linalg.norm(twins[:, X : Z + 1], axis=1)
        scale = np.maximum(ranges + shift, 1e-3) / np.maximum(ranges, 1e-6)
        twins[:, X : Z + 1] *= scale[:, None]
        turn = rng.normal(0.0, self.bearing_rad, len(twins))
        x, y = twins[:, X].copy(), twins[:, Y].copy()
        twins[:, X] = np.cos(turn) * x + np.sin(turn) * y
        twins[:, Y] = -np.sin(turn) * x + np.cos(turn) * y
        _refresh_polar(twins)
        out[is_copy] = twins
        counts = np.asarray(raw["points_per_frame"], dtype=np.int64)
        frame_of_point = np.repeat(np.arange(len(counts)), counts)
        new_counts = np.bincount(frame_of_point, weights=1 + copies, minlength=len(counts))
        return {**raw, "points": out, "points_per_frame": new_counts.astype(np.int32)}


@dataclass(frozen=True)
class RadarPose:
    """A random radar pose: yaw in ``[-max_yaw_rad, max_yaw_rad]`` about the vertical axis and
    a height change in ``[-max_height_m, max_height_m]``, applied to the points (the map views
    are left alone: their geometry changes are not a rigid transform)."""

    probability: float = 0.5  # chance to fire
    max_yaw_rad: float = math.radians(20.0)  # largest yaw [rad]
    max_height_m: float = 0.3  # largest height change [m]

    def __call__(self, raw: RawSample, rng: np.random.Generator) -> RawSample:
        if "points" not in raw or rng.random() >= self.probability:
            return raw
        yaw = float(rng.uniform(-self.max_yaw_rad, self.max_yaw_rad))
        height = float(rng.uniform(-self.max_height_m, self.max_height_m))
        points = raw["points"].copy()
        cos, sin = math.cos(yaw), math.sin(yaw)
        x, y = points[:, X].copy(), points[:, Y].copy()
        points[:, X] = cos * x - sin * y
        points[:, Y] = sin * x + cos * y
        points[:, Z] -= height  # a radar raised by h sees everything h lower
        _refresh_polar(points)
        return {**raw, "points": points}


@dataclass(frozen=True)
class ElevationNoise:
    """Elevation error: each point's elevation angle gains Gaussian noise of a standard
    deviation drawn per clip in ``[min_rad, max_rad]``; its range and azimuth are kept, so
    the error in z grows with range, as an angle error does.

    A TI device estimates elevation from the phase between one elevated row and the azimuth
    row; for a weak detection, or a cell that mixes scatterers at several heights, that
    phase is unreliable. The moving points of the RadHAR sample spread further in z around
    the person (median std 0.24 m) than simulated ones (0.185 m; 0.13-0.20 m for every
    simulated activity but walking), and a model trained without this error mistakes
    squats, boxing and jumping jacks for jumping once their points get it."""

    probability: float = 0.5  # chance to fire
    min_rad: float = 0.0  # smallest per-clip standard deviation of the elevation error [rad]
    max_rad: float = 0.25  # largest one [rad]

    def __call__(self, raw: RawSample, rng: np.random.Generator) -> RawSample:
        if "points" not in raw or rng.random() >= self.probability:
            return raw
        points = raw["points"].copy()
        sigma = float(rng.uniform(self.min_rad, self.max_rad))
        ranges = np.linalg.norm(points[:, X : Z + 1], axis=1)
        elevation = np.arcsin(np.clip(points[:, Z] / np.maximum(ranges, 1e-9), -1.0, 1.0))
        elevation = np.clip(
            elevation + rng.normal(0.0, sigma, len(points)), -0.5 * np.pi, 0.5 * np.pi
        )
        azimuth = np.arctan2(points[:, X], points[:, Y])
        horizontal = ranges * np.cos(elevation)
        points[:, X] = horizontal * np.sin(azimuth)
        points[:, Y] = horizontal * np.cos(azimuth)
        points[:, Z] = ranges * np.sin(elevation)
        _refresh_polar(points)
        return {**raw, "points": points}


def _refresh_polar(points: np.ndarray) -> None:
    """Recompute range [m] and bearing [rad] from x, y, z in place."""
    points[:, RANGE] = np.linalg.norm(points[:, X : Z + 1], axis=1)
    points[:, BEARING] = np.arctan2(points[:, X], points[:, Y])


AUGMENTATIONS: dict[str, type] = {
    "time_warp": TimeWarp,
    "doppler_scale": DopplerScale,
    "motion_speed": MotionSpeed,
    "amplitude": Amplitude,
    "noise": Noise,
    "point_dropout": PointDropout,
    "point_jitter": PointJitter,
    "point_density": PointDensity,
    "radar_pose": RadarPose,
    "elevation_noise": ElevationNoise,
}
"""Registry of augmentations by name."""

DEFAULT_SIM2REAL = ("time_warp", "doppler_scale", "amplitude", "noise")
"""The map augmentations used by default for the synthetic-only classifier (the point
augmentations are added when the point view is used)."""

DEFAULT_POINT_SIM2REAL = (
    "motion_speed",
    "point_dropout:probability=0.7:rate=0.6",
    "point_jitter",
    "point_density",
    "radar_pose",
    "elevation_noise:probability=0.7:max_rad=0.35",
)
"""Added to :data:`DEFAULT_SIM2REAL` when the classifier reads the point view: slower or
faster people (velocities on the Doppler bins), fewer and more detections per scatterer
than the simulated chain gives, jitter, the radar pose, and unreliable elevations.

Dropout and elevation error fire on 70 % of the clips at up to 60 % and 0.35 rad (they
were 50 %, 20 % and 0.25 rad): ``mmexpert feature-shift`` puts the RadHAR sample's
windows where a 0.3 rad elevation error with 60 % of the points dropped puts held-out
clips, and the held-out accuracy under that condition ranked nine classifiers' accuracy on
the sample (Spearman 0.75) where the stress test's mean did not (-0.61). With 60 epochs it
costs about 5 points of held-out synthetic accuracy; with 120 it costs none (README)."""


DEFAULT_CLIP_POINT_SIM2REAL = (
    "elevation_noise:probability=0.7:max_rad=0.35",
    "point_dropout:probability=0.7:rate=0.6",
)
"""What a CLIP model that reads the point view trains with: the classifier's elevation
error and dropout, no other augmentation. With all the classifier's point augmentations
(the weaker ones of then) CLIP lost 7.5 points of held-out synthetic accuracy (0.625
against 0.700, 800-clip store). Against elevation noise alone at the old strength (up to
0.25 rad on half the clips), these two give 0.655 against 0.640 held out and 0.582
against 0.530 under the feature shift's closest gap (1,000-clip store, README)."""


def list_augmentations() -> list[str]:
    """Names of the registered augmentations."""
    return sorted(AUGMENTATIONS)


def parse_augmentation(text: str) -> str | dict[str, Any]:
    """One augmentation written as ``name`` or ``name:key=value:key=value`` (numbers), e.g.
    ``point_dropout:probability=0.7:rate=0.6``, as :func:`build_augmentations` takes it.

    Raises
    ------
    AugmentationError
        For a parameter that is not ``key=number``.
    """
    name, *settings = (part.strip() for part in text.split(":"))
    if not settings:
        return name
    parameters: dict[str, Any] = {"name": name}
    for setting in settings:
        key, equals, value = setting.partition("=")
        try:
            if not (key and equals):
                raise ValueError
            parameters[key.strip()] = float(value)
        except ValueError:
            raise AugmentationError(
                f"augmentation {text!r}: {setting!r} is not key=number"
            ) from None
    return parameters


def build_augmentations(
    specs: Sequence[str | Mapping[str, Any]],
) -> list[Any]:
    """Build augmentations from names, ``name:key=number:...`` texts (see
    :func:`parse_augmentation`) or ``{"name": ..., **parameters}`` dicts.

    Raises
    ------
    AugmentationError
        For an unknown name or parameter, or a probability outside [0, 1].
    """
    built = []
    for spec in specs:
        if isinstance(spec, str):
            spec = parse_augmentation(spec)
        if isinstance(spec, str):
            name, parameters = spec, {}
        else:
            parameters = dict(spec)
            name = str(parameters.pop("name", ""))
        if name not in AUGMENTATIONS:
            raise AugmentationError(f"unknown augmentation {name!r}; known: {list_augmentations()}")
        cls = AUGMENTATIONS[name]
        known = {field.name for field in dataclasses.fields(cls)}
        unknown = sorted(set(parameters) - known)
        if unknown:
            raise AugmentationError(f"augmentation {name!r} has no parameters {unknown}")
        augmentation = cls(**parameters)
        if not 0.0 <= augmentation.probability <= 1.0:
            raise AugmentationError(
                f"augmentation {name!r}: probability must be in [0, 1], got "
                f"{augmentation.probability}"
            )
        built.append(augmentation)
    return built

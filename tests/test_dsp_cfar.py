"""CFAR detectors: false-alarm rate on noise against the closed forms, detection, grouping."""

from __future__ import annotations

import numpy as np
import pytest

from mmexpert.dsp import CFAR_DETECTORS, DspError, TwoPassCFAR, group_peaks
from test_dsp_helpers import SEED

# Thresholds giving a design false-alarm rate of a few 1e-3: ~1,000 expected alarms on a
# 512 x 512 map, so the Poisson spread is ~3 %; overlapping training windows correlate the
# decisions, so the stated tolerance is +-20 % of the design value.
THRESHOLD_DB = {"ca": 8.0, "caso": 10.0, "cago": 8.0, "os": 8.0}
PFA_TOLERANCE = 0.20


@pytest.mark.parametrize("kind", sorted(CFAR_DETECTORS))
@pytest.mark.parametrize("wrap", [False, True])
@pytest.mark.parametrize("axis", [0, 1])
def test_false_alarm_rate_on_exponential_noise(kind, wrap, axis):
    rng = np.random.default_rng(SEED)
    noise = rng.exponential(size=(512, 512))  # |complex Gaussian|^2, one look
    detector = CFAR_DETECTORS[kind](guard=2, train=8, threshold_db=THRESHOLD_DB[kind], wrap=wrap)
    design = detector.design_false_alarm_rate()
    assert 1e-3 < design < 2e-2
    measured = detector(noise, axis=axis).detected.mean()
    assert measured == pytest.approx(design, rel=PFA_TOLERANCE)


@pytest.mark.parametrize("kind", sorted(CFAR_DETECTORS))
def test_noise_estimate_scales_with_noise_level(kind):
    """CFAR is scale invariant: same detections after multiplying the map by 1e6."""
    rng = np.random.default_rng(SEED)
    noise = rng.exponential(size=(64, 256))
    detector = CFAR_DETECTORS[kind](threshold_db=8.0)
    a = detector(noise).detected
    b = detector(noise * 1e6).detected
    assert np.array_equal(a, b)


@pytest.mark.parametrize("kind", sorted(CFAR_DETECTORS))
def test_strong_cell_is_detected(kind):
    rng = np.random.default_rng(SEED)
    power = rng.exponential(size=(16, 128))
    power[5, 60] = 1e3  # 30 dB over the noise mean
    result = CFAR_DETECTORS[kind](threshold_db=15.0)(power)
    assert result.detected[5, 60]
    assert result.cell_snr_db(power)[5, 60] > 25.0


def test_os_cfar_sees_a_target_masked_for_ca_cfar():
    """Two equal targets 4 cells apart: each sits in the other's training window; the mean
    (CA) is pulled up enough to miss at 12 dB, the 12th of 16 ordered cells (OS) is not."""
    rng = np.random.default_rng(SEED)
    power = rng.exponential(size=(1, 128)) * 0.01
    power[0, 60] = power[0, 64] = 1.0  # 20 dB over the noise
    ca = CFAR_DETECTORS["ca"](guard=1, train=8, threshold_db=12.0)(power).detected
    os_ = CFAR_DETECTORS["os"](guard=1, train=8, threshold_db=12.0)(power).detected
    assert not ca[0, 60] and not ca[0, 64]
    assert os_[0, 60] and os_[0, 64]


def test_two_pass_and_peak_grouping_keep_one_cell_per_target():
    """A target spread over a 3x3 blob gives one detection; Doppler wraps around."""
    rng = np.random.default_rng(SEED)
    power = rng.exponential(size=(32, 128))
    blob = np.outer([0.3, 1.0, 0.3], [0.3, 1.0, 0.3]) * 1e4
    power[0:3, 40:43] += blob  # centre (1, 41)
    power[-1, 90] += 1e4  # at the Doppler edge: its neighbour at index 0 wraps around
    power[0, 90] += 3e3
    detector = TwoPassCFAR(
        CFAR_DETECTORS["ca"](2, 8, 15.0, wrap=False), CFAR_DETECTORS["ca"](2, 4, 15.0, wrap=True)
    )
    mask = detector(power).mask
    assert set(zip(*np.nonzero(mask), strict=True)) == {(1, 41), (31, 90)}


def test_group_peaks_needs_matching_shapes():
    with pytest.raises(DspError, match="shape"):
        group_peaks(np.ones((4, 4)), np.ones((4, 5), bool))


def test_bad_cfar_inputs_are_named():
    with pytest.raises(DspError, match="train"):
        CFAR_DETECTORS["ca"](guard=1, train=0)
    with pytest.raises(DspError, match="fewer than the CFAR window"):
        CFAR_DETECTORS["ca"](guard=2, train=8)(np.ones(10))
    with pytest.raises(DspError, match="real power"):
        CFAR_DETECTORS["os"]()(np.ones(64, complex))

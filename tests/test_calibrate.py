"""Link-budget calibration: the offset that simulated the "real" recordings is recovered.

The real side here is simulated by the test itself at a known noise-figure offset and written
in the RadHAR text format, so the right answer is known. Nothing reads the shared RadHAR
sample.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from mmexpert.cli import app
from mmexpert.data.engine import generate, load_specs
from mmexpert.data.store import DatasetStore
from mmexpert.eval.calibrate import (
    BEST_RADAR_CFG,
    CalibrationError,
    balanced_subset,
    calibrate_link_budget,
    with_noise_figure_offset,
    with_range_cfar_threshold,
)
from mmexpert.plan.spec import SampleSpec
from mmexpert.radar.presets import load_radar
from test_eval_real import write_radhar

REPO_ROOT = Path(__file__).resolve().parents[1]
PLAN_SMALL = REPO_ROOT / "examples" / "plan_small.json"
RADAR = "iwr1443-radhar"
TRUE_OFFSET_DB = 12.0


def _three_second_specs() -> list[SampleSpec]:
    """A walker and a squatter, 3 s each (4 windows of 2 s every 1/3 s)."""
    specs = [s for s in load_specs(PLAN_SMALL) if s.activity in ("walk_forward", "squat")]
    out = []
    for spec in specs:
        program = spec.program.model_dump(mode="json")
        program["segments"][0]["duration_s"] = 3.0
        out.append(SampleSpec.model_validate({**spec.model_dump(mode="json"), "program": program}))
    return out


def _write_store_as_radhar(store_dir: Path, out_dir: Path, rate_hz: float) -> None:
    """Every clip of a store as a ti_mmwave_rospkg text dump (x forward, y left)."""
    with DatasetStore.open(store_dir) as store:
        for number, record in enumerate(store.records()):
            sample = store.read_record(record, arrays=["points", "points_per_frame"])
            table, counts = sample.arrays["points"], sample.arrays["points_per_frame"]
            assert counts.min() > 0, "the ROS format cannot hold an empty frame"
            x, y, z, velocity, snr = table[:, :5].astype(np.float64).T
            ros = np.stack([y, -x, z, velocity, snr], axis=1)
            frames = np.split(ros, np.cumsum(counts)[:-1])
            write_radhar(out_dir / f"clip_{number}.txt", frames, rate_hz)


@pytest.fixture(scope="module")
def real_dir(tmp_path_factory) -> Path:
    """Recordings simulated at TRUE_OFFSET_DB."""
    root = tmp_path_factory.mktemp("calibrate")
    radar = load_radar(RADAR)
    specs = with_noise_figure_offset(_three_second_specs(), TRUE_OFFSET_DB)
    generate(specs, radar, root / "real_store", executor="serial", progress=False)
    _write_store_as_radhar(root / "real_store", root / "real", radar.frame_rate_hz)
    return root / "real"


def test_the_offset_of_the_recordings_is_recovered(real_dir: Path, tmp_path: Path) -> None:
    def calibrate():
        return calibrate_link_budget(
            _three_second_specs(),
            load_radar(RADAR),
            f"radhar:{real_dir}",
            tmp_path,
            offsets_db=(0.0, TRUE_OFFSET_DB),
            executor="serial",
            progress=False,
        )

    calibration = calibrate()
    assert calibration.real_recordings == 2 and calibration.real_windows == 8
    at_zero, at_true = calibration.results
    assert calibration.best.offset_db == TRUE_OFFSET_DB
    assert at_true.distance == pytest.approx(0.0, abs=1e-9)  # the same clips on both sides
    assert at_zero.distance > 0.1
    # more limb returns pass CFAR at the datasheet's link budget
    assert (
        at_zero.synthetic_median["movers_per_frame"] > at_true.synthetic_median["movers_per_frame"]
    )
    saved = json.loads((tmp_path / "calibration.json").read_text())
    assert saved["best_offset_db"] == TRUE_OFFSET_DB
    assert saved["radar_cfg"] is None and not (tmp_path / BEST_RADAR_CFG).exists()  # no grid
    assert (tmp_path / "calibration.png").stat().st_size > 10_000
    # a rerun resumes: nothing is simulated again and the answer is the same
    assert calibrate() == calibration
    for offset in ("+0.0", "+12.0"):
        with DatasetStore.open(tmp_path / f"offset_{offset}dB") as store:
            assert len(store.records()) == 2  # stored once, not twice


def test_the_cfar_threshold_of_the_recordings_is_recovered(tmp_path: Path) -> None:
    """Recordings made with a 15 dB range CFAR (the preset has 9 dB) at the true offset: the
    grid over (9, 15 dB) x (the true offset) picks 15 dB, and the CLI prints it."""
    radar = load_radar(RADAR)
    strict = with_range_cfar_threshold(radar, 15.0)
    specs = with_noise_figure_offset(_three_second_specs(), TRUE_OFFSET_DB)
    generate(specs, strict, tmp_path / "real_store", executor="serial", progress=False)
    _write_store_as_radhar(tmp_path / "real_store", tmp_path / "real", radar.frame_rate_hz)
    calibration = calibrate_link_budget(
        _three_second_specs(),
        radar,
        f"radhar:{tmp_path / 'real'}",
        tmp_path / "grid",
        offsets_db=(TRUE_OFFSET_DB,),
        executor="serial",
        progress=False,
        cfar_thresholds_db=(9.0, 15.0),
    )
    at_preset, at_true = calibration.results
    assert (at_preset.cfar_threshold_db, at_true.cfar_threshold_db) == (9.0, 15.0)
    assert calibration.best is at_true and at_true.distance == pytest.approx(0.0, abs=1e-9)
    assert at_preset.distance > 0.0
    # the stricter detector keeps fewer movers
    medians = [r.synthetic_median["movers_per_frame"] for r in calibration.results]
    assert medians[0] > medians[1]
    assert (
        json.loads((tmp_path / "grid" / "calibration.json").read_text())["best_cfar_threshold_db"]
        == 15.0
    )
    assert (tmp_path / "grid" / "cfar_15.0dB" / "offset_+12.0dB" / "store.json").exists()
    # the winner is written as a TI cfg that loads back as the very radar simulated
    assert calibration.radar_cfg == str(tmp_path / "grid" / BEST_RADAR_CFG)
    assert load_radar(calibration.radar_cfg).to_dict() == strict.to_dict()
    with pytest.raises(CalibrationError, match="positive number of dB"):
        with_range_cfar_threshold(radar, -3.0)
    result = CliRunner().invoke(
        app,
        [
            "calibrate", "--plan", str(PLAN_SMALL), "--radar", RADAR,
            "--real", f"radhar:{tmp_path / 'real'}", "--out", str(tmp_path / "grid"),
            "--offsets", "12", "--count", "2", "--cfar-thresholds", "9,15", "--no-progress",
        ],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    # other programs than above, so either threshold may win; the grid is in the table
    printed = " ".join(result.output.split())  # undo rich's wrapping
    assert re.search(r"best noise-figure offset: \+12\.0 dB with range CFAR (9|15) dB", printed)
    assert f"mmexpert run --radar {tmp_path / 'grid' / BEST_RADAR_CFG}" in printed


def test_bad_calibration_inputs_are_refused(tmp_path: Path) -> None:
    specs = _three_second_specs()
    with pytest.raises(CalibrationError, match="less than or equal to 24"):
        with_noise_figure_offset(specs, 40.0)
    radar = load_radar(RADAR)
    with pytest.raises(CalibrationError, match="choose statistics"):
        calibrate_link_budget(specs, radar, "radhar:x", tmp_path, statistics=["loudness"])
    with pytest.raises(CalibrationError, match="at least one"):
        calibrate_link_budget(specs, radar, "radhar:x", tmp_path, offsets_db=())


def test_a_failed_clip_names_the_grid_point_and_the_error(
    real_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The simulator failing on one clip stops the calibration with a message that says
    where (offset, CFAR threshold, store) and why."""
    from mmexpert.data.engine import GenerationReport

    def failing_generate(specs, radar, store_dir, *args, **kwargs):
        return GenerationReport(requested=len(specs), failed=[(1, "sq-123", "segment too short")])

    monkeypatch.setattr("mmexpert.eval.calibrate.generate", failing_generate)
    with pytest.raises(CalibrationError) as error:
        calibrate_link_budget(
            _three_second_specs(),
            load_radar(RADAR),
            f"radhar:{real_dir}",
            tmp_path,
            offsets_db=(8.0,),
            cfar_thresholds_db=(18.0,),
            executor="serial",
            progress=False,
        )
    message = str(error.value)
    assert "1 of 2 clips failed at offset +8 dB with range CFAR 18 dB" in message
    assert "cfar_18.0dB" in message and "sq-123: segment too short" in message


def test_balanced_subset_takes_every_activity_in_turn() -> None:
    specs = load_specs(PLAN_SMALL)
    doubled = [*specs, *specs]  # walk, wave, squat, fall, walk, wave, squat, fall
    subset = balanced_subset(sorted(doubled, key=lambda s: s.activity), 5)
    assert [s.activity for s in subset] == [
        "fall_forward",
        "squat",
        "walk_forward",
        "wave",
        "fall_forward",
    ]


def test_cli_refuses_bad_offsets_and_a_missing_real_folder(tmp_path: Path) -> None:
    runner = CliRunner()
    base = ["calibrate", "--plan", str(PLAN_SMALL), "--radar", RADAR, "--out", str(tmp_path)]
    result = runner.invoke(app, [*base, "--real", "radhar:/nonexistent", "--offsets", "0,x"])
    assert result.exit_code == 2 and "comma-separated numbers" in result.output
    result = runner.invoke(app, [*base, "--real", "radhar:/nonexistent"])
    assert result.exit_code == 2 and "no such file or folder" in result.output


def test_an_offset_without_movers_never_wins() -> None:
    from mmexpert.eval.calibrate import LinkBudgetCalibration, OffsetResult

    def result(offset: float, distance: float) -> OffsetResult:
        return OffsetResult(offset, 1, 1, {}, {}, distance)

    calibration = LinkBudgetCalibration(
        "radhar:x", 1, 1, ("movers_per_frame",), {}, {}, (result(0, float("nan")), result(4, 2.0))
    )
    assert calibration.best.offset_db == 4


def test_a_best_offset_at_the_end_of_the_range_is_flagged() -> None:
    from mmexpert.eval.calibrate import LinkBudgetCalibration, OffsetResult

    def calibration(distances: dict[float, float]) -> LinkBudgetCalibration:
        results = tuple(OffsetResult(o, 1, 1, {}, {}, d) for o, d in distances.items())
        return LinkBudgetCalibration("radhar:x", 1, 1, ("movers_per_frame",), {}, {}, results)

    highest = calibration({8: 1.6, 16: 1.2, 24: 1.05})
    assert highest.best_at_edge == "highest"
    assert "highest one tried" in highest.edge_note and "-6 to +24 dB" in highest.edge_note
    assert calibration({8: 0.9, 16: 1.2, 24: 1.05}).best_at_edge == "lowest"
    inside = calibration({8: 1.6, 16: 1.0, 24: 1.05})
    assert inside.best_at_edge is None and inside.edge_note is None
    assert calibration({12: 1.0}).best_at_edge is None  # one offset has no range
    assert json.loads(calibration({8: 1.6, 24: 1.0}).to_json())["best_at_edge"] == "highest"

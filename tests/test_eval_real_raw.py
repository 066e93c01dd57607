"""Real-data evaluation of raw DCA1000 captures, and class maps read from files.

The captures are written by the tests: simulated person clips (``simulate_person`` with the
dataset engine's chain) saved with ``write_dca1000``. Reading one back and running the
real-data path must give exactly the maps and points the simulator computed from the same
cube, so every window's content is known.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from mmexpert.cli import app
from mmexpert.data.dca1000 import frame_size_bytes, write_dca1000
from mmexpert.data.samples import MAP_VIEWS, POINT_COLUMNS, points_table
from mmexpert.data.simulation import activity_program, simulate_person
from mmexpert.data.store_schema import radar_schema
from mmexpert.dsp.chain import MMEXPERT_VIEWS, ProcessingChain
from mmexpert.eval.metrics import confusion_matrix
from mmexpert.eval.real import (
    RealDataError,
    evaluate_real,
    parse_class_map,
    process_dca1000_capture,
    real_raw_samples,
    window_positions,
)
from mmexpert.radar.cube import RadarCube
from mmexpert.radar.presets import load_radar

RADAR = "iwr1443-radhar"  # 16 loops x 3 TX x 4 RX x 240 samples, 30.0003 frames/s: fast
CAPTURE_FRAMES = 75  # 2.5 s at the preset's rate
MODEL_FRAMES = 12  # window of the tiny models trained here [frames]
CLASS_MAP = {"jack": "jumping jacks", "squats": "squats"}
PROGRAMS = {"jack": "jumping_jacks", "squats": "squat"}


def simulated_capture(program: str, seed: int):
    """A person clip processed with the dataset engine's chain, ADC kept."""
    return simulate_person(
        load_radar(RADAR),
        activity_program(program),
        seed=seed,
        num_frames=CAPTURE_FRAMES,
        chain=ProcessingChain(MMEXPERT_VIEWS),
    )


def write_capture(path: Path, products) -> Path:
    """The products' ADC cube as a DCA1000 ``.bin`` (the unmounted preset's config)."""
    radar = load_radar(RADAR)
    cube = RadarCube(
        adc=products.adc,
        config=radar,
        frame_times_s=np.arange(len(products.adc)) / radar.frame_rate_hz,
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    write_dca1000(path, cube)
    return path


@pytest.fixture(scope="module")
def simulated():
    return {
        folder: simulated_capture(program, seed)
        for seed, (folder, program) in enumerate(PROGRAMS.items())
    }


@pytest.fixture(scope="module")
def capture_dir(simulated, tmp_path_factory) -> Path:
    """jack/ and squats/: one 2.5 s capture each, plus a .bin shorter than one frame."""
    root = tmp_path_factory.mktemp("captures")
    for folder, products in simulated.items():
        write_capture(root / folder / "adc_data.bin", products)
    (root / "squats" / "truncated.bin").write_bytes(b"\x00\x01" * 1000)
    return root


def window_starts(frames: int, window: int, hop_s: float, rate_hz: float) -> list[int]:
    """First frame of every window that fits: round(k * hop * rate) + window <= frames."""
    starts, k = [], 0
    while round(k * hop_s * rate_hz) + window <= frames:
        starts.append(round(k * hop_s * rate_hz))
        k += 1
    return starts


# ---------------------------------------------------------------- reading and windows


def test_a_capture_gives_the_simulators_maps_and_points(simulated, capture_dir):
    radar = load_radar(RADAR)
    products = simulated["squats"]
    for chunk in (16, 128):  # chunked reading changes nothing: frames are independent
        capture = process_dca1000_capture(
            capture_dir / "squats" / "adc_data.bin", radar, frames_per_chunk=chunk
        )
        assert capture.num_frames == CAPTURE_FRAMES and capture.dropped_bytes == 0
        for view in MAP_VIEWS:
            np.testing.assert_array_equal(capture.maps_db[view], products.maps_db[view])
        np.testing.assert_array_equal(np.concatenate(capture.frames), products.points)
    assert products.metadata["points_fft"] == "native"
    assert products.num_points > 0


def test_windows_count_shapes_and_content(simulated, capture_dir):
    rate = load_radar(RADAR).frame_rate_hz
    raws, summary = real_raw_samples("dca1000", capture_dir, CLASS_MAP, radar=RADAR)
    window = round(2.0 * rate)  # 60 frames
    starts = window_starts(CAPTURE_FRAMES, window, 1 / 3, rate)
    assert starts == [0, 10]  # 75 frames: windows at 0 and 10 frames, 20 + 60 > 75
    assert summary.windows_per_class == {"jumping jacks": 2, "squats": 2}
    assert summary.recordings == 2 and summary.windows == len(raws) == 4
    assert summary.frames == 2 * CAPTURE_FRAMES
    assert summary.points == sum(p.num_points for p in simulated.values())
    assert summary.skipped == {"files unreadable as dca1000 captures": 1}
    assert summary.frame_rate_hz == pytest.approx(rate)
    schema = radar_schema()
    folder_of = {name: folder for folder, name in CLASS_MAP.items()}
    for raw in raws:
        products = simulated[folder_of[raw["activity"]]]
        start = starts[round(raw["start_s"] * 3)]
        for view in MAP_VIEWS:
            assert raw[view].shape == (schema.arrays[view].shape[0], window)
            assert raw[view].dtype == np.float32
            np.testing.assert_array_equal(
                raw[view], products.maps_db[view][:, start : start + window]
            )
        # The stored point table of the same frames, frame numbers counted in the window.
        table = points_table(products)
        frame = POINT_COLUMNS.index("frame")
        inside = (table[:, frame] >= start) & (table[:, frame] < start + window)
        expected = table[inside].copy()
        expected[:, frame] -= start
        np.testing.assert_array_equal(raw["points"], expected)
        np.testing.assert_array_equal(
            raw["points_per_frame"], products.points_per_frame[start : start + window]
        )
        assert raw["points_per_frame"].dtype == np.int32


def test_resampling_to_another_model_rate(simulated, capture_dir):
    rate = load_radar(RADAR).frame_rate_hz
    raws, summary = real_raw_samples(
        "dca1000", capture_dir, {"squats": "squats"}, frame_rate_hz=20.0, radar=RADAR
    )
    # 40 frames at 20 Hz span 1.95 s; the capture's last frame is at 74 / 30.0003 = 2.467 s,
    # so windows start at 0 and 1/3 s (2/3 + 1.95 s > 2.467 s).
    assert [raw["start_s"] for raw in raws] == pytest.approx([0.0, 1 / 3])
    assert summary.frame_rate_hz == 20.0
    products = simulated["squats"]
    frame_times = np.arange(CAPTURE_FRAMES) / rate
    for raw in raws:
        times = raw["start_s"] + np.arange(40) / 20.0
        for view in MAP_VIEWS:
            assert raw[view].shape[1] == 40
            expected = np.stack(
                [np.interp(times, frame_times, row) for row in products.maps_db[view]]
            )
            np.testing.assert_allclose(raw[view], expected, atol=2e-4)  # float32 dB
        nearest = np.rint(times * rate).astype(int)
        np.testing.assert_array_equal(raw["points_per_frame"], products.points_per_frame[nearest])
    # Within 1 % of the capture's rate: plain frame runs, no interpolation.
    same, _ = real_raw_samples(
        "dca1000", capture_dir, {"squats": "squats"}, frame_rate_hz=30.0, radar=RADAR
    )
    np.testing.assert_array_equal(
        same[1]["micro_doppler"], products.maps_db["micro_doppler"][:, 10:70]
    )


def test_window_positions_arithmetic():
    plain = window_positions(75, 30.0, 2.0, 1 / 3)
    assert [start for start, _ in plain] == pytest.approx([0.0, 1 / 3])
    np.testing.assert_array_equal(plain[1][1], np.arange(10, 70))
    half = window_positions(100, 50.0, 1.0, 0.5, frame_rate_hz=25.0)  # every other frame
    np.testing.assert_allclose(half[0][1], np.arange(0, 50, 2))
    assert len(half) == 3  # starts 0, 0.5, 1.0 s: last positions 48, 73, 98 <= 99
    assert window_positions(10, 30.0, 2.0, 1 / 3) == []


def test_partial_last_frame_is_dropped_and_counted(capture_dir, tmp_path):
    source = capture_dir / "jack" / "adc_data.bin"
    target = tmp_path / "jack" / "adc_data.bin"
    target.parent.mkdir()
    shutil.copy(source, target)
    with target.open("ab") as handle:
        handle.write(b"\x00" * (frame_size_bytes(load_radar(RADAR)) // 2))
    raws, summary = real_raw_samples("dca1000", tmp_path, None, radar=RADAR)
    reference, _ = real_raw_samples("dca1000", capture_dir, {"jack": "jack"}, radar=RADAR)
    assert summary.skipped == {"partial last frames dropped": 1}
    assert summary.frames == CAPTURE_FRAMES
    assert len(raws) == len(reference) == 2
    np.testing.assert_array_equal(raws[1]["range_time"], reference[1]["range_time"])


def test_raw_reader_errors_are_named(capture_dir, tmp_path):
    with pytest.raises(RealDataError, match=r"reads raw ADC captures.*--radar"):
        real_raw_samples("dca1000", capture_dir, None)
    with pytest.raises(RealDataError, match="--radar is for raw ADC captures"):
        real_raw_samples("radhar", capture_dir, None, radar=RADAR)
    with pytest.raises(RealDataError, match="neither a radar preset nor a cfg file"):
        real_raw_samples("dca1000", capture_dir, None, radar="iwr9999")
    with pytest.raises(RealDataError, match="unknown DCA1000 layout 'xwr68'"):
        real_raw_samples("dca1000", capture_dir, None, radar=RADAR, layout="xwr68")
    with pytest.raises(RealDataError, match=r"no recordings under .*\.bin"):
        real_raw_samples("dca1000", tmp_path, None, radar=RADAR)
    (tmp_path / "walk").mkdir()
    (tmp_path / "walk" / "short.bin").write_bytes(b"\x00" * 64)
    with pytest.raises(RealDataError, match="files unreadable as dca1000 captures"):
        real_raw_samples("dca1000", tmp_path, None, radar=RADAR)


# ---------------------------------------------------------------- map models end to end


@pytest.fixture(scope="module")
def map_model_dir(tmp_path_factory) -> Path:
    from mmexpert.models.synthetic import build_synthetic_store
    from mmexpert.models.train import TrainConfig, train

    store = build_synthetic_store(
        tmp_path_factory.mktemp("store") / "store",
        ["jumping jacks", "squats"],
        2,
        num_frames=MODEL_FRAMES,
        radar=RADAR,
    )
    config = TrainConfig(
        model="classifier-cnn-tiny", epochs=1, batch_size=4, window_frames=MODEL_FRAMES
    )
    model_dir = train(config, store, tmp_path_factory.mktemp("cnn"), progress=False).model_dir
    assert model_dir is not None
    return model_dir


def test_a_map_model_is_scored_on_captures(map_model_dir, capture_dir, tmp_path):
    from mmexpert.models.io import load_model
    from mmexpert.models.predict import class_scores

    assert load_model(map_model_dir).inputs.views == ("micro_doppler",)
    evaluation = evaluate_real(
        map_model_dir, "dca1000", capture_dir, CLASS_MAP, radar=RADAR,
        plot_path=tmp_path / "cm.png",
    )  # fmt: skip
    assert evaluation.model_kind == "classifier"
    assert evaluation.windows_per_class == {"jumping jacks": 2, "squats": 2}
    matrix = np.array(evaluation.confusion)
    assert matrix.sum() == 4 and list(matrix.sum(1)) == [2, 2]
    assert evaluation.accuracy == pytest.approx(np.trace(matrix) / 4)
    assert set(evaluation.per_class) == {"jumping jacks", "squats"}
    assert 0.0 <= evaluation.macro_f1 <= 1.0
    # The same windows scored directly.
    raws, _ = real_raw_samples(
        "dca1000", capture_dir, CLASS_MAP, frame_rate_hz=evaluation.read_report.frame_rate_hz,
        radar=RADAR,
    )  # fmt: skip
    names, scores = class_scores(load_model(map_model_dir), raws)
    truth = [names.index(raw["activity"]) for raw in raws]
    np.testing.assert_array_equal(matrix, confusion_matrix(truth, np.argmax(scores, 1), len(names)))


def test_point_readers_still_refuse_map_models(map_model_dir, capture_dir):
    with pytest.raises(RealDataError, match="must use the 'points' view only"):
        evaluate_real(map_model_dir, "radhar", capture_dir, CLASS_MAP)


# ---------------------------------------------------------------- CLI


def run_cli(*args: object):
    return CliRunner().invoke(app, [str(arg) for arg in args])


def test_cli_eval_real_dca1000_with_a_class_map_file(map_model_dir, capture_dir, tmp_path):
    classes = tmp_path / "classes.txt"
    classes.write_text("# folder = class\n\njack = jumping jacks\nsquats=squats\n")
    result = run_cli(
        "eval-real", "--reader", "dca1000", "--radar", RADAR, "--data", capture_dir,
        "--model", map_model_dir, "--classes", classes, "--out", tmp_path / "out", "--json",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert {"accuracy", "macro_f1", "per_class"} <= set(data)
    assert data["windows_per_class"] == {"jumping jacks": 2, "squats": 2}
    assert data["read_report"]["skipped"] == {"files unreadable as dca1000 captures": 1}
    assert (tmp_path / "out" / "confusion_real.png").is_file()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--reader", "dca1000"), "reads raw ADC captures"),
        (("--reader", "radhar", "--radar", RADAR), "--radar is for raw ADC captures"),
        (("--reader", "dca1000", "--radar", "iwr9999"), "neither a radar preset"),
        (("--reader", "dca1000", "--radar", RADAR, "--classes", "missing.json"), "does not exist"),
    ],
)
def test_cli_eval_real_dca1000_errors_exit_2(map_model_dir, capture_dir, args, message):
    result = run_cli("eval-real", "--data", capture_dir, "--model", map_model_dir, *args)
    assert result.exit_code == 2, result.output
    assert message in " ".join(result.output.split())


# ---------------------------------------------------------------- class maps from files


def test_class_map_files(tmp_path):
    as_json = tmp_path / "classes.json"
    as_json.write_text(json.dumps({"jack": "jumping jacks", "squats": "doing squats"}))
    assert parse_class_map(str(as_json)) == {"jack": "jumping jacks", "squats": "doing squats"}
    assert parse_class_map(as_json) == parse_class_map(str(as_json))
    as_text = tmp_path / "classes"
    as_text.write_text("# RadHAR folders\njack=jumping jacks\n\n  squats = doing squats \nwalk\n")
    assert parse_class_map(str(as_text)) == {
        "jack": "jumping jacks",
        "squats": "doing squats",
        "walk": "walk",
    }
    assert parse_class_map("jack=jumping jacks,squats") == {
        "jack": "jumping jacks",
        "squats": "squats",
    }


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("bad.txt", "jack=jumping jacks\n# ok\nsquats=\n", r"bad.txt, line 3: 'squats=' is not"),
        ("twice.txt", "jack=a\njack=b\n", r"twice.txt, line 2: folder 'jack' is named twice"),
        ("empty.txt", "# nothing\n\n", "maps no folder"),
        (
            "bad.json",
            '{"jack": "jumping jacks",\n "squats": }',
            r"bad.json, line 2: not valid JSON",
        ),
        ("list.json", '["jack"]', "one object of folder -> class"),
        ("number.json", '{"jack": 3}', "must map to a non-empty class name"),
        ("twice.json", '{"jack": "a", "jack": "b"}', "folder 'jack' is named twice"),
    ],
)
def test_bad_class_map_files_name_file_and_line(tmp_path, name, content, message):
    path = tmp_path / name
    path.write_text(content)
    with pytest.raises(RealDataError, match=message):
        parse_class_map(str(path))


def test_a_missing_class_map_file_is_named(tmp_path):
    with pytest.raises(RealDataError, match=r"class map file .*absent\.json does not exist"):
        parse_class_map(str(tmp_path / "absent.json"))

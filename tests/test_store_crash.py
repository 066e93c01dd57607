"""Crash safety: SIGKILL a real writer process at random moments, resume, lose nothing."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from mmexpert.data.store import DatasetStore

# The writer: deterministic samples keyed by index; skips ids already recorded (as the engine
# does), prints "ready" once the store is open (recovery done), "wrote" after each sample.
WRITER_CODE = """
import sys
import numpy as np
from mmexpert.data.store import DatasetStore
from mmexpert.data.store_schema import Sample, radar_schema, sample_key

root, count = sys.argv[1], int(sys.argv[2])
store = DatasetStore.create(root, radar_schema(), exist_ok=True)
print("ready", flush=True)
for index in range(count):
    sample_id = sample_key("crash-test", index)
    if store.has(sample_id):
        continue
    rng = np.random.default_rng(index)
    arrays = {
        "micro_doppler": rng.random((128, 100), dtype=np.float32),
        "range_time": rng.random((256, 100), dtype=np.float32),
        "azimuth_time": rng.random((128, 100), dtype=np.float32),
    }
    metadata = {"activity": ["walk", "sit", "wave"][index % 3], "seeds": {"noise": index}}
    store.put(Sample(sample_id, arrays, metadata))
    print("wrote", flush=True)
if len(sys.argv) > 3 and sys.argv[3] == "compact":
    store.compact(samples_per_pack=3)
print("done", flush=True)
"""


def _expected_arrays(index: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(index)
    return {
        "micro_doppler": rng.random((128, 100), dtype=np.float32),
        "range_time": rng.random((256, 100), dtype=np.float32),
        "azimuth_time": rng.random((128, 100), dtype=np.float32),
    }


def _start_writer(root: Path, count: int, *extra: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", WRITER_CODE, str(root), str(count), *extra],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONHASHSEED": "0"},
    )


def _state_after_kill(root: Path) -> tuple[int, int, int]:
    """(recorded samples, sample files on disk, tmp files) as the killed writer left them."""
    store = DatasetStore.open(root, mode="r")  # read-only: runs no recovery
    try:
        loose, _, tmp_files = store._scan_files()
        return len(store), len(loose), len(tmp_files)
    finally:
        store.close()


def _run_killed_then_resumed(
    root: Path, count: int, kills: int, seed: int
) -> list[tuple[int, int, int]]:
    """Start the writer ``kills`` times, SIGKILL each at a random moment, then finish.

    Each kill lands after 1-5 completed samples plus a random fraction of the next write
    (a write takes a few ms), so it interrupts real writing however fast the machine is.
    Returns the store state after each kill.
    """
    chooser = random.Random(seed)
    states = []
    for _ in range(kills):
        process = _start_writer(root, count)
        assert process.stdout is not None
        first_line = process.stdout.readline().strip()
        assert first_line == "ready", process.stderr.read() if process.stderr else first_line
        for _ in range(chooser.randint(1, 5)):
            assert process.stdout.readline().strip() == "wrote"
        time.sleep(chooser.uniform(0.0, 0.01))
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)
        assert process.returncode == -signal.SIGKILL
        states.append(_state_after_kill(root))
    final = _start_writer(root, count)
    stdout, stderr = final.communicate(timeout=60)
    assert final.returncode == 0, stderr
    lines = stdout.split()
    assert lines[0] == "ready" and lines[-1] == "done"
    assert set(lines[1:-1]) <= {"wrote"}
    return states


def _assert_complete(root: Path, count: int) -> None:
    from mmexpert.data.store_schema import sample_key

    with DatasetStore.open(root, mode="a") as store:
        expected = [sample_key("crash-test", index) for index in range(count)]
        recorded = store.ids()
        assert len(recorded) == len(set(recorded)) == count  # each id exactly once
        assert set(recorded) == set(expected)
        report = store.verify()
        assert report.ok == count
        assert report.clean, report
        for index in (0, count // 2, count - 1):
            sample = store.read(expected[index])
            for name, array in _expected_arrays(index).items():
                np.testing.assert_array_equal(sample.arrays[name], array)
        assert sum(store.info().per_activity.values()) == count


def test_writer_killed_at_random_moments_resumes_exactly_once(tmp_path: Path) -> None:
    root = tmp_path / "store"
    count = 60
    states = _run_killed_then_resumed(root, count, kills=4, seed=1)
    print("after each kill (recorded, files, tmp):", states)
    recorded_before_final = states[-1][0]
    assert 0 < recorded_before_final < count  # the kills interrupted real writing
    _assert_complete(root, count)


@pytest.mark.slow
def test_writer_killed_many_times(tmp_path: Path) -> None:
    root = tmp_path / "store"
    count = 300
    states = _run_killed_then_resumed(root, count, kills=20, seed=7)
    print("after each kill (recorded, files, tmp):", states)
    interrupted_between_file_and_manifest = sum(files > recorded for recorded, files, _ in states)
    print("kills between rename and manifest record:", interrupted_between_file_and_manifest)
    _assert_complete(root, count)


def test_compaction_killed_at_random_moments_loses_nothing(tmp_path: Path) -> None:
    root = tmp_path / "store"
    count = 45
    _run_killed_then_resumed(root, count, kills=0, seed=0)
    chooser = random.Random(3)
    packs_seen = []
    repairs = []
    for _ in range(4):
        process = _start_writer(root, count, "compact")
        assert process.stdout is not None
        assert process.stdout.readline().strip() == "ready"
        time.sleep(chooser.uniform(0.0, 0.15))
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)
        with DatasetStore.open(root, mode="a") as store:  # recovery after each kill
            assert len(store.ids()) == len(set(store.ids())) == count
            assert store.verify().clean
            packs_seen.append(sum("#" in record.path for record in store.records()))
            recovery = store.last_recovery
            repairs.append(
                (
                    len(recovery.removed_tmp),
                    len(recovery.removed_packs),
                    len(recovery.removed_duplicates),
                )
            )
    print("packed samples after each kill:", packs_seen)
    print("repairs (tmp, unreferenced packs, loose duplicates):", repairs)
    final = _start_writer(root, count, "compact")
    _, stderr = final.communicate(timeout=60)
    assert final.returncode == 0, stderr
    _assert_complete(root, count)
    with DatasetStore.open(root) as store:
        assert all("#" in record.path for record in store.records())

"""The dashboard end to end in real headless Chromium (Debian's, driven by Playwright).

A real uvicorn server on a free port serves a small simulated store. The tests open the
page, open a sample and check from screenshots that the 3-D view and the maps are drawn
(pixel variance) and that the time cursor moves; then start a generation run with the
token and watch it complete in the page; and, over an empty folder, start a whole ``run``
recipe from the form, cancel it, resume it and read its rendered report.

Set ``MMEXPERT_WEB_SCREENSHOTS=DIR`` to also save full-page screenshots of the datasets,
sample, runs and playground pages into DIR (the README's ``docs/web_*.png``).
"""

from __future__ import annotations

import contextlib
import io
import os
import shutil
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from mmexpert.data.engine import generate, load_specs
from mmexpert.radar.presets import load_radar
from test_web_jobs_run import TINY

try:
    import uvicorn
    from playwright.sync_api import sync_playwright

    from mmexpert.web import create_app
except ImportError as missing:
    pytest.skip(
        f"the browser tests need the 'web' extra and playwright ({missing.name} is missing)",
        allow_module_level=True,
    )

CHROMIUM = Path("/usr/bin/chromium")
if not CHROMIUM.is_file():
    pytest.skip(
        f"no Chromium at {CHROMIUM} (run .ci/install-browser, or apt-get install chromium)",
        allow_module_level=True,
    )

REPO_ROOT = Path(__file__).resolve().parents[1]
PLAN_SMALL = REPO_ROOT / "examples" / "plan_small.json"
FRAMES = 24  # 0.48 s at 50 Hz: long enough for a visible cursor sweep
TOKEN = "browser-test-token"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS = os.environ.get("MMEXPERT_WEB_SCREENSHOTS")


@contextlib.contextmanager
def _serving(root: Path) -> Iterator[str]:
    """A real uvicorn server on a free port of 127.0.0.1 over the data folder ``root``."""
    app = create_app(root, TOKEN, allowed_hosts=["127.0.0.1", "localhost"])
    instance = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning"))
    thread = threading.Thread(target=instance.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not instance.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{instance.servers[0].sockets[0].getsockname()[1]}"
    finally:
        instance.should_exit = True
        thread.join(timeout=10)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """A real uvicorn server over a data folder with a 3-sample store."""
    root = tmp_path_factory.mktemp("browser") / "data"
    report = generate(
        load_specs(PLAN_SMALL)[:3],
        load_radar("iwr1843-udoppler"),
        root / "small",
        executor="serial",
        progress=False,
        num_frames=FRAMES,
    )
    assert report.ok
    shutil.copy(PLAN_SMALL, root / "plan_small.json")
    with _serving(root) as url:
        yield url


@pytest.fixture(scope="module")
def empty_server(tmp_path_factory):
    """A real uvicorn server over an empty data folder: (url, folder)."""
    root = tmp_path_factory.mktemp("browser-runs") / "data"
    root.mkdir()
    with _serving(root) as url:
        yield url, root


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as driver:
        launched = driver.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    opened = context.new_page()
    errors: list[str] = []
    opened.on("pageerror", lambda error: errors.append(str(error)))
    opened.on(
        "console",
        lambda message: errors.append(message.text) if message.type == "error" else None,
    )
    opened.errors = errors
    yield opened
    context.close()


def _pixels(png: bytes) -> np.ndarray:
    """RGB pixels float64 [height, width, 3] of a PNG screenshot."""
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB"), dtype=np.float64)


def _cursor_column(pixels: np.ndarray) -> int:
    """Column of the white time cursor: the one with the most near-white pixels."""
    white = (pixels > 240).all(axis=2)
    return int(np.argmax(white.sum(axis=0)))


def _save(page, name: str) -> None:
    if SCREENSHOTS:
        Path(SCREENSHOTS).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(SCREENSHOTS) / f"web_{name}.png"), full_page=True)


def test_sample_viewer_draws_the_animation_and_the_maps(server, page):
    page.goto(f"{server}/#token={TOKEN}")
    page.wait_for_selector(".dataset")
    assert "3 samples" in page.inner_text("#dataset-list")
    _save(page, "datasets")
    page.click(".dataset")
    page.wait_for_selector("#sample-table tr.link")
    page.click("#sample-table tr.link >> nth=0")
    page.wait_for_selector("#map-micro_doppler")
    time.sleep(0.3)
    _save(page, "sample")
    space = _pixels(page.locator("#space").screenshot())
    assert space.std() > 8.0, "the 3-D view is blank"
    bright = (space.max(axis=2) > 200).sum()  # skeleton lines and points
    assert bright > 200, f"no skeleton drawn ({bright} bright pixels)"
    for view in ("micro_doppler", "range_time", "azimuth_time"):
        pixels = _pixels(page.locator(f"#map-{view}").screenshot())
        assert pixels.std() > 8.0, f"the {view} map is blank"
    # While playing, the cursor sweeps: two screenshots a little apart differ.
    columns = set()
    for _ in range(12):
        columns.add(_cursor_column(_pixels(page.locator("#map-micro_doppler").screenshot())))
        if len(columns) > 1:
            break
        time.sleep(0.07)
    assert len(columns) > 1, "the time cursor does not move"
    # Dragging the slider moves the cursor right, and the 3-D view follows the frame.
    slider = page.locator("#time-slider")
    slider.fill("2")
    early = _cursor_column(_pixels(page.locator("#map-micro_doppler").screenshot()))
    early_space = _pixels(page.locator("#space").screenshot())
    slider.fill(str(FRAMES - 2))
    late = _cursor_column(_pixels(page.locator("#map-micro_doppler").screenshot()))
    late_space = _pixels(page.locator("#space").screenshot())
    assert late > early + 100, (early, late)
    assert np.abs(late_space - early_space).mean() > 0.05, "the 3-D view did not change"
    assert page.locator("#time-label").inner_text() == f"t = {(FRAMES - 2) / 50:.3f} s"
    assert "A man walks" in page.inner_text("#captions")
    assert not page.errors, page.errors


def test_a_generation_run_started_in_the_page_completes(server, page):
    page.goto(f"{server}/#token={TOKEN}")
    page.wait_for_selector("#token-status.ok")
    page.goto(f"{server}/#/runs")
    page.wait_for_selector("#run-form")
    page.fill("#scenario", "people doing squats and walking")
    page.fill("#count", "2")
    page.select_option("#llm", "echo")
    page.select_option("#encoder", "ngram")
    page.fill("#num_frames", "8")
    page.select_option("#executor", "serial")
    page.click("#start-run")
    page.wait_for_selector("#run-message.ok")
    page.wait_for_selector(".job-row[data-state=done]", timeout=60_000)
    page.click(".job-row[data-state=done]")
    page.wait_for_selector("#job-log")
    assert "2 of 2 samples stored" in page.inner_text("#job-log")
    _save(page, "runs")
    page.click(".job-row[data-state=done] a:text('dataset')")
    page.wait_for_selector("#sample-table")
    assert page.locator("#sample-table tr.link").count() == 2
    assert not page.errors, page.errors


def test_runs_refuse_a_missing_token(server, page):
    page.goto(f"{server}/#/runs")
    page.evaluate("localStorage.removeItem('mmexpertToken')")
    page.reload()
    page.wait_for_selector("#run-form")
    methods = page.eval_on_selector_all("#adapt option", "options => options.map(o => o.value)")
    assert methods == ["none", "mean", "standardize", "coral"]  # from /api/info
    page.fill("#scenario", "people doing squats")
    page.click("#start-run")
    page.wait_for_selector("#run-message.error")
    assert "token" in page.inner_text("#run-message")


@pytest.mark.slow
def test_the_runs_page_starts_cancels_resumes_and_shows_a_run_report(empty_server, page):
    """About 15 s: the page's form, Cancel and Resume buttons, and the rendered report."""
    server, root = empty_server
    page.goto(f"{server}/#token={TOKEN}")
    page.wait_for_selector("#token-status.ok")
    page.goto(f"{server}/#/runs")
    page.wait_for_selector("#run-form")
    page.select_option("#kind", "run")
    assert page.is_visible("#run-name") and not page.is_visible("#rounds")
    page.fill("#scenario", TINY["scenario"])
    page.fill("#count", "4")
    page.fill("#epochs", "1")
    page.select_option("#radar", TINY["radar"])
    page.select_option("#llm", "echo")
    page.select_option("#encoder", "ngram")
    page.fill("#num_frames", "8")
    page.select_option("#executor", "serial")
    page.fill("#run-name", "from-the-page")
    page.click("#start-run")
    page.wait_for_selector("#run-message.ok")
    # The recipe process needs over a second to start: the row is running by then.
    page.click(".job-row[data-state=running] button.cancel", timeout=30_000)
    page.wait_for_selector(".job-row[data-state=cancelled]", timeout=30_000)
    assert not (root / "runs" / "recipes" / "from-the-page" / "report.md").exists()
    page.click(".job-row[data-state=cancelled] button:text('resume')")
    page.wait_for_selector(".job-row[data-state=done]", timeout=90_000)
    page.click(".job-row[data-state=done]")
    page.wait_for_selector("#run-report img.report-figure", timeout=10_000)
    assert "mmExpert run" in page.inner_text("#run-report")
    assert "Held-out synthetic data" in page.inner_text("#run-report")
    page.wait_for_function(
        "[...document.querySelectorAll('#run-report img')].every((i) => i.complete)"
    )
    widths = page.eval_on_selector_all(
        "#run-report img.report-figure", "(images) => images.map((i) => i.naturalWidth)"
    )
    report = (root / "runs" / "recipes" / "from-the-page" / "report.md").read_text()
    figures = report.count(".png)")  # the form's run holds out no clip: 1 figure, or 2
    assert figures >= 1 and len(widths) == figures and min(widths) > 100, widths
    assert "cancelled" in page.inner_text("#job-log")
    assert not page.errors, page.errors

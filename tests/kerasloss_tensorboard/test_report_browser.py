"""The report in headless Chromium: opened from a file:// path with the network off.

Run by `make test-browser` (KERASLOSS_BROWSER_TEST=1; Debian's chromium). The logs are those of the
demo (`examples/factorization.py`, as `make demo` runs it, on a tiny synthetic rating set) beside a
log_dir named like markup; Chromium is driven as in test_browser.py (docs/screenshot.py's `Browser`).
"""

import os
import shutil
import sys
import time

import pytest

from kerasloss_tensorboard import report

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(REPO, "docs"))
sys.path.insert(0, os.path.join(REPO, "examples"))
import factorization  # noqa: E402
import screenshot  # noqa: E402

from tests.callbacks.test_faults import diverged_fit  # noqa: E402
from tests.test_examples import TINY_FACTORIZATION  # noqa: E402

pytestmark = pytest.mark.skipif(
    os.environ.get("KERASLOSS_BROWSER_TEST") != "1", reason="browser test: run by `make test-browser`"
)
HOSTILE = "<img src=x onerror=alert(1)>"
DRAWN = "!!(document.querySelector('#loss-section svg') && document.querySelector('#posthoc-section svg'))"


def _wait(browser, expression, timeout=30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if browser.evaluate(expression):
            return
        time.sleep(0.2)
    raise AssertionError(f"the report did not show {expression!r} within {timeout} s")


def test_the_report_opens_from_disk_offline_and_shows_the_demo_with_names_as_text(tmp_path):
    chromium = screenshot.find_chromium()
    if chromium is None:
        pytest.fail("no Chromium on PATH: `make test-browser` installs Debian's chromium")
    logs = tmp_path / "runs"
    factorization.main(TINY_FACTORIZATION + ["--logdir", str(logs / "factorization")])
    shutil.copytree(logs / "factorization", logs / HOSTILE)
    path = tmp_path / "report.html"
    report.write(logs, str(path))
    with screenshot.Browser(chromium, 1400, 900) as browser:
        browser.call("Network.emulateNetworkConditions", session=True, offline=True, latency=0,
                     downloadThroughput=-1, uploadThroughput=-1)
        browser.open(path.as_uri())
        _wait(browser, DRAWN)

        # the first log_dir (sorted) is the one named like markup: its name is text, nothing ran
        options = browser.evaluate("Array.from(document.querySelectorAll('.group-select option'), o => o.textContent)")
        assert options == [HOSTILE, "factorization"]
        assert browser.evaluate("document.querySelectorAll('img').length") == 0

        browser.evaluate("(() => { const s = document.querySelector('.group-select'); s.value = 'factorization';"
                         " s.dispatchEvent(new Event('change')); return true; })()")
        _wait(browser, "document.querySelector('.hparams').textContent.includes('MeanSquaredError')")
        _wait(browser, "document.querySelectorAll('#compare-section svg').length >= 1")
        text = browser.evaluate("document.body.innerText")
        for expected in ("squared_error", "regularization", "loss/total", "train", "validation",
                         "held-out post-hoc metrics", "metrics/rmse", "metrics/mae", "Compare runs", HOSTILE):
            assert expected in text, expected
        assert browser.evaluate("document.querySelectorAll('#loss-section polygon.band').length") == 2 * 2
        assert "error" not in browser.evaluate("document.querySelector('.status').textContent")

        time.sleep(0.5)
        assert browser.dialogs == [] and browser.console_errors == []
        assert [url for url in browser.requests if not url.startswith((path.as_uri(), "data:"))] == []


def test_the_report_of_a_training_that_diverged_to_nan_shows_dashes_and_raises_nothing(tmp_path):
    chromium = screenshot.find_chromium()
    if chromium is None:
        pytest.fail("no Chromium on PATH: `make test-browser` installs Debian's chromium")
    diverged_fit(tmp_path / "runs" / "nan")
    path = tmp_path / "report.html"
    report.write(tmp_path / "runs", str(path))
    with screenshot.Browser(chromium, 1400, 900) as browser:
        browser.open(path.as_uri())
        _wait(browser, "document.querySelectorAll('#ledger-section tbody tr').length > 0"
                       " && !!document.querySelector('#calibration-section .chart-title')")
        titles = browser.evaluate("Array.from(document.querySelectorAll('#calibration-section .chart-title'),"
                                  " t => t.textContent)")
        assert titles and all("ECE –" in title for title in titles)
        assert browser.evaluate("document.querySelectorAll('#calibration-section rect.calibration-bar').length") == 0
        aums = browser.evaluate("Array.from(document.querySelectorAll('#ledger-section tbody tr'), r => r.cells[3].textContent)")
        assert set(aums) == {"–"}
        assert browser.evaluate("document.querySelectorAll('#ledger-section circle').length") == 0
        assert "error" not in browser.evaluate("document.querySelector('.status').textContent")
        time.sleep(0.5)
        assert browser.dialogs == [] and browser.console_errors == []

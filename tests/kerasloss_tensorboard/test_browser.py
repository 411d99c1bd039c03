"""The "kerasloss" tab in headless Chromium, on a real `tensorboard` (127.0.0.1) over real logs.

Run by `make test-browser` (which installs Debian's chromium when missing and sets
KERASLOSS_BROWSER_TEST=1); a plain `pytest` skips it. The page does not depend on the Keras backend,
so it runs once. Chromium is driven through the DevTools protocol over a pipe (docs/screenshot.py's
`Browser`), which records every request of the page and its iframes and every JavaScript dialog.
"""

import os
import sys
import time

import pytest
from tests.kerasloss_tensorboard.test_plugin import _classifier_fit  # the same tiny logged classifier
from tests.kerasloss_tensorboard.test_plugin_logs import negative_weight_fit

from kerasloss.callbacks import summaries

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "docs"))
import screenshot  # noqa: E402

pytestmark = pytest.mark.skipif(
    os.environ.get("KERASLOSS_BROWSER_TEST") != "1", reason="browser test: run by `make test-browser`"
)
HOSTILE = "<img src=x onerror=alert(1)>"


def _texts(browser):
    return browser.plugin("doc.body.innerText")


def test_the_tab_shows_components_runs_and_posthoc_and_renders_user_data_as_text(tmp_path):
    chromium = screenshot.find_chromium()
    if chromium is None:
        pytest.fail("no Chromium on PATH: `make test-browser` installs Debian's chromium")
    _classifier_fit(tmp_path / "ls0.1", 0.1, epochs=3)
    _classifier_fit(tmp_path / HOSTILE, 0.0, epochs=3)
    with screenshot.tensorboard(tmp_path, ready=screenshot.lists_groups(2)) as base, \
            screenshot.Browser(chromium, 1400, 900) as browser:
        browser.open(screenshot.TAB_URL.format(base=base))
        browser.wait_for_plugin(screenshot.DRAWN)

        # the first log directory (sorted) is the hostile one: its name is text, nothing runs
        options = browser.plugin("Array.from(doc.querySelectorAll('.group-select option'), o => o.textContent)")
        assert options == [HOSTILE, "ls0.1"]
        assert HOSTILE in _texts(browser)  # also in the compare legend and pickers, as text
        assert browser.plugin("doc.querySelectorAll('img').length") == 0

        screenshot.select_group(browser, "ls0.1")
        browser.wait_for_plugin("doc.body.innerText.includes('uniform_cross_entropy')")
        text = _texts(browser)
        for expected in ("cross_entropy", "uniform_cross_entropy", "regularization", "loss/total",
                         "train", "validation", "held-out post-hoc metrics", "metrics/accuracy",
                         "entropy/mean", "entropy/per_example", "Compare runs", "label_smoothing=0.1"):
            assert expected in text, expected
        assert browser.plugin("doc.querySelectorAll('#loss-section polygon.band').length") == 2 * 3

        # shares: the tooltip of a step lists every band with its share of loss/total
        browser.plugin("(doc.querySelectorAll('.toggle button')[1].click(), true)")
        browser.wait_for_plugin("doc.body.innerText.includes('share of loss/total (%)')")
        tooltip = browser.plugin(
            "(() => { const a = doc.querySelector('#loss-section .hover-area'), r = a.getBoundingClientRect();"
            " a.dispatchEvent(new MouseEvent('mousemove', {clientX: r.right - 2, clientY: r.top + 20}));"
            " return doc.querySelector('.tooltip').innerText; })()")
        assert tooltip.startswith("step 2")
        shares = [float(part.split("%")[0]) for part in tooltip.split("(")[1:]]
        assert len(shares) == 3 and sum(shares) == pytest.approx(100.0, abs=0.01)

        # a log directory written while the page is open appears without reloading the page
        summaries.write_scalars(tmp_path / "late", summaries.TRAIN, 0, {"loss/total": 1.0})
        summaries.close(tmp_path / "late")
        browser.wait_for_plugin("Array.from(doc.querySelectorAll('.group-select option'))"
                                ".some(o => o.textContent === 'late')", timeout=30)
        assert sum("plugin_entry.html" in url for url in browser.requests) == 1

        time.sleep(0.5)
        assert browser.dialogs == []
        assert browser.console_errors == []
        outside = [u for u in browser.requests if not u.startswith((base + "/", "data:", "blob:"))]
        assert outside == [], f"the page requested outside {base}: {outside}"
        assert not any(u.endswith("/x") for u in browser.requests)


# every band of the loss section lies within its chart's plot area (the hover area), vertically
_BANDS_INSIDE = """Array.from(doc.querySelectorAll('#loss-section svg.chart')).every((svg) => {
  const area = svg.querySelector('.hover-area').getBBox();
  const bands = Array.from(svg.querySelectorAll('.band'));
  return bands.length > 0 && bands.every((band) => { const b = band.getBBox();
    return b.y >= area.y - 0.5 && b.y + b.height <= area.y + area.height + 0.5; });
})"""
_COMPARE_LEGEND = "Array.from(doc.querySelectorAll('#compare-section .legend-item'), e => e.textContent)"


def test_negative_bands_stay_in_their_chart_and_a_bare_or_crowded_log_directory_reads_plainly(tmp_path):
    chromium = screenshot.find_chromium()
    if chromium is None:
        pytest.fail("no Chromium on PATH: `make test-browser` installs Debian's chromium")
    negative_weight_fit(tmp_path / "cosine", "cosine_similarity")
    negative_weight_fit(tmp_path / "kl", "kl_divergence")
    plain = [f"plain{i:02d}" for i in range(30)]  # custom-loop logs: no hparams record
    for i, name in enumerate(plain):
        for step in range(2):
            summaries.write_scalars(tmp_path / name, summaries.TRAIN, step, {"loss/total": i + step, "loss/ce": i + step})
    summaries.close_all()
    with screenshot.tensorboard(tmp_path, ready=screenshot.lists_groups(32)) as base, \
            screenshot.Browser(chromium, 1400, 900) as browser:
        browser.open(screenshot.TAB_URL.format(base=base))
        browser.wait_for_plugin(screenshot.DRAWN)
        for group, negative in (("cosine", "cosine_similarity"), ("kl", "target_entropy")):
            screenshot.select_group(browser, group)
            browser.wait_for_plugin(f"doc.body.innerText.includes('{negative}')")
            for mode, label in ((1, "share of loss/total (%)"), (0, "loss")):
                browser.plugin(f"(doc.querySelectorAll('.toggle button')[{mode}].click(), true)")
                browser.wait_for_plugin(f"doc.querySelector('#loss-section .chart text.label:last-of-type')"
                                        f".textContent === '{label}'")
                assert browser.plugin(_BANDS_INSIDE), (group, label)

        # the legends name the hparams a log directory has, never another loss's as "name=–"
        legend = browser.plugin(_COMPARE_LEGEND)
        assert any("loss=KLDivergence" in item for item in legend)
        assert not any("=–" in item for item in legend), legend

        # 32 log directories: all ticked, each keeps a hue of its own in the train loss/total chart
        browser.plugin("(() => { const s = doc.querySelector('#compare-section .tag-select');"
                       " s.value = JSON.stringify(['train', 'loss/total']); s.dispatchEvent(new Event('change'));"
                       " return true; })()")
        browser.wait_for_plugin("doc.querySelectorAll('#compare-section .chart').length === 2")
        browser.plugin("(Array.from(doc.querySelectorAll('#compare-section input[type=checkbox]'))"
                       ".filter(b => !b.checked).forEach(b => b.click()), true)")
        browser.wait_for_plugin("Array.from(doc.querySelectorAll('#compare-section .legend'))"
                                ".some(l => l.children.length === 32)", timeout=60)
        swatches = browser.plugin("Array.from(Array.from(doc.querySelectorAll('#compare-section .legend'))"
                                  ".find(l => l.children.length === 32).querySelectorAll('.swatch'),"
                                  " s => s.style.background)")
        assert len(set(swatches)) == 32

        # a log directory without hparams: nothing after the status in the header
        screenshot.select_group(browser, "plain00")
        browser.wait_for_plugin("doc.querySelector('.group-select').value === 'plain00'")
        assert "null" not in browser.plugin("doc.querySelector('header').innerText")
        assert browser.console_errors == []

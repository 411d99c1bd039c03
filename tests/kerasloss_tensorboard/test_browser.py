"""The "kerasloss" tab in headless Chromium, on a real `tensorboard` (127.0.0.1) over real logs.

Run by `make test-browser` (which installs Debian's chromium when missing and sets
KERASLOSS_BROWSER_TEST=1); a plain `pytest` skips it. The page does not depend on the Keras backend,
so it runs once. Chromium is driven through the DevTools protocol over a pipe (docs/screenshot.py's
`Browser`), which records every request of the page and its iframes and every JavaScript dialog.
"""

import json
import os
import sys
import time

import keras
import numpy as np
import pytest
from tests.kerasloss_tensorboard.test_plugin import _classifier_fit  # the same tiny logged classifier
from tests.kerasloss_tensorboard.test_plugin_logs import negative_weight_fit

import kerasloss
from kerasloss.callbacks import ExampleLedger, LossComponentLogger, summaries
from kerasloss.metrics import loss_components

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


def _ledger_fit(log_dir, ids):
    """A tiny logit classifier fitted 4 epochs with ExampleLedger (top 8) and LossComponentLogger."""
    keras.utils.set_random_seed(0)
    x = np.random.default_rng(0).normal(size=(60, 4)).astype("float32")
    y = np.random.default_rng(1).integers(0, 3, size=60)
    loss = kerasloss.SparseCategoricalCrossentropy(from_logits=True)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3)])
    model.compile(keras.optimizers.SGD(0.3), loss=loss, metrics=loss_components(loss))
    ledger = ExampleLedger(log_dir, (x, y), ids=ids, top_k=8)
    model.fit(x, y, epochs=4, batch_size=16, verbose=0, callbacks=[ledger, LossComponentLogger(log_dir)])
    summaries.close(log_dir)
    return ledger


_LEDGER_ROWS = "Array.from(doc.querySelectorAll('#ledger-section tbody tr'), r => Array.from(r.cells, c => c.textContent))"
# per table row, the (x, y) points of its loss sparkline (none below two finite values)
_SPARKLINES = ("Array.from(doc.querySelectorAll('#ledger-section tbody tr'), r => {"
               " const s = r.querySelector('svg.sparkline'), p = s && s.querySelector('polyline');"
               " return s ? (p ? p.getAttribute('points').split(' ').map(q => q.split(',').map(Number)) : []) : null; })")
_CIRCLES = "Array.from(doc.querySelectorAll('#ledger-section circle'), c => Number(c.getAttribute('cy')))"


def test_the_examples_section_shows_a_real_ledger_and_renders_ids_and_run_names_as_text(tmp_path):
    chromium = screenshot.find_chromium()
    if chromium is None:
        pytest.fail("no Chromium on PATH: `make test-browser` installs Debian's chromium")
    ledger = _ledger_fit(tmp_path / "digits", [f"row{i}" for i in range(60)])
    _ledger_fit(tmp_path / HOSTILE, [f"{HOSTILE}{i}" for i in range(60)])
    with screenshot.tensorboard(tmp_path, ready=screenshot.lists_groups(2)) as base, \
            screenshot.Browser(chromium, 1400, 900) as browser:
        browser.open(screenshot.TAB_URL.format(base=base))
        # the first log directory (sorted) is the hostile one: its name and its ids are text
        browser.wait_for_plugin("doc.querySelectorAll('#ledger-section tbody tr').length === 8")
        assert browser.plugin(_LEDGER_ROWS)[0][0].startswith(HOSTILE)
        assert any(item.startswith(HOSTILE) for item in browser.plugin(_COMPARE_LEGEND.replace("compare", "ledger")))
        assert browser.plugin("doc.querySelectorAll('img').length") == 0

        screenshot.select_group(browser, "digits")
        expected = ledger.table(k=8)
        browser.wait_for_plugin(f"(doc.querySelector('#ledger-section tbody td') || {{}}).textContent === "
                                f"{json.dumps(expected['id'][0])}")
        text = browser.plugin("doc.querySelector('#ledger-section').innerText")
        assert "60 examples, 4 evaluated epochs (last step 3)" in text
        assert f"{len(ledger.suspects())} likely label errors below the automatic cut" in text

        # the rows: the ledger's 8 lowest AUM, in its order, each with its label, prediction and AUM
        headers = browser.plugin("Array.from(doc.querySelectorAll('#ledger-section th'), h => h.textContent)")
        assert headers[:4] == ["id", "label", "predicted", "AUM ▲"] and headers[-1] == "loss per epoch"
        rows = browser.plugin(_LEDGER_ROWS)
        assert [row[0] for row in rows] == expected["id"].tolist()
        assert [(int(row[1]), int(row[2])) for row in rows] == list(zip(expected["label"], expected["predicted"]))
        np.testing.assert_allclose([float(row[3]) for row in rows], expected["aum"], rtol=1e-3)

        # each row's sparkline: one point per epoch it was among the top 8, the highest loss on top
        trajectories = dict(zip(ledger.stats.top.tolist(), ledger.stats.trajectories()["loss"]))
        for points, index in zip(browser.plugin(_SPARKLINES), [int(i[3:]) for i in expected["id"]]):
            losses = trajectories[index][np.isfinite(trajectories[index])]
            assert len(points) == (len(losses) if len(losses) >= 2 else 0)
            if len(points) >= 2 and np.ptp(losses) > 0:
                assert np.argmin([y for _, y in points]) == np.argmax(losses)

        # sorting by mean loss: highest first among the listed rows
        browser.plugin("(Array.from(doc.querySelectorAll('#ledger-section th'))"
                       ".find(h => h.textContent === 'mean loss').click(), true)")
        browser.wait_for_plugin("Array.from(doc.querySelectorAll('#ledger-section th'))"
                                ".some(h => h.textContent === 'mean loss ▼')")
        by_loss = expected[np.argsort(-expected["mean_loss"], kind="stable")]["id"].tolist()
        assert [row[0] for row in browser.plugin(_LEDGER_ROWS)] == by_loss

        # the cartography: one point per example, higher on the chart for a higher confidence, and
        # the three regions
        heights = browser.plugin(_CIRCLES)
        confidence = ledger.table(sort="id")["confidence"]
        assert len(heights) == 60
        assert np.all(np.diff(np.asarray(heights)[np.argsort(confidence)]) <= 1e-6)
        regions = browser.plugin("Array.from(doc.querySelectorAll('#ledger-section .region-label'), t => t.textContent)")
        assert regions == ["easy to learn", "hard to learn", "ambiguous"]
        assert browser.plugin("doc.querySelectorAll('#ledger-section rect.region').length") == 3

        time.sleep(0.5)
        assert browser.dialogs == []
        assert browser.console_errors == []

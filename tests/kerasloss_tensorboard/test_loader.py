"""The `tensorboard_plugins` entry point: a light loader that never takes TensorBoard down."""

import json
import os
import subprocess
import sys
import textwrap
import urllib.error
import urllib.request

import pytest

from kerasloss.callbacks import summaries
from kerasloss_tensorboard import loader
from kerasloss_tensorboard import plugin as kerasloss_plugin

DOCS = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "docs")
sys.path.insert(0, DOCS)
import screenshot  # noqa: E402  (docs/screenshot.py: the tensorboard server helper)

# TensorBoard reading our event files does not depend on the Keras backend that wrote them
# (every backend writes the same tags: tests/callbacks/test_backends.py); run once, on TensorFlow.
pytestmark = pytest.mark.backend_neutral

BROKEN_IMPORT = textwrap.dedent("""
    import importlib.abc, sys

    class _BreakPlugin(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name == "kerasloss_tensorboard.plugin":
                raise ImportError("injected by the test: the plugin cannot be imported")

    sys.meta_path.insert(0, _BreakPlugin())
""")


def _read(url):
    with urllib.request.urlopen(url, timeout=10) as response:
        return response.headers.get("Content-Type"), response.read()


def _serves_scalars(base):
    _, body = _read(f"{base}/data/plugin/scalars/tags")
    return bool(json.loads(body))


def test_the_entry_point_names_the_loader():
    from importlib import metadata

    points = metadata.entry_points().select(group="tensorboard_plugins", name="kerasloss")
    assert [p.value for p in points] == ["kerasloss_tensorboard.loader:KerasLossLoader"]


def test_importing_the_tab_package_imports_neither_keras_nor_tensorflow_nor_kerasloss():
    modules = ", ".join(f"kerasloss_tensorboard.{m}" for m in ("loader", "metadata", "plugin", "series", "summary_v2"))
    code = f"import sys, {modules}; print(sorted({{'keras', 'tensorflow', 'kerasloss'}} & set(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_the_loader_loads_the_real_plugin(tmp_path):
    from tensorboard.plugins import base_plugin

    plugin = loader.KerasLossLoader().load(base_plugin.TBContext(data_provider=None, logdir=str(tmp_path)))
    assert isinstance(plugin, kerasloss_plugin.KerasLossPlugin)


def test_a_broken_plugin_import_leaves_tensorboard_serving_and_says_why_in_the_tab(tmp_path):
    logs = tmp_path / "logs"
    summaries.write_scalars(logs, summaries.TRAIN, 0, {"loss/total": 1.5})
    summaries.close(logs)
    site = tmp_path / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text(BROKEN_IMPORT)
    # no empty entry: it would put the working directory, and any stale kerasloss.egg-info there
    # (which has no entry point), ahead of the installed distribution
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(site), os.environ.get("PYTHONPATH")])))
    with screenshot.tensorboard(logs, timeout=60, env=env, ready=_serves_scalars) as base:
        _, scalars = _read(f"{base}/data/plugin/scalars/tags")
        assert "loss/total" in json.loads(scalars)["train"]  # other dashboards are served
        with pytest.raises(urllib.error.HTTPError, match="404"):
            _read(f"{base}/data/plugin/kerasloss/groups")  # the real plugin is not there
        _, listing = _read(f"{base}/data/plugins_listing")
        assert json.loads(listing)["kerasloss"]["enabled"] is True
        content_type, js = _read(f"{base}/data/plugin/kerasloss/index.js")
        assert content_type.startswith("text/javascript") and b"textContent" in js
        _, error = _read(f"{base}/data/plugin/kerasloss/error")
        assert "injected by the test: the plugin cannot be imported" in json.loads(error)["message"]

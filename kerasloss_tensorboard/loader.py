"""TensorBoard's entry point for the "kerasloss" tab, and the tab shown when the plugin cannot load.

TensorBoard imports every `tensorboard_plugins` entry point without catching errors. This package
imports nothing of kerasloss' or Keras', so loading it is cheap; still, if building the plugin
fails for any reason (a broken TensorBoard or werkzeug install, a bug of ours), the tab shows the
error while TensorBoard serves every other dashboard.
"""

import json
import logging

from tensorboard.plugins import base_plugin

from kerasloss_tensorboard.metadata import PLUGIN_NAME

_logger = logging.getLogger("kerasloss")

# The error tab's frontend: the message is fetched as JSON and shown as text, never as HTML.
_ERROR_JS = """export async function render() {
  const box = document.createElement("pre");
  box.style.cssText = "font: 14px/1.4 sans-serif; white-space: pre-wrap; margin: 24px; color: #b00020";
  document.body.appendChild(box);
  const response = await fetch("./error");
  box.textContent = "The kerasloss plugin could not load:\\n" + (await response.json()).message;
}
"""


class LoadErrorPlugin(base_plugin.TBPlugin):
    """The "kerasloss" tab when the real plugin cannot load: it shows `message`."""

    plugin_name = PLUGIN_NAME

    def __init__(self, context, message):
        self.message = message

    def get_plugin_apps(self):
        return {"/index.js": self._serve_js, "/error": self._serve_error}

    def is_active(self):
        return True

    def frontend_metadata(self):
        return base_plugin.FrontendMetadata(es_module_path="/index.js", tab_name=PLUGIN_NAME)

    def _serve_js(self, environ, start_response):
        return self._respond(start_response, _ERROR_JS, "text/javascript")

    def _serve_error(self, environ, start_response):
        return self._respond(start_response, json.dumps({"message": self.message}), "application/json")

    @staticmethod
    def _respond(start_response, text, content_type):
        body = text.encode("utf-8")
        start_response("200 OK", [("Content-Type", f"{content_type}; charset=utf-8"),
                                  ("Content-Length", str(len(body)))])
        return [body]


class KerasLossLoader(base_plugin.TBLoader):
    """Loads `KerasLossPlugin`, or `LoadErrorPlugin` with the reason it could not."""

    def load(self, context):
        try:
            from kerasloss_tensorboard.plugin import KerasLossPlugin

            plugin = KerasLossPlugin(context)
            plugin.get_plugin_apps()
            return plugin
        except Exception as err:  # whatever breaks, TensorBoard keeps serving the other tabs
            _logger.error("kerasloss TensorBoard plugin disabled: %s", err, exc_info=True)
            return LoadErrorPlugin(context, f"{type(err).__name__}: {err}")

"""Capture TensorBoard's "kerasloss" tab in headless Chromium: docs/dashboard.png,
docs/dashboard_label_smoothing.png and docs/examples_section.png (the Examples section alone).

To rerun (from the repository root):

    make demo                                          # runs/factorization
    .venv/bin/python examples/label_smoothing.py       # runs/label_smoothing/{ls_0.0,ls_0.1}
    .venv/bin/python examples/label_noise.py           # runs/label_noise/{noise_0.1,noise_0.3}
    apt-get install -y chromium                        # or --chromium PATH
    .venv/bin/python docs/screenshot.py                # -> the three pictures in docs/

For each picture the script starts `tensorboard --logdir <dir> --host 127.0.0.1 --port <free port>`
from the same environment, waits until the kerasloss tab's `groups` route lists the runs, opens
TensorBoard on that tab in headless Chromium driven through the DevTools protocol over a pipe (fresh
profile; any request leaving 127.0.0.1 is an error), waits until the tab has drawn, writes the PNG and
stops TensorBoard. The pictures show run names relative to the served directory, never a path of
this machine. tests/kerasloss_tensorboard/test_browser.py drives the same `Browser` and `tensorboard` helpers.
"""

import argparse
import base64
import contextlib
import fcntl
import json
import os
import queue
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
TAB_URL = "{base}/?darkMode=false#kerasloss"
# JavaScript run in TensorBoard's page: the kerasloss iframe's document (same origin), or null.
_PLUGIN_DOCUMENT = """(() => {
  const find = (root) => {
    for (const frame of root.querySelectorAll("iframe")) {
      if ((frame.src || "").includes("plugin_entry.html?name=kerasloss")) return frame.contentDocument;
    }
    for (const node of root.querySelectorAll("*")) {
      if (node.shadowRoot) { const found = find(node.shadowRoot); if (found) return found; }
    }
    return null;
  };
  return find(document);
})()"""


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def find_chromium(explicit=None):
    """The Chromium executable: `explicit`, else the first of CHROMIUM_NAMES on PATH, else None."""
    if explicit:
        return explicit
    for name in CHROMIUM_NAMES:
        path = shutil.which(name)
        if path:
            return path
    return None


def get_json(url, timeout=10):
    with urllib.request.urlopen(url, timeout=timeout) as response:
        return json.loads(response.read().decode())


def lists_groups(count):
    """A readiness check: the kerasloss tab's `groups` route lists at least `count` log directories."""
    return lambda base: len(get_json(f"{base}/data/plugin/kerasloss/groups")["groups"]) >= count


@contextlib.contextmanager
def tensorboard(logdir, timeout=90.0, ready=lists_groups(1), env=None):
    """A real `tensorboard` on 127.0.0.1 serving `logdir`; yields its base URL once `ready(base)`."""
    executable = os.path.join(os.path.dirname(sys.executable), "tensorboard")
    if not os.path.exists(executable):
        executable = shutil.which("tensorboard") or sys.exit("tensorboard not found")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log = tempfile.TemporaryFile()
    server = subprocess.Popen(
        [executable, "--logdir", os.fspath(logdir), "--host", "127.0.0.1", "--port", str(port),
         "--reload_interval", "2"],
        stdout=log, stderr=subprocess.STDOUT, env=env,
    )
    try:
        deadline = time.monotonic() + timeout
        while True:
            if server.poll() is not None:
                log.seek(0)
                raise RuntimeError(f"tensorboard exited ({server.returncode}):\n{log.read().decode()[-3000:]}")
            try:
                if ready(base):
                    break
            except (urllib.error.URLError, ConnectionError, json.JSONDecodeError, TimeoutError, KeyError):
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"tensorboard did not serve {logdir} within {timeout:.0f} s")
            time.sleep(0.5)
        yield base
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        log.close()


def _high_fd(fd):
    """`fd` moved to a number ≥ 10, so that the child's dup2 onto 3 and 4 cannot clobber it."""
    moved = fcntl.fcntl(fd, fcntl.F_DUPFD, 10)
    os.close(fd)
    return moved


class Browser:
    """Headless Chromium driven through the DevTools protocol over `--remote-debugging-pipe`.

    Commands are NUL-terminated JSON written to the child's fd 3, replies and events are read from
    its fd 4 (no network port, no extra package). One page (`session`) at `width`×`height` CSS
    pixels; every URL the page (and its iframes) requests is kept in `requests`, every JavaScript
    dialog (alert, confirm) in `dialogs`.
    """

    def __init__(self, chromium, width=1400, height=900, scale=1.0):
        to_child_r, self._to_child = (_high_fd(fd) for fd in os.pipe())
        self._from_child, from_child_w = (_high_fd(fd) for fd in os.pipe())
        self._profile = tempfile.mkdtemp(prefix="kerasloss-chromium-")

        def wire_pipes():
            os.dup2(to_child_r, 3)
            os.dup2(from_child_w, 4)

        self._process = subprocess.Popen(
            [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--remote-debugging-pipe",
             "--no-first-run", "--no-default-browser-check", "--disable-background-networking",
             "--disable-component-update", "--disable-sync", "--disable-extensions",
             "--hide-scrollbars", "--mute-audio", f"--user-data-dir={self._profile}", "about:blank"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            preexec_fn=wire_pipes, pass_fds=(3, 4, to_child_r, from_child_w),
        )
        os.close(to_child_r)
        os.close(from_child_w)
        self._next_id = 0
        self._replies = {}
        self._events = queue.Queue()
        self._cond = threading.Condition()
        self.requests, self.dialogs, self.console_errors = [], [], []
        threading.Thread(target=self._read, daemon=True).start()
        target = self.call("Target.createTarget", url="about:blank")["targetId"]
        self.session = self.call("Target.attachToTarget", targetId=target, flatten=True)["sessionId"]
        for domain in ("Page", "Network", "Runtime"):
            self.call(f"{domain}.enable", session=True)
        self.call("Emulation.setDeviceMetricsOverride", session=True, width=width, height=height,
                  deviceScaleFactor=scale, mobile=False)

    def _read(self):
        buffer = b""
        while True:
            chunk = os.read(self._from_child, 1 << 16)
            if not chunk:
                break
            buffer += chunk
            while b"\0" in buffer:
                raw, buffer = buffer.split(b"\0", 1)
                message = json.loads(raw)
                if "id" in message:
                    with self._cond:
                        self._replies[message["id"]] = message
                        self._cond.notify_all()
                else:
                    self._event(message)

    def _event(self, message):
        method, params = message.get("method"), message.get("params", {})
        if method == "Network.requestWillBeSent":
            self.requests.append(params["request"]["url"])
        elif method == "Page.javascriptDialogOpening":
            self.dialogs.append(params.get("message"))
            self.call_async("Page.handleJavaScriptDialog", session=True, accept=True)
        elif method == "Runtime.exceptionThrown":
            self.console_errors.append(params["exceptionDetails"].get("text"))

    def call_async(self, method, session=False, **params):
        with self._cond:
            self._next_id += 1
            message_id = self._next_id
        message = {"id": message_id, "method": method, "params": params}
        if session:
            message["sessionId"] = self.session
        os.write(self._to_child, json.dumps(message).encode() + b"\0")
        return message_id

    def call(self, method, session=False, timeout=30, **params):
        """Send one DevTools command and return its result (RuntimeError on a protocol error)."""
        message_id = self.call_async(method, session, **params)
        with self._cond:
            if not self._cond.wait_for(lambda: message_id in self._replies, timeout):
                raise RuntimeError(f"Chromium did not answer {method} within {timeout} s")
            reply = self._replies.pop(message_id)
        if "error" in reply:
            raise RuntimeError(f"{method}: {reply['error']}")
        return reply.get("result", {})

    def evaluate(self, expression):
        """The JSON value of a JavaScript expression in the page (awaited if it is a promise)."""
        result = self.call("Runtime.evaluate", session=True, expression=expression,
                           returnByValue=True, awaitPromise=True)
        if "exceptionDetails" in result:
            raise RuntimeError(f"JavaScript error: {result['exceptionDetails']}")
        return result["result"].get("value")

    def open(self, url):
        self.call("Page.navigate", session=True, url=url)

    def plugin(self, expression):
        """`expression` evaluated with `doc` bound to the kerasloss iframe's document (null if absent)."""
        return self.evaluate(f"((doc) => doc && ({expression}))({_PLUGIN_DOCUMENT})")

    def wait_for_plugin(self, expression, timeout=40):
        """Poll until `expression` (over `doc`, see `plugin`) is truthy; its value."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = self.plugin(expression)
            if value:
                return value
            time.sleep(0.25)
        raise RuntimeError(f"the kerasloss tab did not show {expression!r} within {timeout} s")

    def screenshot(self, path, clip=None):
        """A PNG of the page as shown, or of `clip` ({x, y, width, height} in CSS pixels) alone."""
        params = {"clip": {**clip, "scale": 1}} if clip else {}
        data = self.call("Page.captureScreenshot", session=True, format="png", **params)["data"]
        with open(path, "wb") as f:
            f.write(base64.b64decode(data))

    def close(self):
        try:
            self.call("Browser.close", timeout=5)
        except (RuntimeError, OSError):
            pass
        try:
            self._process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        for fd in (self._to_child, self._from_child):
            with contextlib.suppress(OSError):
                os.close(fd)
        shutil.rmtree(self._profile, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


DRAWN = "!!(doc.querySelector('#loss-section svg') && doc.querySelector('#posthoc-section'))"


def select_group(browser, name):
    """Show log directory `name` in the tab (as a user picks it in the selector)."""
    browser.plugin(
        f"(() => {{ const s = doc.querySelector('.group-select'); s.value = {json.dumps(name)};"
        " s.dispatchEvent(new Event('change')); return true; })()"
    )
    time.sleep(1.5)


# the page rectangle of the element `selector` of the kerasloss iframe: its box in the iframe's
# viewport, moved by the iframe's own box in the page
_PAGE_RECT = """(() => {{
  const box = doc.querySelector({selector}).getBoundingClientRect();
  const frame = doc.defaultView.frameElement.getBoundingClientRect();
  return {{x: frame.x + box.x, y: frame.y + box.y, width: box.width, height: box.height}};
}})()"""


def capture(chromium, logdir, out, *, group=None, scroll_to=None, width=1400, height=900, scale=1.0,
            groups=1, clip_to=None):
    """One PNG of the kerasloss tab on `logdir` (log directory `group`, scrolled to `scroll_to`;
    only the element `clip_to` when given, which must fit in the tab's visible part)."""
    with tensorboard(logdir, ready=lists_groups(groups)) as base, Browser(chromium, width, height, scale) as browser:
        browser.open(TAB_URL.format(base=base))
        browser.wait_for_plugin(DRAWN)
        if group is not None:
            select_group(browser, group)
            browser.wait_for_plugin(DRAWN)
        if scroll_to:
            browser.plugin(f"doc.querySelector({json.dumps(scroll_to)}).scrollIntoView() || true")
        time.sleep(1.0)
        outside = [url for url in browser.requests if not url.startswith((base, "data:", "blob:", "about:"))]
        if outside:
            raise RuntimeError(f"the page requested URLs outside {base}: {outside}")
        clip = browser.plugin(_PAGE_RECT.format(selector=json.dumps(clip_to))) if clip_to else None
        browser.screenshot(out, clip)
    print(f"Wrote {out} ({os.path.getsize(out):,} bytes)")


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--runs", default=os.path.join(REPO, "runs"),
                        help="holds factorization/ (make demo), label_smoothing/ and label_noise/ (their examples)")
    parser.add_argument("--out-dir", default=os.path.join(REPO, "docs"))
    parser.add_argument("--chromium", help="Chromium/Chrome executable (default: first on PATH)")
    parser.add_argument("--scale", type=float, default=1.0, help="device pixels per CSS pixel")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    chromium = find_chromium(args.chromium) or sys.exit(
        f"No Chromium found (tried {', '.join(CHROMIUM_NAMES)}): apt-get install -y chromium, or --chromium PATH")
    factorization = os.path.join(args.runs, "factorization")
    label_smoothing = os.path.join(args.runs, "label_smoothing")
    label_noise = os.path.join(args.runs, "label_noise")
    for path, how in ((factorization, "make demo"), (label_smoothing, ".venv/bin/python examples/label_smoothing.py"),
                      (label_noise, ".venv/bin/python examples/label_noise.py")):
        if not os.path.isdir(path):
            sys.exit(f"No logs in {path}: run `{how}` first")
    os.makedirs(args.out_dir, exist_ok=True)
    # served as the parent of one log dir, so the tab names it by its relative name only
    with tempfile.TemporaryDirectory() as parent:
        shutil.copytree(factorization, os.path.join(parent, "factorization"))
        capture(chromium, parent, os.path.join(args.out_dir, "dashboard.png"), height=900, scale=args.scale)
    capture(chromium, label_smoothing, os.path.join(args.out_dir, "dashboard_label_smoothing.png"),
            group="ls_0.1", scroll_to="#posthoc-section", height=900, scale=args.scale, groups=2)
    capture(chromium, label_noise, os.path.join(args.out_dir, "examples_section.png"), group="noise_0.1",
            scroll_to="#ledger-section", clip_to="#ledger-section", height=1100, scale=args.scale, groups=2)


if __name__ == "__main__":
    main()

"""Capture docs/dashboard.png: TensorBoard's dashboard on the demo's logs, in headless Chromium.

To rerun (from the repository root):

    make demo                                  # writes runs/factorization/{train,validation,posthoc}
    apt-get install -y chromium                # or any Chromium / Chrome on PATH (--chromium PATH)
    .venv/bin/python docs/screenshot.py        # -> docs/dashboard.png (custom-scalars dashboard)
    .venv/bin/python docs/screenshot.py --dashboard scalars --out docs/scalars.png

The script starts `tensorboard --logdir runs --host 127.0.0.1 --port <free port>` from the same
environment, waits until the server lists the demo's runs and serves the custom-scalars layout,
loads the dashboard in headless Chromium (fresh profile, no network besides 127.0.0.1, a virtual
time budget for the charts to draw), writes the PNG and stops TensorBoard. It fails with a message
if there are no logs, no Chromium, or the server does not come up.
"""

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--logdir", default=os.path.join(REPO, "runs"),
                        help="what TensorBoard serves (make demo writes runs/factorization)")
    parser.add_argument("--out", default=os.path.join(REPO, "docs", "dashboard.png"))
    parser.add_argument("--dashboard", default="custom_scalars",
                        help="TensorBoard plugin to show: custom_scalars, scalars, hparams, ...")
    parser.add_argument("--chromium", help="Chromium/Chrome executable (default: first on PATH)")
    parser.add_argument("--window-size", default="1100,720", help="CSS pixels, before --scale")
    parser.add_argument("--scale", type=float, default=1.5,
                        help="device scale factor: the PNG is window size × scale, charts readable")
    parser.add_argument("--budget-ms", type=int, default=15000,
                        help="virtual time Chromium gives the page to load and draw")
    parser.add_argument("--timeout", type=float, default=90.0,
                        help="seconds to wait for TensorBoard to serve the logs")
    return parser.parse_args(argv)


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def find_chromium(explicit):
    if explicit:
        return explicit
    for name in CHROMIUM_NAMES:
        path = shutil.which(name)
        if path:
            return path
    sys.exit(f"No Chromium found (tried {', '.join(CHROMIUM_NAMES)}): apt-get install -y chromium, "
             "or pass --chromium PATH")


def get_json(url):
    with urllib.request.urlopen(url, timeout=5) as response:
        return json.loads(response.read().decode())


def wait_until_served(base, timeout, server):
    """Poll until TensorBoard lists runs with scalar data and serves the custom-scalars layout."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            sys.exit(f"tensorboard exited with code {server.returncode}")
        try:
            runs = get_json(f"{base}/data/runs")
            layout = get_json(f"{base}/data/plugin/custom_scalars/layout")
            tags = get_json(f"{base}/data/plugin/scalars/tags")
            if runs and layout and any(tags.values()):
                return runs
        except (urllib.error.URLError, ConnectionError, json.JSONDecodeError, TimeoutError):
            pass
        time.sleep(1.0)
    sys.exit(f"TensorBoard did not serve scalar logs and a custom-scalars layout within {timeout:.0f} s")


def capture(chromium, url, out, window_size, scale, budget_ms):
    profile = tempfile.mkdtemp(prefix="kerasloss-chromium-")
    command = [
        chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        "--hide-scrollbars", f"--user-data-dir={profile}", f"--window-size={window_size}",
        f"--force-device-scale-factor={scale:g}",
        f"--virtual-time-budget={budget_ms}", f"--screenshot={out}", url,
    ]
    try:
        result = subprocess.run(command, capture_output=True, text=True, timeout=180)
    finally:
        shutil.rmtree(profile, ignore_errors=True)
    if result.returncode != 0 or not os.path.exists(out):
        sys.exit(f"Chromium failed ({result.returncode}):\n{result.stderr[-2000:]}")


def main(argv=None):
    args = parse_args(argv)
    if not os.path.isdir(args.logdir):
        sys.exit(f"No logs in {args.logdir}: run `make demo` first")
    chromium = find_chromium(args.chromium)
    tensorboard = os.path.join(os.path.dirname(sys.executable), "tensorboard")
    if not os.path.exists(tensorboard):
        tensorboard = shutil.which("tensorboard") or sys.exit("tensorboard not found")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server_log = tempfile.TemporaryFile()
    server = subprocess.Popen(
        [tensorboard, "--logdir", args.logdir, "--host", "127.0.0.1", "--port", str(port)],
        stdout=server_log, stderr=subprocess.STDOUT,
    )
    try:
        runs = wait_until_served(base, args.timeout, server)
        print(f"TensorBoard on {base} serves runs: {', '.join(sorted(runs))}")
        os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
        if os.path.exists(args.out):
            os.remove(args.out)
        capture(chromium, f"{base}/?darkMode=false#{args.dashboard}", args.out, args.window_size,
                args.scale, args.budget_ms)
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        server_log.close()
    print(f"Wrote {args.out} ({os.path.getsize(args.out):,} bytes)")


if __name__ == "__main__":
    main()

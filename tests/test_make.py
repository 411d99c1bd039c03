"""`make test` where no browser can run: the browser tests are skipped and said so, unless CI
(`.ci/run`) requires them. Make runs with PATH emptied: no Chromium, no apt-get, no `id` (not root)."""

import os
import shutil
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
pytestmark = [
    pytest.mark.backend_neutral,
    pytest.mark.skipif(shutil.which("make") is None, reason="needs GNU make"),
]


def _test_browser(tmp_path, **env):
    """`make test-browser` with its install step taken as done, this interpreter, an empty PATH."""
    empty = tmp_path / "bin"
    empty.mkdir()
    return subprocess.run(
        [shutil.which("make"), "--no-print-directory", "-o", "install", "test-browser",
         f"PY={sys.executable}", f"PATH={empty}"],
        cwd=ROOT, capture_output=True, text=True, env={**_without_ci_requirement(os.environ), **env},
    )


def _without_ci_requirement(environ):
    """The environment minus KERASLOSS_REQUIRE_BROWSER, which .ci/run sets for the whole `make test`:
    each test states for itself whether the browser is required."""
    return {name: value for name, value in environ.items() if name != "KERASLOSS_REQUIRE_BROWSER"}


def test_without_chromium_and_apt_the_browser_tests_are_skipped_and_said_so_with_how_to_run_them(tmp_path):
    done = _test_browser(tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("SKIPPED: the browser tests (tests/kerasloss_tensorboard/test_browser.py")
    assert "apt-get install chromium" in done.stdout and "make test-browser" in done.stdout


def test_a_missing_browser_fails_when_the_browser_tests_are_required(tmp_path):
    done = _test_browser(tmp_path, KERASLOSS_REQUIRE_BROWSER="1")
    assert done.returncode != 0
    assert "SKIPPED" in done.stdout and "KERASLOSS_REQUIRE_BROWSER=1" in done.stdout


def test_ci_requires_the_browser_tests():
    with open(os.path.join(ROOT, ".ci", "run")) as f:
        commands = [line.strip() for line in f if line.strip() and not line.startswith("#")]
    assert commands[-1] == "KERASLOSS_REQUIRE_BROWSER=1 make test"

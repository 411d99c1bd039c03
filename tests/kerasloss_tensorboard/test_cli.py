"""The `kerasloss` command: report, summary and dashboard, each with --help; a clear error without runs."""

import configparser
import json
import os
import signal
import subprocess
import sys
import time
import urllib.request

import pytest

from kerasloss_tensorboard import cli
from tests.helpers.network import free_port
from tests.kerasloss_tensorboard.test_report import HOSTILE, logged  # noqa: F401  (the fixture)

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

pytestmark = pytest.mark.backend_neutral


def test_summary_prints_the_chosen_format(logged, capsys):  # noqa: F811
    assert cli.main(["summary", str(logged), "--format", "json"]) == 0
    assert {entry["log_dir"] for entry in json.loads(capsys.readouterr().out)} == {HOSTILE, "ls0.1"}


def test_report_writes_the_file_and_says_where(logged, tmp_path, capsys):  # noqa: F811
    output = tmp_path / "shared.html"
    assert cli.main(["report", str(logged), "-o", str(output)]) == 0
    assert output.read_text(encoding="utf-8").startswith("<!doctype html>")
    assert capsys.readouterr().out == f"wrote {output} ({output.stat().st_size / 1e6:.2f} MB)\n"


@pytest.mark.parametrize("command", ["summary", "report"])
def test_a_directory_without_runs_exits_1_with_the_reason(tmp_path, capsys, command):
    assert cli.main([command, str(tmp_path)]) == 1
    assert capsys.readouterr().err.startswith(f"kerasloss {command}: no kerasloss runs in {str(tmp_path)!r}")


def test_a_bad_format_is_a_usage_error(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_:
        cli.main(["summary", str(tmp_path), "--format", "html"])
    assert exit_.value.code == 2 and "invalid choice: 'html'" in capsys.readouterr().err


@pytest.mark.parametrize("command", ["report", "summary", "dashboard"])
def test_each_subcommand_has_help(command, capsys):
    with pytest.raises(SystemExit) as exit_:
        cli.main([command, "--help"])
    assert exit_.value.code == 0 and capsys.readouterr().out.startswith(f"usage: kerasloss {command} ")


def test_summary_of_a_local_logdir_reads_it_without_importing_tensorflow(logged):  # noqa: F811
    check = ("import sys; from kerasloss_tensorboard import cli; code = cli.main(['summary', sys.argv[1], "
             "'--format', 'json']); assert 'tensorflow' not in sys.modules, 'tensorflow imported'; sys.exit(code)")
    done = subprocess.run([sys.executable, "-c", check, str(logged)], capture_output=True, text=True, cwd=REPO,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    assert {entry["log_dir"] for entry in json.loads(done.stdout)} == {HOSTILE, "ls0.1"}


def test_python_dash_m_kerasloss_is_the_command():
    done = subprocess.run([sys.executable, "-m", "kerasloss", "--help"], capture_output=True, text=True, cwd=REPO,
                          env={**os.environ, "PYTHONPATH": REPO})
    assert done.returncode == 0 and "{report,summary,dashboard}" in done.stdout


def test_the_console_script_is_declared():
    config = configparser.ConfigParser()
    config.read(os.path.join(REPO, "setup.cfg"))
    scripts = config["options.entry_points"]["console_scripts"].split()
    assert scripts == ["kerasloss", "=", "kerasloss_tensorboard.cli:main"]


def test_dashboard_serves_the_tab_on_127_0_0_1_only(logged):  # noqa: F811
    port = free_port()
    process = subprocess.Popen([sys.executable, "-m", "kerasloss_tensorboard.cli", "dashboard", str(logged),
                                "--port", str(port)], cwd=REPO, env={**os.environ, "PYTHONPATH": REPO},
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True,
                               # Ctrl-C as in a terminal: a background job (make test under nohup or CI)
                               # ignores SIGINT, and its children would inherit that and wait out the kill
                               preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        deadline, listing = time.monotonic() + 90, None
        while listing is None and time.monotonic() < deadline and process.poll() is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/data/plugins_listing", timeout=5) as r:
                    listing = json.load(r)
            except OSError:
                time.sleep(0.5)
        assert listing is not None and listing["kerasloss"]["enabled"], process.stderr and process.poll()
        command = subprocess.run(["ps", "-ww", "-o", "args=", "--ppid", str(process.pid)],
                                 capture_output=True, text=True)
        assert "--host 127.0.0.1" in command.stdout
    finally:
        os.killpg(process.pid, signal.SIGINT)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=30)
            raise AssertionError("kerasloss dashboard was still running 30 s after Ctrl-C") from None

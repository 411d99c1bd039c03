"""`kerasloss report`: one HTML file holding the tab's own frontend and the plugin's answers."""

import base64
import html.parser
import json
import re

import pytest

from kerasloss_tensorboard import plugin, report
from kerasloss_tensorboard.snapshot import NoRunsError, Snapshot
from tests.kerasloss_tensorboard.test_plugin import _classifier_fit, _client

# the report reads what TensorBoard reads, whichever backend wrote it: run once
pytestmark = pytest.mark.backend_neutral
HOSTILE = "<img src=x onerror=alert(1)>&amp;"
_DATA_URL = re.compile(r"data:text/javascript;base64,([A-Za-z0-9+/=]+)")
_IMPORT = re.compile(r'"(\./[\w.-]+\.js|data:text/javascript;base64,[A-Za-z0-9+/=]+)"')


@pytest.fixture(scope="module")
def logged(tmp_path_factory):
    """Two log_dirs to compare, one named like markup."""
    root = tmp_path_factory.mktemp("logs")
    _classifier_fit(root / "ls0.1", 0.1, epochs=3)
    _classifier_fit(root / HOSTILE, 0.0, epochs=2)
    return root


@pytest.fixture(scope="module")
def page(logged):
    return report.render(Snapshot(logged))


def _data(page):
    text = re.search(r'<script type="application/json" id="kerasloss-data">(.*?)</script>', page, re.S).group(1)
    return json.loads(text)


class _Tags(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))


def test_every_answer_is_what_the_plugin_serves_tensorboard(logged, page):
    client, _ = _client(logged)
    responses = _data(page)["responses"]
    assert {route for route, _, _ in responses} == {"/groups", "/group", "/scalars", "/ledger", "/calibration"}
    for route, params, body in responses:
        served = client.get(f"/data/plugin/kerasloss{route}", query_string=params)
        assert served.status_code == 200 and body == json.loads(served.get_data()), (route, params)


def test_every_tag_of_every_run_can_be_compared(logged, page):
    asked = {(params["run"], params["tag"]) for route, params, _ in _data(page)["responses"] if route == "/scalars"}
    groups = Snapshot(logged).groups
    assert asked == {(g["runs"][role], tag) for g in groups for role, tags in g["tags"].items() for tag in tags}


def test_a_single_log_dir_carries_no_comparison(logged):
    routes = {route for route, _, _ in _data(report.render(Snapshot(logged / "ls0.1")))["responses"]}
    assert routes == {"/groups", "/group", "/ledger", "/calibration"}


def test_every_static_file_of_the_tab_is_inlined(page):
    parser = _Tags()
    parser.feed(page)
    styles = "".join(re.findall(r"<style>\n(.*?)</style>", page, re.S))
    # a module's imports of the others ("./ledger.js") point at their data: URLs, inside its own
    sources, found = [page], set()
    while sources:
        for url in _DATA_URL.findall(sources.pop()):
            text = base64.b64decode(url).decode("utf-8")
            found.add(text)
            sources.append(text)
    modules = {_IMPORT.sub('"<module>"', text) for text in found}
    for name, path in plugin.static_files().items():
        text = open(path, encoding="utf-8").read()
        assert (text if name.endswith(".css") else _IMPORT.sub('"<module>"', text)) in (
            styles if name.endswith(".css") else modules), name


def test_the_page_loads_nothing_from_outside(page):
    parser = _Tags()
    parser.feed(page)
    assert [(tag, attrs) for tag, attrs in parser.tags if {"src", "href"} & set(attrs)] == []
    csp = next(attrs["content"] for tag, attrs in parser.tags if attrs.get("http-equiv") == "Content-Security-Policy")
    assert "default-src 'none'" in csp and "connect-src" not in csp


def test_names_reach_the_page_only_as_escaped_json(page):
    assert "<img" not in page and "&amp;amp;" not in page
    assert HOSTILE in {group["name"] for group in _data(page)["responses"][0][2]["groups"]}


def test_modules_import_one_another_through_their_inlined_urls():
    urls = report._modules({"index.js": 'import {a} from "./a.js";\nexport const b = a;',
                            "a.js": "export const a = 1;"})
    index = base64.b64decode(_DATA_URL.fullmatch(urls["index.js"]).group(1)).decode()
    assert index == f"import {{a}} from {json.dumps(urls['a.js'])};\nexport const b = a;"


def test_modules_importing_each_other_in_a_cycle_are_refused():
    with pytest.raises(ValueError, match="cycle"):
        report._modules({"a.js": 'import "./b.js";', "b.js": 'import "./a.js";'})


def test_write_replaces_the_output_and_leaves_no_partial_file(logged, tmp_path):
    output = tmp_path / "report.html"
    output.write_text("old")
    size = report.write(logged / "ls0.1", str(output))
    assert output.stat().st_size == size and output.read_text(encoding="utf-8").startswith("<!doctype html>")
    assert [p.name for p in tmp_path.iterdir()] == ["report.html"]


def test_a_directory_without_kerasloss_runs_is_refused(tmp_path):
    with pytest.raises(NoRunsError, match="no kerasloss runs in .*no train, validation or posthoc run"):
        Snapshot(tmp_path)
    with pytest.raises(NoRunsError, match="not a directory"):
        Snapshot(tmp_path / "missing")

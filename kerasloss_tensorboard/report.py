"""`kerasloss report`: the tab as one self-contained HTML file, to open from disk, without a server.

The file holds the tab's own frontend (every file of static/: stylesheets in `<style>`, ES modules
as `data:` URLs whose `./<name>.js` imports point at one another) and, as JSON, the answer of every
request the tab can make of the log directory (`groups`, `group` of each log_dir, `scalars` of each
run and tag when there are log_dirs to compare), taken from the plugin's own routes
(`snapshot.Snapshot`). A short module replaces `fetch` with a lookup in that JSON and calls the
tab's `render`. A Content-Security-Policy forbids every request to the network; names are only
ever text (in the JSON, `<`, `>` and `&` are escaped, and the tab writes them with `textContent`).

Example:
>>> from kerasloss_tensorboard import report
>>> report.write("runs", "report.html")     # or: kerasloss report runs -o report.html
"""

import base64
import html
import json
import os
import re

from kerasloss_tensorboard import plugin
from kerasloss_tensorboard.snapshot import Snapshot

_CSP = "default-src 'none'; script-src 'unsafe-inline' data:; style-src 'unsafe-inline'"
# Answers the tab's fetch("./<route>?<query>") from the report's JSON, then draws the tab.
_BOOTSTRAP = """
const data = JSON.parse(document.getElementById("kerasloss-data").textContent);
const key = (route, params) => JSON.stringify([route, Object.entries(params).sort()]);
const answers = new Map(data.responses.map(([route, params, body]) => [key(route, params), body]));
window.fetch = async (input) => {
  const url = new URL(String(input), "http://report.invalid/");
  const body = answers.get(key(url.pathname, Object.fromEntries(url.searchParams)));
  return body === undefined
    ? new Response(`${url.pathname}: not in this report`, {status: 404})
    : new Response(JSON.stringify(body), {headers: {"Content-Type": "application/json"}});
};
const {render} = await import(data.entry);
await render({stylesheet: null, poll: false});
"""


def _requests(groups):
    """[(route, params)] of every request the tab can make for these groups."""
    found = [("/groups", {})] + [("/group", {"name": group["name"]}) for group in groups]
    found += [("/ledger", {"name": group["name"]}) for group in groups]  # the "Examples" section
    found.append(("/calibration", {}))  # the "Calibration" section
    if len(groups) > 1:  # the tab's "Compare runs" asks for any tag of any run
        found += [("/scalars", {"run": run, "tag": tag}) for group in groups
                  for role, run in group["runs"].items() for tag in dict.fromkeys(group["tags"].get(role, []))]
    return found


def _specifier(name):
    return re.compile(r"""(["'])\./%s\1""" % re.escape(name))


def _modules(sources):
    """{name: data URL} of the static ES modules, each `"./<other>.js"` import pointing at the other's URL."""
    imports = {name: {other for other in sources if other != name and _specifier(other).search(text)}
               for name, text in sources.items()}
    urls = {}
    while len(urls) < len(sources):
        ready = [name for name in sources if name not in urls and imports[name] <= urls.keys()]
        if not ready:
            raise ValueError(f"static modules import one another in a cycle: {sorted(set(sources) - set(urls))}")
        for name in ready:
            text = sources[name]
            for other in imports[name]:
                text = _specifier(other).sub(lambda _, url=json.dumps(urls[other]): url, text)
            urls[name] = "data:text/javascript;base64," + base64.b64encode(text.encode("utf-8")).decode("ascii")
    return urls


def _script_text(text):
    """JSON safe inside <script>: no `<`, `>` or `&` that HTML could read as markup."""
    return text.replace("&", "\\u0026").replace("<", "\\u003c").replace(">", "\\u003e")


def render(snapshot):
    """The report of a `Snapshot` as HTML text."""
    static = {}
    for name, path in sorted(plugin.static_files().items()):
        with open(path, encoding="utf-8") as f:
            static[name] = f.read()
    modules = _modules({name: text for name, text in static.items() if name.endswith(".js")})
    entry = os.path.basename(snapshot.plugin.frontend_metadata().es_module_path)
    responses = ",".join(f"[{json.dumps(route)},{json.dumps(params)},{snapshot.get_text(route, **params)}]"
                         for route, params in _requests(snapshot.groups))
    data = f'{{"entry":{json.dumps(modules[entry])},"responses":[{responses}]}}'
    styles = "\n".join(text for name, text in static.items() if name.endswith(".css"))
    title = f"kerasloss report: {os.path.basename(os.path.normpath(snapshot.logdir))}"
    return (
        '<!doctype html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f'<meta http-equiv="Content-Security-Policy" content="{_CSP}">\n'
        f"<title>{html.escape(title)}</title>\n<style>\n{styles}</style>\n</head>\n<body>\n"
        f'<script type="application/json" id="kerasloss-data">{_script_text(data)}</script>\n'
        f'<script type="module">{_BOOTSTRAP}</script>\n</body>\n</html>\n'
    )


def write(logdir, output="report.html"):
    """Write the report of `logdir` to the file `output` (replaced whole, never left half-written); its bytes."""
    text = render(Snapshot(logdir)).encode("utf-8")
    partial = f"{output}.partial"
    with open(partial, "wb") as f:
        f.write(text)
    os.replace(partial, output)
    return len(text)

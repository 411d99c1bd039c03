"""`kerasloss summary`: one row per log directory, from the payloads the tab draws.

Each row (`row`), from the whole model's loss panel (`series.loss_panels`) and the post-hoc lines:

    log_dir          the log_dir under LOGDIR ("." for LOGDIR itself)
    last_epoch       the last epoch logged in any of its runs
    loss_total       {"train", "validation"}: loss/total at each run's last epoch
    best_run         "validation" when logged, else "train": the run the best epoch is taken from
    best_epoch       the epoch of its lowest loss/total (the first of equals), and best_loss_total
    shares_run       "train" when logged: the run the shares are taken from
    shares           {band: band / loss/total} at that run's last epoch: each component (× its
                     weight), regularization, and an `unexplained` rest when one is logged
    posthoc_epoch    the post-hoc evaluation nearest the best epoch (the earlier of two as near;
                     the last one when there is no loss/total), and
    posthoc          {tag: value} of every metrics/ tag there

Formats: `table` (aligned plain text), `markdown` (a GitHub table, e.g. for a CI job summary),
`json` (the rows), `csv` (one column per field, component share and metric). Names are text in
every format: control characters are shown escaped, Markdown and HTML characters are escaped in
`markdown`, and a CSV cell of text starting with `=`, `+`, `-`, `@`, a tab or a carriage return
gets a leading `'` (OWASP's defence against formula injection: a spreadsheet would run
`=HYPERLINK(...)` from a log_dir's name); numbers are written as numbers.
"""

import csv
import io
import json

FORMATS = ("table", "markdown", "json", "csv")
_ROLES = ("train", "validation")
_HEADER = ["log dir", "last epoch", "loss/total train", "loss/total validation", "best epoch",
           "best loss/total", "share of loss/total at the end", "post-hoc at the best epoch"]
_MARKDOWN = str.maketrans({**{ch: "\\" + ch for ch in "\\`*_[]|~"}, "<": "&lt;", ">": "&gt;", "&": "&amp;"})


def _best(run):
    """(epoch, value) of a run's lowest loss/total (the first of equals); (None, None) if none is finite."""
    finite = [(value, step) for step, value in zip(run["steps"], run["total"]) if value is not None]
    if not finite:
        return None, None
    value, step = min(finite, key=lambda pair: pair[0])
    return step, value


def _shares(run):
    total = run["total"][-1]
    return {band["name"]: band["values"][-1] / total if total and band["values"][-1] is not None else None
            for band in run["bands"]}


def row(group, payload):
    """The summary of one log_dir from its entry of the tab's `groups` and its `group` payload."""
    panel = next((panel for panel in payload["loss"] if panel["output"] is None), None)
    runs = panel["runs"] if panel else {}
    best_run = next((role for role in ("validation", "train") if role in runs), None)
    best_epoch, best_value = _best(runs[best_run]) if best_run else (None, None)
    shares_run = next((role for role in ("train", "validation") if role in runs), None)
    posthoc_epoch, posthoc = None, {}
    for tag, points in sorted(payload["metrics"].items()):
        if points:
            nearest = points[-1] if best_epoch is None else min(
                points, key=lambda point: (abs(point[0] - best_epoch), point[0]))
            posthoc_epoch, posthoc[tag] = nearest
    return {
        "log_dir": group["name"] or ".",
        "last_epoch": max(group["last_steps"].values(), default=None),
        "loss_total": {role: runs[role]["total"][-1] for role in _ROLES if role in runs},
        "best_run": best_run,
        "best_epoch": best_epoch,
        "best_loss_total": best_value,
        "shares_run": shares_run,
        "shares": _shares(runs[shares_run]) if shares_run else {},
        "posthoc_epoch": posthoc_epoch,
        "posthoc": posthoc,
    }


def rows(snapshot):
    """One `row` per log_dir of a `snapshot.Snapshot`, sorted by name."""
    return [row(group, snapshot.get("/group", name=group["name"])) for group in snapshot.groups]


def _number(value):
    return "–" if value is None else f"{value:.4g}"


def _cells(entry):
    shares = ", ".join(f"{name} {'–' if share is None else f'{100 * share:.1f}%'}"
                       for name, share in entry["shares"].items())
    posthoc = ", ".join(f"{tag.removeprefix('metrics/')} {_number(value)}" for tag, value in entry["posthoc"].items())
    return [
        entry["log_dir"],
        "–" if entry["last_epoch"] is None else str(entry["last_epoch"]),
        _number(entry["loss_total"].get("train")),
        _number(entry["loss_total"].get("validation")),
        "–" if entry["best_epoch"] is None else f"{entry['best_epoch']} ({entry['best_run']})",
        _number(entry["best_loss_total"]),
        shares or "–",
        posthoc or "–",
    ]


def _plain(text):
    """`text` on one line, its control characters escaped: a name cannot move the cursor or recolour."""
    return "".join(ch if ch.isprintable() else ch.encode("unicode_escape").decode("ascii") for ch in text)


def _table(entries):
    lines = [_HEADER] + [[_plain(cell) for cell in _cells(entry)] for entry in entries]
    widths = [max(len(line[i]) for line in lines) for i in range(len(_HEADER))]
    lines.insert(1, ["-" * width for width in widths])
    return "".join("  ".join(cell.ljust(width) for cell, width in zip(line, widths)).rstrip() + "\n"
                   for line in lines)


def _markdown(entries):
    lines = [_HEADER, ["---"] * len(_HEADER)]
    lines += [[_plain(cell).translate(_MARKDOWN) for cell in _cells(entry)] for entry in entries]
    return "".join("| " + " | ".join(line) + " |\n" for line in lines)


def _json(entries):
    return json.dumps(entries, indent=2, ensure_ascii=False, allow_nan=False) + "\n"


_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _csv_cell(value):
    """`value` for a CSV cell: text a spreadsheet would read as a formula is quoted with a leading `'`."""
    if isinstance(value, str) and value.startswith(_FORMULA_STARTS):
        return "'" + value
    return value


def _csv(entries):
    components = list(dict.fromkeys(name for entry in entries for name in entry["shares"]))
    metrics = list(dict.fromkeys(tag for entry in entries for tag in entry["posthoc"]))
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writerow = lambda cells: writer.writerow([_csv_cell(cell) for cell in cells])  # noqa: E731
    writerow(["log_dir", "last_epoch", "train loss/total", "validation loss/total", "best_run",
                     "best_epoch", "best loss/total", "shares_run"]
                    + [f"share {name}" for name in components] + ["posthoc_epoch"] + metrics)
    for entry in entries:
        writerow([entry["log_dir"], entry["last_epoch"], entry["loss_total"].get("train"),
                         entry["loss_total"].get("validation"), entry["best_run"], entry["best_epoch"],
                         entry["best_loss_total"], entry["shares_run"]]
                        + [entry["shares"].get(name) for name in components]
                        + [entry["posthoc_epoch"]] + [entry["posthoc"].get(tag) for tag in metrics])
    return out.getvalue()


_RENDER = {"table": _table, "markdown": _markdown, "json": _json, "csv": _csv}


def render(entries, fmt="table"):
    """`rows` as text in the format `fmt` (one of `FORMATS`)."""
    if fmt not in _RENDER:
        raise ValueError(f"fmt must be one of {FORMATS}, got {fmt!r}")
    return _RENDER[fmt](entries)

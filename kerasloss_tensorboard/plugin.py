"""The routes of the "kerasloss" TensorBoard tab (`KerasLossPlugin`).

Everything is read through TensorBoard's data provider (so any log directory TensorBoard can serve
works), and only our tags (`metadata.parse_tag`) and our own summary are read:

    GET static/<file>           the frontend (index.js, style.css): only files of static/
    GET groups                  {"groups": [{"name", "runs": {role: run}, "hparams": {...},
                                 "tags": {role: [tags]}, "last_steps": {role: step}}]}
    GET group?name=<group>      the panels of one log_dir: "loss" (stacked bands, series.loss_panels),
                                "entropy", "diagnostics", "metrics" (lines), "histograms"
    GET scalars?run=&tag=       [[step, value]] of one of our scalar tags (comparing runs)
    GET calibration             {"groups": [{"name", "records": [{"step", "columns", "bins", "target"}]}]}:
                                every group's reliability records (run posthoc), oldest first
    GET ledger?name=<group>     {"records": [the group's latest ExampleLedger record per output],
                                 "compare": [{"run", "tag", "points"}] of every run's ledger/ scalars}

A group is one log_dir under the served directory ("" for the served directory itself) holding
runs train / validation / posthoc (see `metadata.split_run`).
"""

import json
import logging
import os

import werkzeug
from tensorboard import context, errors, plugin_util
from tensorboard.data import provider
from tensorboard.plugins import base_plugin
from tensorboard.plugins.hparams import metadata as hparams_metadata
from werkzeug import wrappers

from kerasloss_tensorboard import metadata, series

_STATIC = os.path.join(os.path.dirname(os.path.abspath(__file__)), "static")
_MIME = {".js": "text/javascript", ".css": "text/css", ".svg": "image/svg+xml"}
_DOWNSAMPLE = 10_000
_HISTOGRAM_DOWNSAMPLE = 500
_logger = logging.getLogger("kerasloss")


def static_files():
    """{name: path} of the frontend's files: the static route serves these and nothing else."""
    return {
        name: os.path.join(_STATIC, name)
        for name in os.listdir(_STATIC)
        if os.path.splitext(name)[1] in _MIME and os.path.isfile(os.path.join(_STATIC, name))
    }


# TensorBoard's own responses carry it (http_util.Respond), and its security validator asks for it
_HEADERS = {"X-Content-Type-Options": "nosniff"}


def _group_query(request, route):
    """(context, experiment id, group name) of a request to `route`, which needs `name=<group>`."""
    name = request.args.get("name")
    if name is None:
        raise errors.InvalidArgumentError(f"{route}: the query needs name=<group>")
    return plugin_util.context(request.environ), plugin_util.experiment_id(request.environ), name


def _json(payload):
    return werkzeug.Response(json.dumps(payload, allow_nan=False), content_type="application/json",
                             headers=_HEADERS)


def _hparam_value(value):
    kind = value.WhichOneof("kind")
    return getattr(value, kind) if kind in ("number_value", "string_value", "bool_value") else None


class KerasLossPlugin(base_plugin.TBPlugin):
    """TensorBoard plugin: the loss as stacked components, entropy, post-hoc metrics, run comparison."""

    plugin_name = metadata.PLUGIN_NAME

    def __init__(self, tb_context):
        self._provider = tb_context.data_provider
        self._files = static_files()

    def get_plugin_apps(self):
        return {
            "/static/*": self._serve_static,
            "/groups": self._serve_groups,
            "/group": self._serve_group,
            "/scalars": self._serve_scalars,
            "/ledger": self._serve_ledger,
            "/calibration": self._serve_calibration,
        }

    def data_plugin_names(self):
        return (metadata.PLUGIN_NAME,)

    def is_active(self):
        """Whether the served directory holds any of our scalar tags (local log directories)."""
        listing = self._provider.list_scalars(
            context.RequestContext(), experiment_id="", plugin_name=metadata.SCALARS_PLUGIN
        )
        return any(metadata.parse_tag(tag) for tag_map in listing.values() for tag in tag_map)

    def frontend_metadata(self):
        return base_plugin.FrontendMetadata(
            es_module_path="/static/index.js", tab_name=metadata.PLUGIN_NAME
        )

    # -- static -------------------------------------------------------------------------------
    @wrappers.Request.application
    def _serve_static(self, request):
        name = request.path.partition(f"/{metadata.PLUGIN_NAME}/static/")[2]
        path = self._files.get(name)
        if path is None:
            raise errors.NotFoundError(f"no static file {name!r}")
        with open(path, "rb") as f:
            body = f.read()
        content_type = _MIME[os.path.splitext(name)[1]]
        return werkzeug.Response(body, content_type=f"{content_type}; charset=utf-8", headers=_HEADERS)

    # -- reading ------------------------------------------------------------------------------
    def _scalars(self, ctx, eid, runs=None, tag_filter=None):
        """{run: {tag: [(step, value)]}} of our scalar tags (in `runs` if given)."""
        listing = self._provider.list_scalars(
            ctx, experiment_id=eid, plugin_name=metadata.SCALARS_PLUGIN,
            run_tag_filter=provider.RunTagFilter(runs=runs) if runs is not None else None,
        )
        wanted = {tag for tag_map in listing.values() for tag in tag_map
                  if metadata.parse_tag(tag) and (tag_filter is None or tag in tag_filter)}
        if not wanted:
            return {}
        data = self._provider.read_scalars(
            ctx, experiment_id=eid, plugin_name=metadata.SCALARS_PLUGIN, downsample=_DOWNSAMPLE,
            run_tag_filter=provider.RunTagFilter(runs=runs or list(listing), tags=sorted(wanted)),
        )
        return {run: {tag: [(d.step, d.value) for d in points] for tag, points in tag_map.items()}
                for run, tag_map in data.items()}

    def _histograms(self, ctx, eid, runs):
        listing = self._provider.list_tensors(
            ctx, experiment_id=eid, plugin_name=metadata.HISTOGRAMS_PLUGIN,
            run_tag_filter=provider.RunTagFilter(runs=runs),
        )
        wanted = sorted({tag for tag_map in listing.values() for tag in tag_map
                         if (metadata.parse_tag(tag) or ("",))[0] == "entropy"})
        if not wanted:
            return {}
        data = self._provider.read_tensors(
            ctx, experiment_id=eid, plugin_name=metadata.HISTOGRAMS_PLUGIN,
            downsample=_HISTOGRAM_DOWNSAMPLE, run_tag_filter=provider.RunTagFilter(runs=runs, tags=wanted),
        )
        return {run: {tag: series.histogram_series([(d.step, d.numpy) for d in points])
                      for tag, points in tag_map.items()} for run, tag_map in data.items() if tag_map}

    def _hparams(self, ctx, eid):
        """{group: {hparam: value}} from each log_dir's hparams record."""
        listing = self._provider.list_tensors(
            ctx, experiment_id=eid, plugin_name=hparams_metadata.PLUGIN_NAME
        )
        found = {}
        for run, tag_map in listing.items():
            series_ = tag_map.get(hparams_metadata.SESSION_START_INFO_TAG)
            if series_ is None:
                continue
            try:
                info = hparams_metadata.parse_session_start_info_plugin_data(series_.plugin_content)
            except Exception:  # a foreign or newer record: the group just has no hparams
                continue
            group = "" if run == metadata.ROOT else run
            found[group] = {name: _hparam_value(value) for name, value in sorted(info.hparams.items())}
        return found

    def _weights_record(self, ctx, eid, group):
        run = metadata.root_run(group)
        data = self._provider.read_tensors(
            ctx, experiment_id=eid, plugin_name=metadata.PLUGIN_NAME, downsample=1,
            run_tag_filter=provider.RunTagFilter(runs=[run], tags=[metadata.COMPONENT_WEIGHTS_TAG]),
        )
        points = data.get(run, {}).get(metadata.COMPONENT_WEIGHTS_TAG, [])
        if not points:
            return None
        try:
            return json.loads(points[-1].numpy.item().decode("utf-8"))
        except (ValueError, AttributeError, UnicodeDecodeError):
            _logger.warning("kerasloss plugin: unreadable %s in run %r", metadata.COMPONENT_WEIGHTS_TAG, run)
            return None

    def _groups(self, ctx, eid, only=None):
        """{group: {"runs": {role: run}, "tags": {role: [tags]}, "last_steps": {role: step}}}, of the
        group named `only` when given."""
        groups = {}
        listings = [
            self._provider.list_scalars(ctx, experiment_id=eid, plugin_name=metadata.SCALARS_PLUGIN),
            self._provider.list_tensors(ctx, experiment_id=eid, plugin_name=metadata.HISTOGRAMS_PLUGIN),
        ]
        for listing in listings:
            for run, tag_map in listing.items():
                split = metadata.split_run(run)
                if split is None or (only is not None and split[0] != only):
                    continue
                ours = {tag: ts for tag, ts in tag_map.items() if metadata.parse_tag(tag)}
                if not ours:
                    continue
                group, role = split
                entry = groups.setdefault(group, {"runs": {}, "tags": {}, "last_steps": {}})
                entry["runs"][role] = run
                entry["tags"].setdefault(role, []).extend(sorted(ours))
                last = max(ts.max_step for ts in ours.values())
                entry["last_steps"][role] = max(entry["last_steps"].get(role, last), last)
        return groups

    # -- routes -------------------------------------------------------------------------------
    @wrappers.Request.application
    def _serve_groups(self, request):
        ctx = plugin_util.context(request.environ)
        eid = plugin_util.experiment_id(request.environ)
        groups = self._groups(ctx, eid)
        hparams = self._hparams(ctx, eid) if groups else {}
        return _json({"groups": [
            {"name": name, "hparams": hparams.get(name, {}), **groups[name]} for name in sorted(groups)
        ]})

    @wrappers.Request.application
    def _serve_group(self, request):
        ctx, eid, name = _group_query(request, "group")
        group = self._groups(ctx, eid, only=name).get(name)
        if group is None:
            raise errors.NotFoundError(f"no kerasloss runs in group {name!r}")
        role_of = {run: role for role, run in group["runs"].items()}
        scalars = self._scalars(ctx, eid, runs=list(role_of))
        role_scalars = {role_of[run]: tag_map for run, tag_map in scalars.items()}
        histograms = self._histograms(ctx, eid, list(role_of))
        return _json({
            "name": name,
            "runs": group["runs"],
            "loss": series.loss_panels(role_scalars, self._weights_record(ctx, eid, name)),
            "diagnostics": series.lines(role_scalars, "diagnostics"),
            "entropy": series.lines(role_scalars, "entropy"),
            "metrics": series.lines(role_scalars, "metrics", roles=(metadata.POSTHOC,)).get(metadata.POSTHOC, {}),
            "histograms": {role_of[run]: tag_map for run, tag_map in histograms.items()},
        })

    @wrappers.Request.application
    def _serve_scalars(self, request):
        ctx = plugin_util.context(request.environ)
        eid = plugin_util.experiment_id(request.environ)
        run, tag = request.args.get("run"), request.args.get("tag")
        if run is None or tag is None:
            raise errors.InvalidArgumentError("scalars: the query needs run=<run>&tag=<tag>")
        if metadata.parse_tag(tag) is None:
            raise errors.InvalidArgumentError(f"scalars: {tag!r} is not a kerasloss tag")
        points = self._scalars(ctx, eid, runs=[run], tag_filter={tag}).get(run, {}).get(tag, [])
        return _json([[step, series.number(value)] for step, value in points])

    # -- the ledger ("Examples" section) ---------------------------------------------------------
    def _ledger_records(self, ctx, eid, group):
        """The latest `ExampleLedger` record of each output in `group`'s own run."""
        run = metadata.root_run(group)
        listing = self._provider.list_tensors(
            ctx, experiment_id=eid, plugin_name=metadata.PLUGIN_NAME,
            run_tag_filter=provider.RunTagFilter(runs=[run]),
        )
        prefix = metadata.LEDGER_RECORD_TAG.split("/")
        tags = sorted(tag for tag in listing.get(run, {}) if tag.split("/")[:2] == prefix)
        if not tags:
            return []
        data = self._provider.read_tensors(
            ctx, experiment_id=eid, plugin_name=metadata.PLUGIN_NAME, downsample=1,
            run_tag_filter=provider.RunTagFilter(runs=[run], tags=tags),
        )
        records = []
        for tag in tags:
            points = data.get(run, {}).get(tag, [])
            try:
                records.append(json.loads(points[-1].numpy.item().decode("utf-8")))
            except (IndexError, ValueError, AttributeError, UnicodeDecodeError):
                _logger.warning("kerasloss plugin: unreadable %s in run %r", tag, run)
        return records

    @wrappers.Request.application
    def _serve_ledger(self, request):
        ctx, eid, name = _group_query(request, "ledger")
        listing = self._provider.list_scalars(ctx, experiment_id=eid, plugin_name=metadata.SCALARS_PLUGIN)
        ledger_tags = {tag for tag_map in listing.values() for tag in tag_map
                       if (metadata.parse_tag(tag) or ("",))[0] == "ledger"}
        scalars = self._scalars(ctx, eid, tag_filter=ledger_tags) if ledger_tags else {}
        compare = [{"run": run, "tag": tag, "points": [[step, series.number(value)] for step, value in points]}
                   for run, tag_map in sorted(scalars.items()) for tag, points in sorted(tag_map.items())]
        return _json({"records": self._ledger_records(ctx, eid, name), "compare": compare})

    # -- calibration (the "Calibration" section) ---------------------------------------------------
    @wrappers.Request.application
    def _serve_calibration(self, request):
        ctx = plugin_util.context(request.environ)
        eid = plugin_util.experiment_id(request.environ)
        listing = self._provider.list_tensors(ctx, experiment_id=eid, plugin_name=metadata.PLUGIN_NAME)
        runs = sorted(run for run, tag_map in listing.items() if metadata.RELIABILITY_TAG in tag_map
                      and (metadata.split_run(run) or (None, None))[1] == metadata.POSTHOC)
        if not runs:
            return _json({"groups": []})
        data = self._provider.read_tensors(
            ctx, experiment_id=eid, plugin_name=metadata.PLUGIN_NAME, downsample=_HISTOGRAM_DOWNSAMPLE,
            run_tag_filter=provider.RunTagFilter(runs=runs, tags=[metadata.RELIABILITY_TAG]),
        )
        groups = []
        for run in runs:
            records = []
            for point in data.get(run, {}).get(metadata.RELIABILITY_TAG, []):
                try:
                    records.append({"step": point.step, **json.loads(point.numpy.item().decode("utf-8"))})
                except (ValueError, AttributeError, UnicodeDecodeError):
                    _logger.warning("kerasloss plugin: unreadable %s in run %r", metadata.RELIABILITY_TAG, run)
            groups.append({"name": metadata.split_run(run)[0], "records": records})
        return _json({"groups": groups})

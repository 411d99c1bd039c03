"""A log directory read once, through TensorBoard's own ingestion and the tab's own routes.

`kerasloss report` and `kerasloss summary` read logs as the tab does, with nothing parsed twice,
and `KerasLossPlugin`'s routes answer in-process, as they answer the tab:

    >>> logs = Snapshot("runs")
    >>> logs.get("/groups")["groups"][0]["name"]
    'factorization'
    >>> logs.get("/group", name="factorization")["loss"][0]["total_tag"]
    'loss/total'

The reader is the one `tensorboard` itself picks by default (`--load_fast=auto`): TensorBoard's
data server (its `tensorboard_data_server` binary, which reads local and gs:// paths, every point
kept here: `--reload once`, read to the end before the first route answers), else, where it is
missing or cannot start, TensorBoard's Python ingester (`--load_fast=false`; its `tf.io.gfile`
reads TensorFlow's file systems when TensorFlow is installed). On 50 log dirs × 100 epochs the data
server loads in 0.2 s where the Python ingester takes 1.5-2.5 s.

The logs do not change while they are read, so the data provider under the routes reads each kind
of data (scalars, tensors) once and every route filters that one read. On the Python ingester,
scalars are decoded from the ingested events directly when they are 0-d float32/float64 tensors
(every scalar summary; TensorBoard's generic `make_ndarray` costs ~25 µs a point), by
`make_ndarray` otherwise; the values are the same Python floats.
"""

import json
import logging
import os
import queue
import struct
import subprocess
import tempfile
import threading
import weakref

import werkzeug.test
from tensorboard import program
from tensorboard.backend.event_processing import data_ingester, data_provider
from tensorboard.compat import tf
from tensorboard.compat.proto import summary_pb2, types_pb2
from tensorboard.data import provider, server_ingester
from tensorboard.plugins import base_plugin
from tensorboard.plugins.core import core_plugin
from tensorboard.util import grpc_util, tensor_util

from kerasloss_tensorboard.metadata import PLUGIN_NAME
from kerasloss_tensorboard.plugin import KerasLossPlugin

_logger = logging.getLogger(__name__)


class NoRunsError(ValueError):
    """`logdir` holds no kerasloss run (no train, validation or posthoc run with our tags)."""


_SCALAR_LAYOUTS = {types_pb2.DT_FLOAT: ("float_val", "<f"), types_pb2.DT_DOUBLE: ("double_val", "<d")}


def scalar_value(tensor_proto):
    """The Python float of a scalar summary's `TensorProto`, as `make_ndarray(proto).item()` gives it."""
    layout = _SCALAR_LAYOUTS.get(tensor_proto.dtype)
    if layout is not None and not tensor_proto.tensor_shape.dim:
        field, fmt = layout
        values = getattr(tensor_proto, field)
        if values:
            return values[0]
        if len(tensor_proto.tensor_content) == struct.calcsize(fmt):
            return struct.unpack(fmt, tensor_proto.tensor_content)[0]
    return tensor_util.make_ndarray(tensor_proto).item()


def _scalar_datum(event):
    return provider.ScalarDatum(step=event.step, wall_time=event.wall_time, value=scalar_value(event.tensor_proto))


class _ScalarsDecodedFast(data_provider.MultiplexerDataProvider):
    """TensorBoard's provider over its multiplexer, with `read_scalars` decoding by `scalar_value`."""

    def read_scalars(self, ctx=None, *, experiment_id, plugin_name, downsample=None, run_tag_filter=None):
        self._validate_context(ctx)
        self._validate_experiment_id(experiment_id)
        self._validate_downsample(downsample)
        index = self._index(plugin_name, run_tag_filter, summary_pb2.DATA_CLASS_SCALAR)
        return self._read(_scalar_datum, index, downsample)


def _filtered(found, run_tag_filter):
    if run_tag_filter is None:
        return found  # the routes only read what they are given
    runs, tags = run_tag_filter.runs, run_tag_filter.tags
    return {run: tag_map if tags is None else {tag: value for tag, value in tag_map.items() if tag in tags}
            for run, tag_map in found.items() if runs is None or run in runs}


class _ReadOnce:
    """A data provider over another: each list/read of scalars or tensors runs once, for all runs."""

    def __init__(self, provider):
        self._provider = provider
        self._done = {}

    def _once(self, method, ctx, experiment_id, plugin_name, run_tag_filter, **options):
        key = (method, experiment_id, plugin_name, tuple(sorted(options.items())))
        if key not in self._done:
            self._done[key] = getattr(self._provider, method)(
                ctx, experiment_id=experiment_id, plugin_name=plugin_name, **options
            )
        return _filtered(self._done[key], run_tag_filter)

    def list_scalars(self, ctx=None, *, experiment_id, plugin_name, run_tag_filter=None):
        return self._once("list_scalars", ctx, experiment_id, plugin_name, run_tag_filter)

    def read_scalars(self, ctx=None, *, experiment_id, plugin_name, downsample=None, run_tag_filter=None):
        return self._once("read_scalars", ctx, experiment_id, plugin_name, run_tag_filter,
                          downsample=downsample)

    def list_tensors(self, ctx=None, *, experiment_id, plugin_name, run_tag_filter=None):
        return self._once("list_tensors", ctx, experiment_id, plugin_name, run_tag_filter)

    def read_tensors(self, ctx=None, *, experiment_id, plugin_name, downsample=None, run_tag_filter=None):
        return self._once("read_tensors", ctx, experiment_id, plugin_name, run_tag_filter,
                          downsample=downsample)

    def __getattr__(self, name):  # anything else a route may read (runs, blobs): read as asked
        return getattr(self._provider, name)


_LOADED = "Finished load cycle"
_SERVER_TIMEOUT_S = 120.0


class _DataServerFailed(RuntimeError):
    """TensorBoard's data server is missing, did not start, or did not finish loading."""


def _data_server(logdir, samples_per_plugin):
    """(gRPC data provider, server process) over `logdir`, read whole; or `_DataServerFailed`."""
    try:
        binary = server_ingester.get_server_binary()
    except server_ingester.NoDataServerError as err:
        raise _DataServerFailed(str(err)) from None
    samples = ",".join(f"{plugin}={count}" for plugin, count in samples_per_plugin.items())
    port_file = tempfile.NamedTemporaryFile(prefix="kerasloss-data-server-", suffix=".port", delete=False)
    port_file.close()
    command = [binary.path, "--logdir", os.path.expanduser(logdir), "--reload", "once", "--port", "0",
               "--port-file", port_file.name, "--die-after-stdin", "--verbose", "--samples-per-plugin", samples]
    process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE, text=True)
    lines = queue.Queue()

    def read_stderr():  # to the end, so that the server never blocks on a full pipe
        for line in process.stderr:
            lines.put(line)
        lines.put(None)

    threading.Thread(target=read_stderr, daemon=True).start()
    try:
        while True:
            line = lines.get(timeout=_SERVER_TIMEOUT_S)
            if line is None:
                raise _DataServerFailed(f"TensorBoard's data server exited ({process.wait()})")
            if _LOADED in line:
                break
        with open(port_file.name) as f:
            address = f"localhost:{int(f.read())}"
    except (queue.Empty, ValueError, OSError, _DataServerFailed) as err:
        process.kill()
        raise _DataServerFailed(f"TensorBoard's data server did not load {logdir!r}: {err!r}") from None
    finally:
        os.unlink(port_file.name)
    ingester = server_ingester.ExistingServerDataIngester(address, channel_creds_type=grpc_util.ChannelCredsType.LOCAL)
    return ingester.data_provider, process


def _python_ingester(path, flags):
    """TensorBoard's Python ingester over `path`, read whole, with `read_scalars` decoded fast."""
    ingester = data_ingester.LocalDataIngester(flags)
    ingester.start()  # blocking: the whole directory is read when it returns
    return _ScalarsDecodedFast(ingester.data_provider._multiplexer, path)


def _stop(process):
    process.stdin.close()  # --die-after-stdin
    try:
        process.wait(timeout=5)
    except subprocess.TimeoutExpired:
        process.kill()


class Snapshot:
    """The tab's routes over `logdir` as it is now.

    Args:
        logdir: a directory TensorBoard can serve (local path; gs:// etc. with TensorFlow installed).
        samples_per_plugin: TensorBoard's `--samples_per_plugin`, e.g. {"histograms": 1}: how many
            values per tag its ingestion keeps (reservoir sampling; TensorBoard's defaults otherwise).

    Raises:
        NoRunsError: `logdir` is not a directory, or it holds no kerasloss runs.

    Attributes:
        reader: "data server" or "python" (see the module docstring).
    """

    def __init__(self, logdir, samples_per_plugin=None):
        path = os.fspath(logdir)
        if not tf.io.gfile.isdir(path):
            raise NoRunsError(f"no kerasloss runs in {path!r}: not a directory")
        board = program.TensorBoard(plugins=[core_plugin.CorePluginLoader(include_debug_info=False)])
        board.configure(logdir=path, load_fast="false", reload_interval=0, reload_task="blocking",
                        samples_per_plugin=dict(samples_per_plugin or {}))
        self.logdir = path
        self.reader = "data server"
        try:
            kept = {"scalars": "all", PLUGIN_NAME: "all", "histograms": 500, **(samples_per_plugin or {})}
            data, process = _data_server(path, kept)
            self._finalizer = weakref.finalize(self, _stop, process)
        except _DataServerFailed as err:
            _logger.info("%s; reading with TensorBoard's Python ingester", err)
            data, self.reader = _python_ingester(path, board.flags), "python"
            self._finalizer = weakref.finalize(self, lambda: None)
        self.plugin = KerasLossPlugin(base_plugin.TBContext(
            data_provider=_ReadOnce(data), logdir=path, flags=board.flags,
        ))
        self._clients = {route: werkzeug.test.Client(app) for route, app in self.plugin.get_plugin_apps().items()}
        self.groups = self.get("/groups")["groups"]
        if not self.groups:
            raise NoRunsError(
                f"no kerasloss runs in {path!r}: no train, validation or posthoc run with loss/, entropy/, "
                f"diagnostics/ or metrics/ tags"
            )

    def close(self):
        """Stop the data server, if one reads the logs (also done when the snapshot is collected)."""
        self._finalizer()

    def get_text(self, route, **params):
        """The JSON text the tab's `route` answers for the query `params`."""
        response = self._clients[route].get(route, query_string=params)
        if response.status_code != 200:
            raise RuntimeError(f"{route}?{params}: HTTP {response.status_code} {response.get_data(as_text=True)}")
        return response.get_data(as_text=True)

    def get(self, route, **params):
        """The value the tab's `route` answers for the query `params`."""
        return json.loads(self.get_text(route, **params))

"""The "kerasloss" TensorBoard tab: loss components as stacked bands, entropy, post-hoc metrics.

Imports nothing of kerasloss' or Keras' (a subprocess test checks it), so TensorBoard loads it fast
on any backend. Modules, as TensorBoard's own plugins split them:

    metadata    plugin, run and tag names: the one place, shared by the writers and this tab
    summary_v2  the writer of the plugin's own summary (the component weights)
    series      from the data provider's values to the panels' series (pure Python)
    plugin      the routes (`KerasLossPlugin`)
    loader      the `tensorboard_plugins` entry point, and the error tab
    snapshot    a log directory read once by TensorBoard's ingestion, the routes answered in-process
    report      `kerasloss report`: the tab as one self-contained HTML file
    summary     `kerasloss summary`: one row per log_dir (table, markdown, json, csv)
    cli         the `kerasloss` command (report, summary, dashboard)
    static/     the frontend: an ES module, its stylesheet
"""

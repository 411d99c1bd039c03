"""The "kerasloss" TensorBoard tab: loss components as stacked bands, entropy, post-hoc metrics.

TensorBoard finds it through the `tensorboard_plugins` entry point, which names the top-level
module `kerasloss_tensorboard_loader` (it imports this package only when TensorBoard loads plugins,
and shows the error in the tab if that fails). Modules:

    metadata          plugin name, our tags, the plugin's own summary tag
    summary_v2        the writer of the component weights (the callbacks' side)
    series            from the data provider's values to the panels' series (pure Python)
    kerasloss_plugin  the routes (`KerasLossPlugin`)
    static/           the frontend: an ES module, its stylesheet
"""

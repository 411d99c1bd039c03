"""`SingleTermLoss`: the base of the losses with one component and no argument of their own."""

from kerasloss.base import ComponentLoss


class SingleTermLoss(ComponentLoss):
    """One component, named `term`, computed by the pure function `terms_function(y_true, y_pred)`.

    Subclasses set `term`, `terms_function = staticmethod(<function returning Terms>)` and, when
    the function returns diagnostics, `diagnostic_names`.
    """

    term = None
    terms_function = None

    @property
    def component_weights(self):
        return {self.term: 1.0}

    def terms(self, y_true, y_pred, with_entropy=False):
        return self.terms_function(y_true, y_pred)

"""When a held-out evaluation runs (`PostHocMetrics`, `LossMonitor`): at the end of every n-th
epoch, and at train end for the last epoch unless that epoch was just evaluated."""


def is_due(epoch, every_n_epochs):
    """Whether `epoch` (0-based) is an n-th epoch (n = 0: none is)."""
    return bool(every_n_epochs) and (epoch + 1) % every_n_epochs == 0


class HeldOutSchedule:
    """The epochs a callback has seen end and evaluated in the current fit."""

    def __init__(self):
        self.reset()

    def reset(self):
        """Forget the epochs (a new fit begins)."""
        self.last_epoch = self.evaluated_epoch = None

    def epoch_ended(self, epoch, every_n_epochs):
        """Note that `epoch` ended; True when it is an n-th epoch (n = 0: never)."""
        self.last_epoch = epoch
        return is_due(epoch, every_n_epochs)

    def evaluated(self, epoch):
        self.evaluated_epoch = epoch

    def pending_at_train_end(self):
        """The last epoch when it ended without an evaluation, else None."""
        if self.last_epoch is not None and self.evaluated_epoch != self.last_epoch:
            return self.last_epoch
        return None

    def finish(self, evaluate, finish):
        """At train end: `evaluate(epoch)` for a last epoch that ended without an evaluation, then
        `finish()`, which runs even when the evaluation raised (writers must still close)."""
        try:
            pending = self.pending_at_train_end()
            if pending is not None:
                evaluate(pending)
        finally:
            finish()

"""HeldOutSchedule: every n-th epoch, and the last epoch at train end unless just evaluated."""

import pytest

from kerasloss.callbacks._schedule import HeldOutSchedule


def _run(epochs, every_n_epochs):
    """The epochs evaluated at epoch end, then the one evaluated at train end (or None)."""
    schedule = HeldOutSchedule()
    at_epoch_end = []
    for epoch in range(epochs):
        if schedule.epoch_ended(epoch, every_n_epochs):
            schedule.evaluated(epoch)
            at_epoch_end.append(epoch)
    return at_epoch_end, schedule.pending_at_train_end()


@pytest.mark.parametrize("epochs, every_n_epochs, expected", [
    (5, 2, ([1, 3], 4)),     # the last epoch is not a 2nd one: evaluated at train end
    (4, 2, ([1, 3], None)),  # the last epoch was just evaluated: not twice
    (3, 0, ([], 2)),         # 0: only at train end
    (3, 1, ([0, 1, 2], None)),
    (0, 1, ([], None)),      # no epoch ran (a fit stopped before its first epoch ended)
])
def test_evaluations_fall_on_every_nth_epoch_and_the_last(epochs, every_n_epochs, expected):
    assert _run(epochs, every_n_epochs) == expected


def test_reset_forgets_the_previous_fit():
    schedule = HeldOutSchedule()
    schedule.epoch_ended(3, 2)
    schedule.reset()
    assert schedule.pending_at_train_end() is None

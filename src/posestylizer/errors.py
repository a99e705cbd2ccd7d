"""User-facing errors.

Every mistake a user can make (a missing file, a malformed CSV row, a wrong checkpoint) raises a subclass of
:class:`UserError`. The CLI catches it, prints its one-line message and exits with code 2; anything else is a bug
and keeps its traceback.
"""

from __future__ import annotations


class UserError(Exception):
    """A problem the user can fix; the message names the file/line and what to do."""


class ConfigError(UserError):
    """An invalid configuration value or an unknown key."""


class CheckpointError(UserError):
    """A checkpoint that is missing, unreadable, or does not match the model."""


class DataError(UserError):
    """A dataset that is missing or malformed."""


class WeightsError(UserError):
    """Pretrained weights (VGG, Inception, LPIPS, pose estimator) that are not available locally."""

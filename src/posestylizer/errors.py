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


class TrainingDiverged(UserError):
    """A loss became NaN or infinite; the message names the step and the last good checkpoint."""


class DataError(UserError):
    """A dataset that is missing or malformed."""


class WeightsError(UserError):
    """Pretrained weights (VGG, Inception, LPIPS, pose estimator) that are not available locally."""


class InputError(UserError):
    """A source photo or target pose that the re-posing pipeline cannot use."""


class NoPersonError(InputError):
    """No person was found in a photo (or none at the point/box the user gave)."""


class MissingKeypointsError(InputError):
    """A person whose keypoints lack what the model needs (the message names the missing keypoints)."""


class PoseArrayError(InputError):
    """A keypoint array of the wrong shape, type or value range."""


class ImageFileError(InputError):
    """An image file that cannot be used; ``kind`` says why: ``empty``, ``damaged``, ``too_large`` or ``not_image``
    (the server answers 400, 400, 413 and 415)."""

    def __init__(self, message: str, kind: str) -> None:
        super().__init__(message)
        self.kind = kind

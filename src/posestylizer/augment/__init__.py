"""Re-ID dataset augmentation: every training person of a Market-1501 / DeepFashion-layout set in K new poses,
written as Market-named images with a manifest, on one process or sharded over torchrun ranks (byte-identical).

:mod:`.plan` decides every name and pose from the data and the seed; :mod:`.render` runs the generator (one
appearance code per source, poses decoded in batches); :mod:`.run` shards, resumes and writes the manifest.
"""

from posestylizer.augment.plan import generated_name, usable
from posestylizer.augment.run import MANIFEST, AugmentOptions, AugmentSummary, run_augment

__all__ = ["MANIFEST", "AugmentOptions", "AugmentSummary", "generated_name", "run_augment", "usable"]

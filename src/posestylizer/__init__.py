"""posestylizer: pose-guided person image generation with the Appearance-aware Pose Stylizer (APS, IJCAI 2020)."""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["PoseStylizerPipeline", "__version__", "load_generator"]


def __getattr__(name: str):
    # Lazy so that `import posestylizer` (and the CLI's --help) does not pay for importing torch.
    if name == "load_generator":
        from posestylizer.checkpoints.native import load_generator

        return load_generator
    if name == "PoseStylizerPipeline":
        from posestylizer.inference import PoseStylizerPipeline

        return PoseStylizerPipeline
    raise AttributeError(f"module 'posestylizer' has no attribute {name!r}")

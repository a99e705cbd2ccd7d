"""The pose studio: a REST API and a static pose-editor page over :class:`PoseStylizerPipeline` (``[web]`` extra).

``create_app(pipeline, checkpoint_name=...)`` builds the FastAPI app; ``posestylizer serve`` runs it under uvicorn.
"""

from posestylizer.server.app import create_app

__all__ = ["create_app"]

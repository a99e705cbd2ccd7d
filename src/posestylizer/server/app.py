"""The REST API and the pose-studio page, as one FastAPI app over a loaded :class:`PoseStylizerPipeline`.

``create_app(pipeline, checkpoint_name=...)`` returns the app; ``posestylizer serve`` runs it under uvicorn. The model
is loaded once, by the caller; every request that touches it goes through one bounded :class:`JobQueue`. Images come
in as multipart uploads and go out as PNG; no client-supplied string is ever used as a file-system path (library
poses are looked up by name in the loaded library, uploaded file names only appear in messages).
"""


from contextlib import asynccontextmanager
from importlib import resources
from typing import Annotated, Literal

from fastapi import Depends, FastAPI, File, Form, Query, Request, UploadFile
from fastapi.responses import FileResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles

from posestylizer.errors import UserError
from posestylizer.server.jobs import JobQueue
from posestylizer.server.schemas import (
    Contract,
    Estimate,
    Generated,
    PoseLibrary,
    Problem,
    Skeleton,
    TargetPose,
)
from posestylizer.server.service import StudioService, Upload
from posestylizer.server.uploads import UploadRefused, check_size

STATIC = resources.files("posestylizer.server") / "static"
MB = 1_000_000
# Answers every endpoint that reads uploads can give besides 200, for the OpenAPI spec.
UPLOAD_ERRORS = {
    400: {"model": Problem, "description": "empty or damaged file, or a malformed field"},
    413: {"model": Problem, "description": "file over the upload size or pixel limit"},
    415: {"model": Problem, "description": "not an image"},
    422: {"model": Problem, "description": "no person found, too few joints, bad keypoints or pose name"},
    503: {"model": Problem, "description": "the model is busy (queue full) or the request timed out"},
}
PERSON_HELP = "which person, in photo pixels: a point 'X,Y' on them or a box 'LEFT,TOP,RIGHT,BOTTOM' (default: the most prominent)"


def create_app(
    pipeline,
    *,
    checkpoint_name: str,
    max_upload_bytes: int = 20 * MB,
    max_pixels: int = 40_000_000,
    queue_size: int = 4,
    timeout: float | None = 120.0,
) -> FastAPI:
    """The pose-studio app.

    Args:
        pipeline: a loaded PoseStylizerPipeline (shared by all requests, used from one worker thread).
        checkpoint_name: shown to clients (a name, not a path).
        max_upload_bytes: largest accepted file; a whole request may hold two files plus form fields.
        max_pixels: largest accepted image (width x height), checked before decoding.
        queue_size: requests that may wait while one runs; more are answered 503.
        timeout: seconds a request may take (waiting included) before it is answered 503.
    """
    service = StudioService(pipeline, checkpoint_name=checkpoint_name, max_pixels=max_pixels,
                            max_upload_bytes=max_upload_bytes, queue_size=queue_size)
    queue = JobQueue(queue_size, timeout)

    @asynccontextmanager
    async def lifespan(_app: FastAPI):
        yield
        queue.close()

    app = FastAPI(
        title="posestylizer pose studio",
        description="Re-pose the person in a photo with the APS generator: estimate a pose, edit it, generate.",
        lifespan=lifespan,
        # The total body: two files and the form fields. Each file is also checked on its own (check_size) so that
        # the usual case gets a message naming the file and the limit; this cap is the backstop that counts bytes
        # as they arrive, for bodies of unknown length.
        max_body_size=2 * max_upload_bytes + MB,
    )
    app.state.service = service
    app.state.queue = queue
    app.mount("/static", StaticFiles(directory=str(STATIC)), name="static")

    @app.exception_handler(UserError)
    async def user_error(_request: Request, err: UserError) -> JSONResponse:
        return JSONResponse({"detail": str(err)}, status_code=422)

    read = _upload_reader(service, max_upload_bytes)
    _add_model_routes(app, service)
    _add_pose_routes(app, service, queue, read)
    return app


def _upload_reader(service: StudioService, max_upload_bytes: int):
    """``await read(upload, field)``: the upload's bytes, refused (413) past the size limit, with its display name."""

    async def read(upload: UploadFile, field: str) -> Upload:
        name = service.display_name(upload.filename)
        if upload.size is not None:
            check_size(field, name, upload.size, max_upload_bytes)
        data = await upload.read(max_upload_bytes + 1)
        check_size(field, name, len(data), max_upload_bytes)
        return Upload(field=field, name=name, data=data)

    return read


def _add_model_routes(app: FastAPI, service: StudioService) -> None:
    """The page and the read-only facts of the loaded model: contract, skeleton, pose library."""

    @app.get("/", include_in_schema=False)
    async def page() -> FileResponse:
        return FileResponse(str(STATIC / "index.html"))

    @app.get("/api/contract", response_model=Contract, tags=["model"])
    async def contract() -> Contract:
        """The model's input contract (image size, pose-map sigma, preset), its checkpoint name and the limits."""
        return service.contract()

    @app.get("/api/skeleton", response_model=Skeleton, tags=["model"])
    async def skeleton() -> Skeleton:
        """Joint names, limbs, colours and mirror partners of the drawing skeleton."""
        return service.skeleton()

    @app.get("/api/poses", response_model=PoseLibrary, tags=["poses"])
    async def poses() -> PoseLibrary:
        """The built-in pose library, in model pixels."""
        return service.library()



def _add_pose_routes(app: FastAPI, service: StudioService, queue: JobQueue, read) -> None:
    """Estimate, target-pose and generate: each reads uploads, then runs on the model's bounded queue."""

    @app.post("/api/estimate", response_model=Estimate, responses=UPLOAD_ERRORS, tags=["poses"])
    async def estimate(
        image: Annotated[UploadFile, File(description="a photo of a person")],
        person: Annotated[str | None, Form(description=PERSON_HELP)] = None,
    ) -> Estimate:
        """A photo's pose: keypoints in the photo, the model's crop box, and the keypoints in that crop."""
        upload = await read(image, "image")
        return await queue.run(service.estimate, upload, person)

    async def targets(
        target_keypoints: Annotated[str | None, Form(
            description="JSON [[y, x] x 18] in model pixels, [-1, -1] = missing; rendered as given")] = None,
        target_pose: Annotated[str | None, Form(
            description="name of a library pose (GET /api/poses), fitted to the source person")] = None,
        target_image: Annotated[UploadFile | None, File(
            description="a photo whose pose is taken, fitted to the source person")] = None,
    ) -> dict:
        given = [n for n, v in (("target_keypoints", target_keypoints), ("target_pose", target_pose),
                                ("target_image", target_image)) if v is not None]
        if len(given) != 1:
            raise UploadRefused(400, "give exactly one target: target_keypoints, target_pose or target_image"
                                f" (got {', '.join(given) or 'none'})")
        image = await read(target_image, "target_image") if target_image is not None else None
        return {"target_keypoints": target_keypoints, "target_pose": target_pose, "target_image": image}

    @app.post(
        "/api/generate", response_model=Generated, tags=["generate"],
        responses={**UPLOAD_ERRORS, 200: {"content": {"image/png": {}},
                                          "description": "JSON, or the PNG itself with output=image|panel"}},
    )
    async def generate(
        source: Annotated[UploadFile, File(description="photo of the person to re-pose")],
        target: Annotated[dict, Depends(targets)],
        person: Annotated[str | None, Form(description=PERSON_HELP)] = None,
        output: Annotated[Literal["json", "image", "panel"], Query(
            description="json (both PNGs, base64, and the keypoints) or just one PNG")] = "json",
    ):
        """The source person in the target pose. Give exactly one target: keypoints, a library pose or a photo."""
        src = await read(source, "source")
        result = await queue.run(service.generate, src, person=person, **target)
        if output == "json":
            return result.to_schema()
        return Response(result.png(output), media_type="image/png")

    @app.post("/api/target-pose", response_model=TargetPose, responses=UPLOAD_ERRORS, tags=["poses"])
    async def target_pose(
        source: Annotated[UploadFile, File(description="photo of the person to re-pose")],
        target: Annotated[dict, Depends(targets)],
        person: Annotated[str | None, Form(description=PERSON_HELP)] = None,
    ) -> TargetPose:
        """The keypoints /api/generate would render for this source and target, without generating."""
        src = await read(source, "source")
        return TargetPose(target_keypoints=await queue.run(service.target_pose, src, person=person, **target))


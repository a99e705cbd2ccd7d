"""Request and response bodies of the REST API (they make the OpenAPI spec at ``/openapi.json``).

Keypoints everywhere are the project's convention: 18 ``[y, x]`` pairs in COCO-18 order (``/api/skeleton`` names
them), integer pixels, ``[-1, -1]`` for a missing joint. ``model`` keypoints are pixels of the model's image
(``/api/contract`` image_size); photo keypoints and crop boxes are pixels of the uploaded photo.
"""

from __future__ import annotations

from pydantic import BaseModel, Field

Keypoints = list[tuple[int, int]]


class Limits(BaseModel):
    max_upload_bytes: int = Field(description="largest accepted file, in bytes")
    max_pixels: int = Field(description="largest accepted image, width x height")
    queue_size: int = Field(description="requests that may wait for the model; more are answered 503")


class Contract(BaseModel):
    """What the loaded model expects, and the server's limits."""

    checkpoint: str = Field(description="checkpoint name (its folder or file name; never the full path)")
    preset: str = Field(description="layout of the training data: market (street crops) or fashion (studio)")
    image_size: tuple[int, int] = Field(description="(H, W) of the model's images, pixels")
    heatmap_sigma: float = Field(description="Gaussian sigma of the pose maps, model pixels")
    keypoints: str = Field(description="keypoint convention (coco18-yx)")
    device: str
    precision: str = Field(description="what the model computes in: fp32, bf16 or fp16 (--precision auto resolved)")
    limits: Limits


class Skeleton(BaseModel):
    """The reference drawing skeleton (reference implementation §1.5)."""

    names: list[str] = Field(description="the 18 joint names in keypoint order")
    limbs: list[tuple[int, int]] = Field(description="joint index pairs drawn as limbs")
    colors: list[tuple[int, int, int]] = Field(description="RGB colour of each joint")
    flip: list[int] = Field(description="index of each joint's left/right mirror partner")


class LibraryPose(BaseModel):
    name: str
    keypoints: Keypoints = Field(description="model pixels")


class PoseLibrary(BaseModel):
    poses: list[LibraryPose]


class Estimate(BaseModel):
    """The pose of the most prominent person (or the one picked with ``person``) in a photo."""

    image_size: tuple[int, int] = Field(description="(H, W) of the photo, EXIF orientation applied")
    keypoints: Keypoints = Field(description="photo pixels")
    crop_box: tuple[float, float, float, float] = Field(
        description="(left, top, right, bottom) photo pixels of the model's crop; may reach past the photo's edges, "
        "where the crop is padded")
    model_keypoints: Keypoints = Field(description="the same keypoints in the model's crop, model pixels")
    missing: list[str] = Field(description="names of the joints not found")


class Generated(BaseModel):
    image: str = Field(description="the generated person, PNG, base64")
    panel: str = Field(description="source | target pose | result panel, PNG, base64")
    source_keypoints: Keypoints = Field(description="model pixels")
    target_keypoints: Keypoints = Field(description="model pixels, as rendered")
    crop_box: tuple[float, float, float, float] = Field(description="(left, top, right, bottom) photo pixels")
    seconds: float = Field(description="time spent in the pipeline, excluding waiting in the queue")


class TargetPose(BaseModel):
    target_keypoints: Keypoints = Field(description="model pixels: the pose a generation with this target renders")


class Problem(BaseModel):
    detail: str = Field(description="what was wrong and what to do, one line")

"""``PoseStylizerPipeline``: re-pose the person in a photo with a trained APS generator.

    pipe = PoseStylizerPipeline.from_pretrained("runs/demo")        # native folder, run folder or authors' .pth
    result = pipe("photo.jpg", "walking")                           # a library pose, a keypoint file, a photo, ...
    result.image.save("out.png"); result.panel.save("panel.png")

Steps of :meth:`PoseStylizerPipeline.__call__` (each also a public method):

1. read the photo and find the person (:mod:`~posestylizer.inference.people`), or take ``source_keypoints``;
2. check the keypoints the model needs (both shoulders and hips, some leg);
3. crop the person as the training images frame people (:mod:`~posestylizer.inference.framing`) and compute the
   appearance code once (:meth:`~PoseStylizerPipeline.appearance`);
4. turn the target into model-pixel keypoints, retargeted to the source person's size and place
   (:mod:`~posestylizer.inference.retarget`);
5. render pose maps with the checkpoint's sigma and decode (:meth:`~PoseStylizerPipeline.render`);
6. paste the result back into the photo when asked, and draw a panel.

Images cross the API as uint8 RGB (PIL or numpy); keypoints as (18, 2) (y, x), -1 = missing.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image

import posestylizer.inference.framing as fr
from posestylizer.checkpoints.contract import InputContract
from posestylizer.errors import ConfigError, InputError, MissingKeypointsError
from posestylizer.inference.inputs import (
    classify_target,
    keypoint_array,
    load_image,
    parse_person,
    read_keypoint_file,
)
from posestylizer.inference.people import Person, find_people, pick_person
from posestylizer.inference.retarget import retarget as retarget_pose
from posestylizer.keypoints.library import library_pose, pose_names
from posestylizer.keypoints.maps import draw_pose, heatmaps
from posestylizer.keypoints.vocab import KEYPOINT_DTYPE, LEGS, TORSO_CORNERS, missing_names, present
from posestylizer.results.panels import panel_row, stack_rows
from posestylizer.results.protocol import to_uint8
from posestylizer.runtime.precision import autocast, inference_precision


@dataclass
class Appearance:
    """The source side, prepared once: photo, crop, keypoints and the generator's appearance code.

    Attributes:
        image: the photo, uint8 (H, W, 3).
        crop: the model input, uint8 (h, w, 3) (the contract's image size).
        crop_box: where the crop lies in the photo (may reach outside it; that part is padded).
        keypoints: float32 (18, 2) (y, x) model pixels of the source person, -1 = missing.
        photo_keypoints: (18, 2) (y, x) photo pixels of the source person, -1 = missing.
        code: the encoder's appearance code S, (1, Cb, h', w') on the pipeline's device. APS's encoder sees only
            the source image and pose (reference §3.1-3.2); the target pose enters the decoder alone, so one code
            serves every target pose.
    """

    image: np.ndarray
    crop: np.ndarray
    crop_box: fr.CropBox
    keypoints: np.ndarray
    photo_keypoints: np.ndarray
    code: torch.Tensor


@dataclass
class ReposeResult:
    """What :meth:`PoseStylizerPipeline.__call__` returns.

    Attributes:
        image: the generated person (model size), or the whole photo with it pasted in (``paste_back=True``).
        source_keypoints, target_keypoints: float32 (18, 2) (y, x) model pixels, -1 = missing.
        crop_box: (x0, y0, x1, y1) of the crop in photo pixels.
        panel: source crop | source pose | target pose | generated, scaled up (nearest) to be seen.
        target_kind: ``array``, ``file``, ``photo`` or ``library``.
    """

    image: Image.Image
    source_keypoints: np.ndarray
    target_keypoints: np.ndarray
    crop_box: tuple[float, float, float, float]
    panel: Image.Image
    target_kind: str


def require_source_keypoints(kp: np.ndarray) -> None:
    """MissingKeypointsError unless both shoulders, both hips and a knee or ankle are present.

    A half-body photo (no hips, no legs) is refused rather than guessed at: the model was trained on full-body
    people and would invent legs from the padding below the photo.
    """
    torso, legs = missing_names(kp, TORSO_CORNERS), missing_names(kp, LEGS)
    if len(legs) == len(LEGS):
        raise MissingKeypointsError(
            f"source person: no legs found (missing {', '.join(torso + legs)}): an upper-body photo; the model was "
            "trained on full-body people, so use a photo that shows the whole body"
        )
    if torso:
        raise MissingKeypointsError(
            f"source person: missing {', '.join(torso)}; the model needs both shoulders and hips: use a photo "
            "where the whole body is visible, or give source_keypoints"
        )


def repose_panel(crop: np.ndarray, source_kp: np.ndarray, target_kp: np.ndarray, generated: np.ndarray,
                 min_height: int = 256) -> Image.Image:
    """[source crop | source pose | target pose | generated], each (h, w), scaled up by an integer factor."""
    size = crop.shape[:2]
    row = panel_row([crop, draw_pose(source_kp, size), draw_pose(target_kp, size), generated])
    return Image.fromarray(stack_rows([row], scale=max(1, -(-min_height // size[0]))))


class PoseStylizerPipeline:
    """Re-pose the person in a photo (module docstring). Build it with :meth:`from_pretrained`.

    Args:
        generator: an APS :class:`~posestylizer.models.Generator` in eval mode.
        contract: its input contract (image size, pose-map sigma, layout); default ``generator.contract`` (set by
            :func:`~posestylizer.checkpoints.native.load_generator`), CheckpointError without one.
        device: where it runs (``cpu``, ``cuda``, ``cuda:1``).
        precision: ``fp32``, ``bf16`` (autocast, CPU and CUDA), ``fp16`` (autocast, CUDA only) or ``auto`` (bf16
            where the device computes it natively, else fp32: :func:`~posestylizer.runtime.precision.choose_precision`;
            ``auto`` prints its choice once to stderr; :attr:`precision` is the
            choice, :attr:`precision_reason` why). Generated images are converted to float32 before uint8.
        estimator: pose estimator (a callable uint8 (H, W, 3) -> (18, 2) (y, x)), a backend name
            (``mediapipe``, ``openpose``), or None for MediaPipe, built when first needed.
        framing: how people sit in the training images (default: measured for the contract's layout).
    """

    def __init__(self, generator: torch.nn.Module, contract: InputContract | None = None, *,
                 device: str | torch.device = "cpu", precision: str = "fp32", estimator=None,
                 framing: fr.Framing | None = None) -> None:
        from posestylizer.checkpoints.native import require_contract

        contract = contract or require_contract(generator, "generator")
        self.device = _device(device)
        self._precision = inference_precision(precision, self.device)
        self.generator = generator.to(self.device).eval()
        self.contract = contract
        self.framing = framing or fr.framing_for(contract.layout)
        self._estimator = estimator

    @classmethod
    def from_pretrained(cls, path: str | Path, *, preset: str | None = None, device: str = "cpu",
                        precision: str = "fp32", estimator=None, framing: fr.Framing | None = None):
        """Load a native checkpoint folder, a training run folder (its ``generator/``) or an authors' ``.pth``
        (``preset`` = ``market`` or ``fashion`` says which; by default BatchNorm files are market).

        Raises:
            CheckpointError: missing/unreadable checkpoint, or one without an input contract.
        """
        from posestylizer.checkpoints.native import CONFIG, load_generator, require_contract

        path = Path(path)
        if path.is_dir() and not (path / CONFIG).is_file() and (path / "generator" / CONFIG).is_file():
            path = path / "generator"  # a training run folder
        generator = load_generator(path, device="cpu", preset=preset)
        contract = require_contract(generator, path)
        return cls(generator, contract, device=device, precision=precision, estimator=estimator, framing=framing)

    @property
    def size(self) -> tuple[int, int]:
        """(H, W) of the model's images."""
        return tuple(self.contract.image_size)

    @property
    def estimator(self):
        """The pose estimator (built on first use)."""
        if self._estimator is None or isinstance(self._estimator, str):
            from posestylizer.estimators import get_estimator

            name = self._estimator or "mediapipe"
            # Photos hold people anywhere, often several: MediaPipe's detector must find them. Its "auto" region mode
            # assumes the image is a crop around one whole person and would invent one on a covered photo.
            options = {"roi": "detect"} if name == "mediapipe" else {}
            self._estimator = get_estimator(name, **options)
        return self._estimator

    @property
    def precision(self) -> str:
        """The precision it computes in: ``fp32``, ``bf16`` or ``fp16`` (``auto`` resolved)."""
        return self._precision.name

    @property
    def precision_reason(self) -> str:
        """Why: ``as requested``, or what ``auto`` found (e.g. ``CPU has avx512_bf16``)."""
        return self._precision.reason

    def _autocast(self):
        return autocast(self._precision, self.device)

    # -- step 1-2: the source person
    def estimate(self, image) -> np.ndarray:
        """Keypoints of the one person the estimator reports (its detector's best): float32 (18, 2) (y, x) photo
        pixels, -1 = missing. :meth:`find_people` finds everybody."""
        return np.asarray(self.estimator(load_image(image)), dtype=KEYPOINT_DTYPE)

    def find_people(self, image) -> list[Person]:
        """Everybody found in a photo, most prominent first (:func:`~posestylizer.inference.people.find_people`)."""
        return find_people(load_image(image), self.estimator)

    def _source_person(self, source, source_keypoints, person) -> tuple[np.ndarray, np.ndarray]:
        image = load_image(source)
        if source_keypoints is not None:
            if person is not None:
                raise InputError("give either source_keypoints or person, not both")
            kp = keypoint_array(source_keypoints, image.shape[:2], "source_keypoints", normalised_ok=False)
        else:
            kp = pick_person(image, self.estimator, parse_person(person)).keypoints
        require_source_keypoints(kp)
        return image, kp

    def check_inputs(self, source, target=None, *, source_keypoints=None, person=None) -> None:
        """Raise the InputError (or CheckpointError) that a call with these inputs would meet, without running
        the generator: unreadable photo, no person, missing keypoints, a bad keypoint array or target."""
        if target is not None:
            self.check_target(target)
        self._source_person(source, source_keypoints, person)

    # -- step 3: the appearance, once
    @torch.no_grad()
    def appearance(self, source, *, source_keypoints=None, person=None) -> Appearance:
        """Find, check and crop the source person and compute the appearance code (module docstring)."""
        image, photo_kp = self._source_person(source, source_keypoints, person)
        box = fr.frame_box(photo_kp, self.size, self.framing)
        crop = fr.crop_to_model(image, box, self.size)
        kp = box.to_model(photo_kp, self.size)
        require_source_keypoints(kp)  # a point can fall outside the crop
        from posestylizer.data.dataset import image_to_tensor

        src = image_to_tensor(crop)[None].to(self.device)
        src_pose = torch.from_numpy(heatmaps(kp, self.size, self.contract.heatmap_sigma))[None].to(self.device)
        with self._autocast():
            code = self.generator.appearance_code(src, src_pose)
        return Appearance(image=image, crop=crop, crop_box=box, keypoints=kp, photo_keypoints=photo_kp, code=code)

    # -- step 4: the target pose
    def target_keypoints(self, target, appearance: Appearance, *, retarget: bool | None = None) -> np.ndarray:
        """The target as float32 (18, 2) (y, x) model pixels on the pixel grid, -1 = missing.

        ``target``: an (18, 2) array ((y, x) model pixels, or fractions in [0, 1]); a keypoint file (PATN CSV
        row, OpenPose or COCO JSON); a photo (path, PIL image or uint8 array; its most prominent person); or a
        library pose name. ``retarget`` (default: yes for files, photos and library poses, no for arrays) moves the
        pose onto the source person's size and place.
        """
        kind = classify_target(target, pose_names())
        if kind.kind == "array":
            kp = keypoint_array(kind.value, self.size, "target", normalised_ok=True)
        elif kind.kind == "library":
            kp = library_pose(kind.value, self.size, self.framing)
        else:
            kp = self._framed_pose(kind)
        if retarget if retarget is not None else kind.kind != "array":
            return retarget_pose(kp, appearance.keypoints, self.size)
        out = np.rint(kp).astype(KEYPOINT_DTYPE)
        out[~present(kp)] = -1
        return out

    def _framed_pose(self, target) -> np.ndarray:
        """A file's or photo's pose in model pixels, framed like a source person (not clipped to the frame)."""
        if target.kind == "file":
            raw, where = read_keypoint_file(target.value), f"target file {target.value}"
        else:
            image = load_image(target.value, "target photo")
            raw = pick_person(image, self.estimator).keypoints
            where = f"target photo {target.value}" if isinstance(target.value, (str, Path)) else "target photo"
        try:
            box = fr.frame_box(raw, self.size, self.framing)
        except MissingKeypointsError as err:
            raise MissingKeypointsError(f"{where}: {err}") from None
        return box.to_model(raw, self.size, clip=False)

    # -- step 5: render
    @torch.no_grad()
    def render(self, appearance: Appearance, poses, *, batch_size: int = 16) -> list[Image.Image]:
        """Generate the source person in each pose: ``poses`` (N, 18, 2) (or one (18, 2)) (y, x) model pixels.

        The appearance code is computed once (by :meth:`appearance`); only the decoder runs per pose, batched.
        Returns N PIL images of the model's size.
        """
        arr = np.asarray(poses, dtype=np.float64)
        if arr.ndim == 2:
            arr = arr[None]
        if arr.ndim != 3:
            raise InputError(f"poses must be (N, 18, 2) or (18, 2) keypoints, got shape {arr.shape}")
        kps = [keypoint_array(p, self.size, f"poses[{i}]", normalised_ok=False) for i, p in enumerate(arr)]
        images = []
        for start in range(0, len(kps), batch_size):
            chunk = kps[start : start + batch_size]
            maps = torch.stack([torch.from_numpy(heatmaps(k, self.size, self.contract.heatmap_sigma)) for k in chunk])
            code = appearance.code.expand(len(chunk), -1, -1, -1)
            with self._autocast():
                fake = self.generator.decoder(code, maps.to(self.device))
            images += [Image.fromarray(to_uint8(f.float())) for f in fake]
        return images

    # -- all steps
    def __call__(self, source, target, *, source_keypoints=None, person=None, paste_back: bool = False,
                 retarget: bool | None = None) -> ReposeResult:
        """Re-pose the person of ``source`` (a path, PIL image or uint8 (H, W, 3) array) into ``target`` (see
        :meth:`target_keypoints`); ``person`` picks one of several people by a point (x, y) or a box
        (x0, y0, x1, y1) in photo pixels; ``paste_back`` returns the whole photo with the result in the crop box."""
        self.check_target(target)
        app = self.appearance(source, source_keypoints=source_keypoints, person=person)
        tgt = self.target_keypoints(target, app, retarget=retarget)
        fake = self.render(app, tgt[None])[0]
        generated = np.asarray(fake)
        image = Image.fromarray(fr.paste_into(app.image, generated, app.crop_box)) if paste_back else fake
        return ReposeResult(
            image=image, source_keypoints=app.keypoints, target_keypoints=tgt, crop_box=app.crop_box.as_tuple(),
            panel=repose_panel(app.crop, app.keypoints, tgt, generated),
            target_kind=classify_target(target, pose_names()).kind,
        )

    def check_target(self, target) -> None:
        """The error a target would raise, found before any estimation runs: arrays are checked in full, keypoint
        files are read, photos are only looked up (their person is found later)."""
        kind = classify_target(target, pose_names())
        if kind.kind == "array":
            keypoint_array(kind.value, self.size, "target", normalised_ok=True)
        elif kind.kind == "file":
            read_keypoint_file(kind.value)


def _device(device: str | torch.device) -> torch.device:
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError):
        raise ConfigError(f"unknown device {device!r} (use cpu, cuda or cuda:N)") from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError(f"device {device!r}: CUDA is not available here; use device='cpu'")
    return dev

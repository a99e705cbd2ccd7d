"""``PoseStylizerPipeline``: re-pose the person in a photo with a trained APS generator.

    pipe = PoseStylizerPipeline.from_pretrained("runs/demo")        # native folder, run folder or authors' .pth
    result = pipe("photo.jpg", "walking")                           # a library pose, a keypoint file, a photo, ...
    result = pipe("photo.jpg", KeypointFile("pose.json"))          # or a typed target (inference.targets)
    result.image.save("out.png"); result.panel.save("panel.png")

Steps of :meth:`PoseStylizerPipeline.__call__` (each also a public method):

0. resolve, read and check the target once (:meth:`~PoseStylizerPipeline.prepare_target`; the types and the one
   rule for strings: :mod:`~posestylizer.inference.targets`);
1. read the photo and find the person (:mod:`~posestylizer.inference.people`), or take ``source_keypoints``;
2. check the keypoints the model needs (both shoulders and hips, some leg);
3. crop the person as the training images frame people (:mod:`~posestylizer.inference.framing`)
   (steps 1-3: :meth:`~PoseStylizerPipeline.locate`, no generator), then compute the appearance code once
   (:meth:`~PoseStylizerPipeline.encode`; both: :meth:`~PoseStylizerPipeline.appearance`);
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
from posestylizer.checkpoints.native import CONFIG, load_generator, require_contract
from posestylizer.errors import ConfigError, InputError, MissingKeypointsError
from posestylizer.estimators import get_estimator
from posestylizer.inference.inputs import keypoint_array, load_image, parse_person
from posestylizer.inference.people import Person, find_people, pick_person
from posestylizer.inference.retarget import retarget as retarget_pose
from posestylizer.inference.targets import PreparedTarget, prepare_target, target_pose
from posestylizer.keypoints.maps import draw_pose, heatmaps
from posestylizer.keypoints.vocab import KEYPOINT_DTYPE, LEGS, TORSO_CORNERS, missing_names, present
from posestylizer.results.panels import panel_row, stack_rows
from posestylizer.results.protocol import image_to_tensor, to_uint8
from posestylizer.runtime.precision import autocast, inference_precision


@dataclass
class Located:
    """The source person, found, checked and framed (:meth:`PoseStylizerPipeline.locate`; no generator ran).

    Attributes:
        image: the photo, uint8 (H, W, 3).
        crop: the model input, uint8 (h, w, 3) (the contract's image size).
        crop_box: where the crop lies in the photo (may reach outside it; that part is padded).
        keypoints: float32 (18, 2) (y, x) model pixels of the source person, -1 = missing.
        photo_keypoints: (18, 2) (y, x) photo pixels of the source person, -1 = missing.
    """

    image: np.ndarray
    crop: np.ndarray
    crop_box: fr.CropBox
    keypoints: np.ndarray
    photo_keypoints: np.ndarray


@dataclass
class Appearance(Located):
    """The source side, prepared once: a :class:`Located` person and the generator's appearance code.

    Attributes:
        code: the encoder's appearance code S, (1, Cb, h', w') on the pipeline's device. APS's encoder sees only
            the source image and pose (reference §3.1-3.2); the target pose enters the decoder alone, so one code
            serves every target pose.
    """

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

    def check_inputs(self, source, target=None, *, source_keypoints=None, person=None) -> Located:
        """Raise the InputError (or CheckpointError) that a call with these inputs would meet, without running
        the generator: unreadable photo, no person, missing keypoints, a bad keypoint array or target.

        Returns the :class:`Located` person: pass it as ``source`` to :meth:`__call__` (or to :meth:`encode`) so the
        person is not searched for again."""
        if target is not None:
            self.prepare_target(target)
        return self.locate(source, source_keypoints=source_keypoints, person=person)

    # -- steps 1-3: the source person
    def locate(self, source, *, source_keypoints=None, person=None) -> Located:
        """Find, check and frame the source person (steps 1-3 of the module docstring); the generator does not run.

        ``source``: a photo (path, PIL image, uint8 (H, W, 3) array), or a :class:`Located`, returned as it is."""
        if isinstance(source, Located):
            if source_keypoints is not None or person is not None:
                raise InputError("source is an already located person: give no source_keypoints or person")
            return source
        image, photo_kp = self._source_person(source, source_keypoints, person)
        box = fr.frame_box(photo_kp, self.size, self.framing)
        crop = fr.crop_to_model(image, box, self.size)
        kp = box.to_model(photo_kp, self.size)
        require_source_keypoints(kp)  # a point can fall outside the crop
        return Located(image=image, crop=crop, crop_box=box, keypoints=kp, photo_keypoints=photo_kp)

    @torch.no_grad()
    def encode(self, located: Located) -> Appearance:
        """The generator's appearance code of a located person (an :class:`Appearance` is returned as it is)."""
        if isinstance(located, Appearance):
            return located

        src = image_to_tensor(located.crop)[None].to(self.device)
        pose = heatmaps(located.keypoints, self.size, self.contract.heatmap_sigma)
        src_pose = torch.from_numpy(pose)[None].to(self.device)
        with self._autocast():
            code = self.generator.appearance_code(src, src_pose)
        return Appearance(image=located.image, crop=located.crop, crop_box=located.crop_box,
                          keypoints=located.keypoints, photo_keypoints=located.photo_keypoints, code=code)

    def appearance(self, source, *, source_keypoints=None, person=None) -> Appearance:
        """:meth:`locate` then :meth:`encode`: the source side of every pose to render (module docstring)."""
        return self.encode(self.locate(source, source_keypoints=source_keypoints, person=person))

    # -- step 0 and 4: the target pose
    def prepare_target(self, target) -> PreparedTarget:
        """Resolve, read and check a target once, before any person search
        (:func:`~posestylizer.inference.targets.prepare_target`): arrays are checked in full, keypoint files read,
        library poses placed, photos decoded (their person is found later). Pass the result wherever a target goes."""
        return prepare_target(target, self.size, self.framing)

    def check_target(self, target) -> PreparedTarget:
        """The error a target would raise, found before any estimation runs; returns :meth:`prepare_target`'s
        result, to be passed on as the target."""
        return self.prepare_target(target)

    def target_keypoints(self, target, located: Located, *, retarget: bool | None = None) -> np.ndarray:
        """The target as float32 (18, 2) (y, x) model pixels on the pixel grid, -1 = missing.

        ``target``: a typed target (:mod:`~posestylizer.inference.targets`: ``LibraryPose``, ``KeypointFile``,
        ``KeypointArray``, ``PoseFromPhoto``), a :class:`~posestylizer.inference.targets.PreparedTarget`, or a plain
        value resolved by :func:`~posestylizer.inference.targets.resolve_target`'s one rule: an (18, 2) array ((y, x)
        model pixels, or fractions in [0, 1]); a library pose name (``walking``, ``library:walking``), whatever files
        the working directory holds; a keypoint file path (PATN CSV row, OpenPose or COCO JSON); a photo (path, PIL
        image or uint8 array; its most prominent person). ``located``: the source person (:meth:`locate`,
        :meth:`appearance`). ``retarget`` (default: yes for files, photos and library poses, no for arrays) moves the
        pose onto the source person's size and place.
        """
        prepared = self.prepare_target(target)
        kp = target_pose(prepared, self.size, self.framing, self.estimator if prepared.kind == "photo" else None)
        if retarget if retarget is not None else prepared.kind != "array":
            return retarget_pose(kp, located.keypoints, self.size)
        out = np.rint(kp).astype(KEYPOINT_DTYPE)
        out[~present(kp)] = -1
        return out

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
        """Re-pose the person of ``source`` (a path, PIL image or uint8 (H, W, 3) array, or a :class:`Located` from
        :meth:`locate` / :meth:`check_inputs`) into ``target`` (see :meth:`target_keypoints`; resolved and read once,
        before the person search); ``person`` picks one of several people by a point (x, y) or a box
        (x0, y0, x1, y1) in photo pixels; ``paste_back`` returns the whole photo with the result in the crop box."""
        prepared = self.prepare_target(target)
        app = self.encode(self.locate(source, source_keypoints=source_keypoints, person=person))
        tgt = self.target_keypoints(prepared, app, retarget=retarget)
        fake = self.render(app, tgt[None])[0]
        generated = np.asarray(fake)
        image = Image.fromarray(fr.paste_into(app.image, generated, app.crop_box)) if paste_back else fake
        return ReposeResult(
            image=image, source_keypoints=app.keypoints, target_keypoints=tgt, crop_box=app.crop_box.as_tuple(),
            panel=repose_panel(app.crop, app.keypoints, tgt, generated), target_kind=prepared.kind,
        )


def _device(device: str | torch.device) -> torch.device:
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError):
        raise ConfigError(f"unknown device {device!r} (use cpu, cuda or cuda:N)") from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError(f"device {device!r}: CUDA is not available here; use device='cpu'")
    return dev

"""The OpenPose COCO body model (Cao et al. 2017, ``pose_iter_440000``) and its heatmap/PAF decoding (reference §7.7).

This is the estimator behind the authors' PCKh (a Keras port, ``pose_estimator.h5``, run by ``compute_coordinates``).
Weights are never downloaded: pass the file. Accepted formats:

- a PyTorch state dict (``.pth``/``.pt``, read with ``weights_only=True``) whose keys end in the Caffe layer names,
  e.g. ``conv1_1.weight`` or ``model0.conv1_1.weight`` (the widely used ``body_pose_model.pth`` conversion);
- ``.safetensors`` with the same keys;
- the Keras ``pose_estimator.h5`` of Deformable-GAN / PATN (needs ``h5py``).

Decoding follows the reference: multi-scale inference (the Python-2 scale quirk is the default), heatmaps averaged and
PAFs summed over scales, Gaussian-smoothed 4-neighbour peaks, PAF line integrals with the distance prior, greedy
assembly, and the highest-scoring person.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from scipy.ndimage import gaussian_filter
from torch import nn

from posestylizer.checkpoints.pretrained import read_state_dict
from posestylizer.errors import WeightsError
from posestylizer.keypoints.vocab import SKELETON, missing_pose

PAF_CHANNELS = 38
HEATMAP_CHANNELS = 19  # 18 parts + background
STAGES = 6
BOX_SIZE = 368  # the network's nominal input height
SCALE_SEARCH = (0.5, 1, 1.5, 2)

# Limbs of the COCO model (part A, part B): the 19 limbs of the drawing skeleton, in the same order; and the PAF
# channels (x, y) of each.
LIMBS = SKELETON
LIMB_PAF = (
    (12, 13), (20, 21), (14, 15), (16, 17), (22, 23), (24, 25), (0, 1), (2, 3), (4, 5), (6, 7), (8, 9), (10, 11),
    (28, 29), (30, 31), (34, 35), (32, 33), (36, 37), (18, 19), (26, 27),
)  # fmt: skip

# (name, in, out, kernel) of the VGG-19 front end; "pool" = 2x2 max pooling.
_FRONT = (
    ("conv1_1", 3, 64, 3), ("conv1_2", 64, 64, 3), "pool",
    ("conv2_1", 64, 128, 3), ("conv2_2", 128, 128, 3), "pool",
    ("conv3_1", 128, 256, 3), ("conv3_2", 256, 256, 3), ("conv3_3", 256, 256, 3), ("conv3_4", 256, 256, 3), "pool",
    ("conv4_1", 256, 512, 3), ("conv4_2", 512, 512, 3), ("conv4_3_CPM", 512, 256, 3), ("conv4_4_CPM", 256, 128, 3),
)  # fmt: skip


def _stage_layers(stage: int, branch: int) -> list[tuple[str, int, int, int]]:
    out = PAF_CHANNELS if branch == 1 else HEATMAP_CHANNELS
    if stage == 1:
        names = [f"conv5_{i}_CPM_L{branch}" for i in range(1, 6)]
        spec = [(128, 128, 3), (128, 128, 3), (128, 128, 3), (128, 512, 1), (512, out, 1)]
    else:
        names = [f"Mconv{i}_stage{stage}_L{branch}" for i in range(1, 8)]
        first = 128 + PAF_CHANNELS + HEATMAP_CHANNELS
        spec = [(first, 128, 7)] + [(128, 128, 7)] * 4 + [(128, 128, 1), (128, out, 1)]
    return [(n, *s) for n, s in zip(names, spec)]


def _conv_stack(layers, relu_last: bool) -> nn.Sequential:
    mods: list[tuple[str, nn.Module]] = []
    for i, layer in enumerate(layers):
        if layer == "pool":
            mods.append((f"pool{i}", nn.MaxPool2d(2, 2)))
            continue
        name, cin, cout, k = layer
        mods.append((name, nn.Conv2d(cin, cout, k, padding=k // 2)))
        if relu_last or i < len(layers) - 1:
            mods.append((f"relu_{name}", nn.ReLU(inplace=True)))
    return nn.Sequential(OrderedDict(mods))


class OpenPoseBody(nn.Module):
    """The COCO body network: VGG-19 front end, then 6 two-branch stages (PAF 38 ch, heatmaps 19 ch), stride 8.

    Module names are the Caffe layer names, so state dict keys read ``<stack>.<caffe name>.weight``.

    Forward: (N, 3, H, W) BGR input scaled to [-0.5, 0.5] -> (PAFs (N, 38, H/8, W/8), heatmaps (N, 19, H/8, W/8)).
    """

    def __init__(self) -> None:
        super().__init__()
        self.front = _conv_stack(_FRONT, relu_last=True)
        self.stages = nn.ModuleList()
        for t in range(1, STAGES + 1):
            self.stages.append(nn.ModuleDict({
                f"L{b}": _conv_stack(_stage_layers(t, b), relu_last=False) for b in (1, 2)
            }))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        feats = self.front(x)
        h = feats
        for stage in self.stages:
            paf, heat = stage["L1"](h), stage["L2"](h)
            h = torch.cat([paf, heat, feats], dim=1)  # Caffe concat order: L1, L2, features
        return paf, heat

    def caffe_names(self) -> dict[str, str]:
        """Caffe layer name -> module path (e.g. ``conv1_1`` -> ``front.conv1_1``)."""
        return {
            path.rsplit(".", 1)[-1]: path for path, m in self.named_modules() if isinstance(m, nn.Conv2d)
        }


def _read_weights(path: Path) -> dict[str, torch.Tensor]:
    """Caffe layer name + '.weight'/'.bias' -> tensor in PyTorch layout, from any accepted file format."""
    if not path.is_file():
        raise WeightsError(
            f"{path}: OpenPose COCO body weights not found (give the file, e.g. body_pose_model.pth or "
            "pose_estimator.h5; they cannot be downloaded here)"
        )
    if path.suffix.lower() in (".h5", ".hdf5"):
        return _read_keras_h5(path)
    state = read_state_dict(path, "OpenPose COCO body weights")
    # Keep the last two dotted parts: "model1_1.conv5_1_CPM_L1.weight" -> "conv5_1_CPM_L1.weight".
    return {".".join(k.split(".")[-2:]): v for k, v in state.items()}


def _read_keras_h5(path: Path) -> dict[str, torch.Tensor]:
    """Keras HDF5 weights: ``[model_weights/]<layer>/.../kernel:0`` (kh, kw, in, out) and ``bias:0`` per layer."""
    try:
        import h5py
    except ImportError:
        raise WeightsError(f"{path}: reading Keras .h5 weights needs h5py (pip install h5py)") from None
    arrays: dict[str, np.ndarray] = {}

    def keep(name: str, obj) -> None:  # visititems stops at the first non-None return value
        if isinstance(obj, h5py.Dataset):
            arrays[name] = obj[()]

    try:
        with h5py.File(path, "r") as f:
            f.get("model_weights", f).visititems(keep)
    except OSError as err:
        raise WeightsError(f"{path}: not a readable HDF5 file ({err})") from None
    out: dict[str, torch.Tensor] = {}
    for name, arr in arrays.items():
        layer, leaf = name.split("/")[0], name.split("/")[-1]
        if leaf.startswith("kernel"):
            out[f"{layer}.weight"] = torch.from_numpy(np.ascontiguousarray(arr.transpose(3, 2, 0, 1)))
        elif leaf.startswith("bias"):
            out[f"{layer}.bias"] = torch.from_numpy(np.asarray(arr))
    return out


def load_openpose_body(path: str | Path) -> OpenPoseBody:
    """Build :class:`OpenPoseBody` and load a weights file (any accepted format); WeightsError naming what is off."""
    path = Path(path)
    state = _read_weights(path)
    with torch.device("meta"):  # shapes only; the file's tensors are assigned below
        net = OpenPoseBody()
    names = net.caffe_names()
    native: dict[str, torch.Tensor] = {}
    for caffe, module_path in names.items():
        for param in ("weight", "bias"):
            key = f"{caffe}.{param}"
            if key in state:
                native[f"{module_path}.{param}"] = state[key]
    expected = net.state_dict()
    missing = [k for k in expected if k not in native]
    wrong = [k for k, v in native.items() if tuple(v.shape) != tuple(expected[k].shape)]
    if missing or wrong:
        detail = f"missing {len(missing)} tensors (e.g. {missing[0]})" if missing else ""
        if wrong:
            k = wrong[0]
            detail += ("; " if detail else "") + f"{len(wrong)} wrongly shaped (e.g. {k}: file " \
                f"{tuple(native[k].shape)}, model {tuple(expected[k].shape)})"
        raise WeightsError(f"{path}: not the OpenPose COCO body model ({detail})")
    net.load_state_dict({k: v.float().contiguous() for k, v in native.items()}, assign=True)
    return net.eval()


def paper_scales(height: int) -> list[float]:
    """The reference's scale list ``[x * 368 / H for x in (0.5, 1, 1.5, 2)]`` evaluated under Python 2.

    Integer entries divide with floor: H 128 -> [1.4375, 2, 4.3125, 5]; H 256 -> [0.71875, 1, 2.15625, 2].
    """
    return [x * BOX_SIZE / height if isinstance(x, float) else (x * BOX_SIZE) // height for x in SCALE_SEARCH]


def true_scales(height: int) -> list[float]:
    """The same list with true division (what a Python 3 port computes)."""
    return [x * BOX_SIZE / height for x in SCALE_SEARCH]


def _resize(arr: np.ndarray, size: tuple[int, int], order: int) -> np.ndarray:
    """skimage resize with the py2-era defaults the reference ran under (mode constant, no anti-aliasing, clip)."""
    from skimage.transform import resize

    return resize(arr, (size[0], size[1]) + arr.shape[2:], order=order, mode="constant", anti_aliasing=False,
                  clip=True, preserve_range=True)


@dataclass(frozen=True)
class Peak:
    y: int
    x: int
    score: float
    id: int


def find_peaks(heatmaps: np.ndarray, threshold: float = 0.1, sigma: float = 3.0) -> list[list[Peak]]:
    """Per part: local maxima (4-neighbourhood, ``>=``) of the Gaussian-smoothed map above ``threshold``.

    Args:
        heatmaps: (H, W, >= 18) part maps at image resolution; the background channel is ignored.
    Returns:
        18 lists of peaks; a peak's score is the unsmoothed map value, ids run over all parts.
    """
    peaks: list[list[Peak]] = []
    next_id = 0
    for part in range(18):
        raw = heatmaps[:, :, part]
        m = gaussian_filter(raw, sigma=sigma)
        up, down, left, right = (np.zeros_like(m) for _ in range(4))
        left[1:, :] = m[:-1, :]
        right[:-1, :] = m[1:, :]
        up[:, 1:] = m[:, :-1]
        down[:, :-1] = m[:, 1:]
        is_peak = (m >= left) & (m >= right) & (m >= up) & (m >= down) & (m > threshold)
        ys, xs = np.nonzero(is_peak)  # row-major order, as the reference lists them
        part_peaks = [Peak(int(y), int(x), float(raw[y, x]), next_id + j) for j, (y, x) in enumerate(zip(ys, xs))]
        next_id += len(part_peaks)
        peaks.append(part_peaks)
    return peaks


def connect_limbs(peaks: list[list[Peak]], pafs: np.ndarray, image_height: int, paf_threshold: float = 0.05,
                  samples: int = 10) -> list[list[tuple[int, int, float]]]:
    """For each limb, the accepted connections (peak id A, peak id B, PAF score), greedy by PAF score.

    A candidate limb is sampled at ``samples`` points; it is kept when strictly more than 80 % of the samples align
    with the PAF above ``paf_threshold`` and the mean alignment plus the distance prior ``min(0.5 H / length - 1, 0)``
    is positive.
    """
    connections: list[list[tuple[int, int, float]]] = []
    for (a, b), (cx, cy) in zip(LIMBS, LIMB_PAF):
        cand_a, cand_b = peaks[a], peaks[b]
        scored = []
        for i, pa in enumerate(cand_a):
            for j, pb in enumerate(cand_b):
                dx, dy = pb.x - pa.x, pb.y - pa.y
                norm = float(np.hypot(dx, dy))
                if norm == 0:
                    continue
                # Python 2's round() (half away from zero) on the sample points, as the reference ran.
                cols = np.floor(np.linspace(pa.x, pb.x, samples) + 0.5).astype(int)
                rows = np.floor(np.linspace(pa.y, pb.y, samples) + 0.5).astype(int)
                align = pafs[rows, cols, cx] * dx / norm + pafs[rows, cols, cy] * dy / norm
                with_prior = float(align.mean()) + min(0.5 * image_height / norm - 1, 0)
                if (align > paf_threshold).sum() > 0.8 * samples and with_prior > 0:
                    scored.append((i, j, with_prior))
        scored.sort(key=lambda c: c[2], reverse=True)  # stable: ties keep candidate order
        used_a, used_b, accepted = set(), set(), []
        for i, j, s in scored:
            if i in used_a or j in used_b:
                continue
            accepted.append((cand_a[i].id, cand_b[j].id, s))
            used_a.add(i)
            used_b.add(j)
            if len(accepted) >= min(len(cand_a), len(cand_b)):
                break
        connections.append(accepted)
    return connections


def assemble_people(peaks: list[list[Peak]], connections: list[list[tuple[int, int, float]]],
                    min_parts: int = 4, min_mean_score: float = 0.4) -> list[tuple[np.ndarray, float]]:
    """Group limb connections into people: (18 peak ids or -1, total score) each, weak people dropped."""
    by_id = {p.id: p for part in peaks for p in part}
    people: list[list] = []  # [ids (18,), score, count]
    for k, ((a, b), conns) in enumerate(zip(LIMBS, connections)):
        for id_a, id_b, s in conns:
            owners = [n for n, person in enumerate(people) if person[0][a] == id_a or person[0][b] == id_b]
            if len(owners) == 1:
                person = people[owners[0]]
                if person[0][b] != id_b:
                    person[0][b] = id_b
                    person[2] += 1
                    person[1] += by_id[id_b].score + s
            elif len(owners) == 2:
                p1, p2 = people[owners[0]], people[owners[1]]
                if not ((p1[0] >= 0) & (p2[0] >= 0)).any():  # disjoint: merge
                    p1[0] = np.where(p1[0] >= 0, p1[0], p2[0])
                    p1[1] += p2[1] + s
                    p1[2] += p2[2]
                    del people[owners[1]]
                else:  # overlapping: attach the limb's end to the first person (counted even if already there)
                    p1[0][b] = id_b
                    p1[2] += 1
                    p1[1] += by_id[id_b].score + s
            elif not owners and k < 17:  # a new person, except from the two redundant ear-shoulder limbs
                ids = np.full(18, -1, dtype=np.int64)
                ids[a], ids[b] = id_a, id_b
                people.append([ids, by_id[id_a].score + by_id[id_b].score + s, 2])
    return [(ids, score) for ids, score, count in people if count >= min_parts and score / count >= min_mean_score]


def decode(heatmaps: np.ndarray, pafs: np.ndarray, peak_threshold: float = 0.1) -> np.ndarray:
    """(18, 2) (y, x) keypoints of the highest-scoring person from image-resolution maps (all -1 if none).

    Args:
        heatmaps: (H, W, 19) part confidence maps; pafs: (H, W, 38) part affinity fields (x, y pairs per limb).
    """
    peaks = find_peaks(heatmaps, peak_threshold)
    people = assemble_people(peaks, connect_limbs(peaks, pafs, heatmaps.shape[0]))
    if not people:
        return missing_pose()
    ids, _ = max(people, key=lambda p: p[1])
    by_id = {p.id: p for part in peaks for p in part}
    kp = missing_pose()
    for part, pid in enumerate(ids):
        if pid >= 0:
            kp[part] = (by_id[int(pid)].y, by_id[int(pid)].x)
    return kp


class OpenPoseEstimator:
    """Multi-scale OpenPose inference plus decoding, as the authors' ``compute_coordinates`` (reference §7.7).

    Args:
        weights: the COCO body model file (see module docstring).
        device: torch device.
        scales: ``"paper"`` (Python-2 integer-division quirk, reproduces the paper's PCKh), ``"true"``, or a list.
    """

    name = "openpose"

    def __init__(self, weights: str | Path | None = None, device: str | torch.device = "cpu",
                 scales: str | list[float] = "paper", network: OpenPoseBody | None = None) -> None:
        if network is None:
            if weights is None:
                raise WeightsError(
                    "the openpose estimator needs its weights file (body_pose_model.pth or pose_estimator.h5): "
                    "--weights FILE with `pose estimate` and `data prepare`, --openpose-weights FILE with `evaluate`"
                )
            network = load_openpose_body(weights)
        self.device = torch.device(device)
        self.net = network.to(self.device).eval()
        self.scales = scales

    def _scale_list(self, height: int) -> list[float]:
        if self.scales == "paper":
            return paper_scales(height)
        if self.scales == "true":
            return true_scales(height)
        return list(self.scales)

    @torch.no_grad()
    def maps(self, image: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(heatmaps (H, W, 19) averaged over scales, PAFs (H, W, 38) summed over scales) at image resolution."""
        img = np.asarray(image, dtype=np.float64)[..., :3][..., ::-1]  # RGB -> BGR (the Caffe model's order)
        h, w = img.shape[:2]
        scales = self._scale_list(h)
        heat_avg = np.zeros((h, w, HEATMAP_CHANNELS))
        paf_sum = np.zeros((h, w, PAF_CHANNELS))
        for s in scales:
            size = (max(int(h * s), 8), max(int(w * s), 8))  # truncation, as numpy's astype(int)
            scaled = _resize(img, size, order=3)
            x = torch.from_numpy(np.ascontiguousarray(scaled / 255 - 0.5, dtype=np.float32))
            paf, heat = self.net(x.permute(2, 0, 1)[None].to(self.device))
            heat = heat[0].permute(1, 2, 0).double().cpu().numpy()
            paf = paf[0].permute(1, 2, 0).double().cpu().numpy()
            heat_avg += _resize(heat, (h, w), order=1) / len(scales)
            paf_sum += _resize(paf, (h, w), order=1)  # the reference sums PAFs without dividing (§10.14)
        return heat_avg, paf_sum

    def __call__(self, image: np.ndarray) -> np.ndarray:
        heat, paf = self.maps(image)
        return decode(heat, paf)

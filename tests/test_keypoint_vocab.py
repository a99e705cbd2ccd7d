"""The pose vocabulary has one owner (keypoints.vocab), keypoints imports no higher layer, and poses are float32
(y, x) pixels in every layer while the annotation files keep their integers."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import numpy as np
import pytest

import posestylizer
from posestylizer.keypoints import read_pose_file, round_pose, to_openpose_json, to_pixels
from posestylizer.keypoints import vocab as V
from posestylizer.keypoints.library import library_pose, pose_names
from posestylizer.keypoints.maps import draw_pose, heatmaps, pose_mask
from posestylizer.keypoints.patn import (
    format_annotation_row,
    parse_annotations,
    read_annotations,
    write_annotations,
)

PACKAGE = Path(posestylizer.__file__).parent
# What keypoints may import of the package: itself and the layers below every other one.
KEYPOINTS_MAY_IMPORT = ("posestylizer.keypoints", "posestylizer.errors", "posestylizer.runtime")
VOCAB_NAMES = {n for n in dir(V) if n.isupper()}

# An upright 128x64 person with a few joints missing, integer pixels as the annotation files hold them.
POSE = np.array([
    [15, 26], [23, 33], [27, 28], [40, 26], [-1, -1], [19, 38], [32, 42], [61, 40], [60, 27], [83, 25], [111, 22],
    [60, 37], [84, 40], [111, 43], [13, 25], [13, 28], [-1, -1], [14, 35],
])  # fmt: skip


def _imports(text: str, package: str) -> list[tuple[int, str]]:
    """(line, absolute module name) of every import in a module's source, at any depth (lazy imports count too);
    ``package``: the module's package, for relative imports."""
    found = []
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: resolve against the module's package
                parent = package.rsplit(".", node.level - 1)[0]
                base = f"{parent}.{base}" if base else parent
            found.append((node.lineno, base))
    return sorted(found)


def _package_of(path: Path) -> str:
    return ".".join(path.relative_to(PACKAGE.parent).parts[:-1])


def test_keypoints_imports_no_higher_layer():
    files = sorted((PACKAGE / "keypoints").rglob("*.py"))
    assert len(files) >= 8
    wrong = [
        f"{path.relative_to(PACKAGE)}:{line}: {name}"
        for path in files
        for line, name in _imports(path.read_text(encoding="utf-8"), _package_of(path))
        if name.startswith("posestylizer") and not name.startswith(KEYPOINTS_MAY_IMPORT)
    ]
    assert not wrong, "keypoints imports a higher layer:\n" + "\n".join(wrong)


def test_the_import_walk_sees_lazy_and_relative_imports():
    text = "import numpy\ndef f():\n    from posestylizer.data.formats import read_pairs\nfrom ..data import x\n"
    names = [name for _, name in _imports(text, "posestylizer.keypoints")]
    assert names == ["numpy", "posestylizer.data.formats", "posestylizer.data"]


def test_vocabulary_names_are_defined_only_in_vocab():
    """No other module assigns a joint name, index, group or limb table of its own (imports and aliases are fine)."""
    owner = PACKAGE / "keypoints" / "vocab.py"
    wrong = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if path == owner:
            continue
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            targets = node.targets if isinstance(node, ast.Assign) else [getattr(node, "target", None)]
            for target in targets:
                names = [t.id for t in ast.walk(target) if isinstance(t, ast.Name)] if target else []
                wrong += [f"{path.relative_to(PACKAGE)}:{node.lineno}: {n}" for n in names if n in VOCAB_NAMES]
    assert not wrong, "vocabulary redefined outside keypoints.vocab:\n" + "\n".join(wrong)


def test_indices_groups_and_flip_agree_with_the_names():
    assert len(V.KEYPOINT_NAMES) == V.NUM_KEYPOINTS == 18
    for name in V.KEYPOINT_NAMES:
        assert V.KEYPOINT_NAMES[getattr(V, name.upper())] == name
    joints = [i for part in V.PARTS.values() for i in part]
    assert sorted(joints) == list(range(18))  # the parts partition the skeleton
    assert set(V.PARTS) == {"head", "torso", "arms", "legs"}
    assert set(V.TORSO_CORNERS) == {V.R_SHOULDER, V.L_SHOULDER, V.R_HIP, V.L_HIP} < set(V.TORSO)
    assert set(V.SHOULDERS) | set(V.HIPS) == set(V.TORSO_CORNERS) and set(V.ANKLES) < set(V.LEGS)
    for i, j in enumerate(V.FLIP_INDEX):
        assert V.FLIP_INDEX[j] == i
        mirrored = V.KEYPOINT_NAMES[i].replace("r_", "x_").replace("l_", "r_").replace("x_", "l_")
        assert V.KEYPOINT_NAMES[j] == mirrored
    assert all(0 <= a < 18 and 0 <= b < 18 for a, b in V.SKELETON + V.MASK_LIMBS)
    assert V.missing_names(POSE, V.PARTS["arms"]) == ["r_wrist"]


def test_annotation_files_hold_integers_and_read_back_float32(tmp_path):
    path = tmp_path / "ann.csv"
    write_annotations(path, {"a.jpg": POSE.astype(np.float32), "b.jpg": POSE + 0.4})
    text = path.read_text().splitlines()
    assert text[1] == format_annotation_row("a.jpg", POSE)
    assert "." not in text[1].split(":", 1)[1] + text[2].split(":", 1)[1]  # integers only
    got = read_annotations(path)
    assert all(kp.dtype == np.float32 for kp in got.values())
    assert np.array_equal(got["a.jpg"], POSE) and np.array_equal(got["b.jpg"], POSE)  # rounded on the way out
    rows, problems = parse_annotations(path)
    assert not problems and rows[0].keypoints.dtype == np.float32
    assert read_pose_file(path, person="a.jpg").dtype == np.float32


def test_writing_rounds_and_keeps_missing_points(tmp_path):
    kp = POSE.astype(np.float32)
    kp[0] = (10.6, 3.49)
    kp[5] = (-1, 7)  # one coordinate -1: the joint is missing, both coordinates are written as -1
    write_annotations(tmp_path / "a.csv", [("a.jpg", kp)])
    got = read_annotations(tmp_path / "a.csv")["a.jpg"]
    assert got[0].tolist() == [11, 3] and got[5].tolist() == [-1, -1]


@pytest.mark.parametrize("size, sigma", [((128, 64), 6.0), ((256, 176), 12.0)])
def test_integral_float32_poses_give_the_integer_poses_maps_bit_for_bit(size, sigma):
    ints, floats = POSE.astype(np.int64), POSE.astype(np.float32)
    assert np.array_equal(heatmaps(ints, size, sigma).view(np.uint32), heatmaps(floats, size, sigma).view(np.uint32))
    assert np.array_equal(pose_mask(ints, size), pose_mask(floats, size))
    assert np.array_equal(draw_pose(ints, size), draw_pose(floats, size))


def test_helpers_and_readers_give_float32(tmp_path):
    assert V.missing_pose().dtype == np.float32 and (V.missing_pose() == -1).all()
    y, x = POSE[:, 0] + 0.3, POSE[:, 1] - 0.3
    assert to_pixels(y, x, (128, 64)).dtype == np.float32 and round_pose(POSE + 0.2).dtype == np.float32
    assert np.array_equal(round_pose(POSE + 0.2), POSE)
    path = tmp_path / "p_keypoints.json"
    path.write_text(json.dumps(to_openpose_json(POSE.astype(np.float32), (128, 64))))
    assert read_pose_file(path).dtype == np.float32
    assert library_pose(pose_names()[0], (128, 64), _Place()).dtype == np.float32


class _Place:
    span, hip_y, center_x = 0.7, 0.5, 0.5


def test_inference_layers_pass_float32():
    from posestylizer.inference.framing import CropBox
    from posestylizer.inference.inputs import keypoint_array
    from posestylizer.inference.retarget import retarget

    box = CropBox(0.0, 0.0, 64.0, 128.0)
    assert box.to_model(POSE, (128, 64)).dtype == np.float32
    assert box.to_model(POSE, (128, 64), clip=False).dtype == np.float32
    assert box.to_image(POSE, (128, 64)).dtype == np.float32
    assert keypoint_array(POSE.tolist(), (128, 64), "pose", normalised_ok=False).dtype == np.float32
    moved = retarget(POSE, POSE, (128, 64))
    assert moved.dtype == np.float32 and np.array_equal(moved, np.rint(moved))

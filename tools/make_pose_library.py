"""Write ``src/posestylizer/assets/poses.json``, the built-in pose library, from the synthetic people's 3-D body.

Each pose is an average synthetic body (posestylizer.data.synth proportions) posed joint by joint, turned to its
view and projected orthographically, exactly as the synthetic dataset draws people; face points on the far side of
the head, and the far arm hidden behind the torso in side views, are left out (null), as annotations leave them out.

    PYTHONPATH=src python tools/make_pose_library.py && posestylizer pose list --out poses.png
"""

from __future__ import annotations

import dataclasses
import json
import math
import re
from pathlib import Path

import numpy as np

from posestylizer.data.synth import Pose, sample_identity, skeleton
from posestylizer.keypoints.vocab import KEYPOINT_NAMES

OUT = Path(__file__).resolve().parents[1] / "src" / "posestylizer" / "assets" / "poses.json"
deg = math.radians

# Average body of the synthetic people (the middle of each sample_identity range).
BODY = dataclasses.replace(
    sample_identity(0, 0), height=1.0, head_r=0.0625, shoulder_w=0.108, hip_w=0.065, hip_y=0.52,
    upper_arm=0.172, forearm=0.152, depth=0.062,
)

STAND = {
    "kind": "stand", "yaw": 0.0, "lean": 0.0, "side_lean": 0.0, "arm_abduct": (deg(9), deg(9)),
    "arm_flex": (0.0, 0.0), "elbow": (deg(12), deg(12)), "elbow_up": (0.0, 0.0), "hip_flex": (0.0, 0.0),
    "hip_abduct": (deg(4), deg(4)), "knee": (deg(3), deg(3)), "scale": 1.0, "top": 0.0, "center": 0.5,
    "shift": 0.0, "light": 1.0,
}

# name: (description, changes to the standing pose). Yaw: 0 faces the camera, +90 faces image right.
POSES = {
    "front": ("standing, facing the camera, arms relaxed", {}),
    "back": ("standing, back to the camera", {"yaw": math.pi}),
    "left_profile": ("standing, left side to the camera (facing image left)",
                     {"yaw": -math.pi / 2, "arm_abduct": (deg(4), deg(4)), "hip_flex": (deg(-6), deg(6))}),
    "right_profile": ("standing, right side to the camera (facing image right)",
                      {"yaw": math.pi / 2, "arm_abduct": (deg(4), deg(4)), "hip_flex": (deg(6), deg(-6))}),
    "three_quarter": ("standing, turned half way to image right", {"yaw": deg(40)}),
    "walking": ("mid-stride, walking toward image right, arms swinging", {
        "kind": "walk", "yaw": deg(75), "hip_flex": (deg(20), deg(-16)), "knee": (deg(6), deg(22)),
        "arm_flex": (deg(-18), deg(18)), "arm_abduct": (deg(5), deg(5)), "elbow": (deg(10), deg(20)),
        "hip_abduct": (deg(1), deg(1)),
    }),
    "arms_raised": ("facing the camera, both arms raised above the head",
                    {"kind": "arms", "arm_abduct": (deg(155), deg(155)), "arm_flex": (deg(10), deg(10)),
                     "elbow": (deg(10), deg(10))}),
    "arms_out": ("facing the camera, arms stretched out to the sides",
                 {"kind": "arms", "arm_abduct": (deg(88), deg(88)), "elbow": (deg(3), deg(3))}),
    "waving": ("facing the camera, right hand raised in a wave",
               {"kind": "arms", "arm_abduct": (deg(85), deg(9)), "elbow": (deg(95), deg(12)),
                "elbow_up": (math.pi / 2, 0.0)}),
    "sitting": ("seated (no chair drawn), seen from the side, facing image right, hands on the thighs", {
        "kind": "sit", "yaw": deg(70), "hip_flex": (deg(80), deg(80)), "knee": (deg(85), deg(85)),
        # no hip abduction: with the thigh near horizontal it would tip the knee's bend plane sideways
        "arm_flex": (deg(35), deg(35)), "elbow": (deg(45), deg(45)), "hip_abduct": (0.0, 0.0),
    }),
}


def project(pose: Pose) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """(18, 2) (y, x) of the projected joints (y down, body units) and the 3-D points."""
    pts = skeleton(BODY, pose)
    return np.array([[-pts[n][1], pts[n][0]] for n in KEYPOINT_NAMES]), pts


def hidden(name: str, pts: dict[str, np.ndarray], yaw: float) -> bool:
    """A face point on the far side of the head (the synthetic set's rule), or the far arm behind the torso in a
    side view (its elbow or wrist within the torso's width and behind its middle)."""
    kind = name.rsplit("_", 1)[-1]
    if kind in ("nose", "eye", "ear"):
        toward_camera = (pts[name] - pts["head"])[2] / np.linalg.norm(pts[name] - pts["head"])
        return toward_camera < (-0.3 if kind == "ear" else -0.05)
    if kind in ("elbow", "wrist") and abs(math.sin(yaw)) > 0.8:
        middle = (pts["neck"] + (pts["r_hip"] + pts["l_hip"]) / 2) / 2
        behind = pts[name][2] < middle[2] - 0.02
        return behind and abs(pts[name][0] - middle[0]) < BODY.depth + 0.02
    return False


def main() -> None:
    front, _ = project(Pose(**STAND))
    face = [KEYPOINT_NAMES.index(n) for n in ("nose", "r_eye", "l_eye", "r_ear", "l_ear")]
    ankles = [KEYPOINT_NAMES.index(n) for n in ("r_ankle", "l_ankle")]
    span = front[ankles, 0].max() - front[face, 0].min()  # the unit: face-to-ankle height standing
    poses = {}
    for name, (description, changes) in POSES.items():
        pose = Pose(**{**STAND, **changes})
        yx, pts = project(pose)
        hips = yx[[KEYPOINT_NAMES.index("r_hip"), KEYPOINT_NAMES.index("l_hip")]].mean(0)
        units = (yx - hips) / span
        poses[name] = {
            "description": description,
            "keypoints": [None if hidden(n, pts, pose.yaw) else [round(float(v), 4) for v in units[i]]
                          for i, n in enumerate(KEYPOINT_NAMES)],
        }
    data = {
        "format": "posestylizer-pose-library", "version": 1,
        "units": "(y, x) in units of the standing body's face-to-ankle height, y down, x to the image right, "
                 "origin at the hip centre; null = not visible",
        "keypoint_names": list(KEYPOINT_NAMES), "made_by": "tools/make_pose_library.py", "poses": poses,
    }
    OUT.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(data, indent=1)
    text = re.sub(r"\[\s+(-?[\d.]+),\s+(-?[\d.]+)\s+\]", r"[\1, \2]", text)  # one line per keypoint
    OUT.write_text(text + "\n")
    print(f"wrote {OUT}: {len(poses)} poses")


if __name__ == "__main__":
    main()

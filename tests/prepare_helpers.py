"""Miniature official downloads for the ``data prepare`` tests: Market-1501 and DeepFashion In-shop layouts, with
synthetic people as photos and their true keypoints as OpenPose / COCO files."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from PIL import Image

from posestylizer.data.synth import render_sample
from posestylizer.keypoints import to_coco, to_openpose_json

# Market: (folder, person id, images); id 3 has one image only, 0000 / -1 are distractors.
MARKET_PEOPLE = (("bounding_box_train", 1, 3), ("bounding_box_train", 2, 3), ("bounding_box_train", 3, 1),
                 ("bounding_box_test", 5, 3), ("bounding_box_test", 6, 2))  # fmt: skip


def market_archive(raw: Path, seed: int = 0, people=MARKET_PEOPLE) -> dict[str, np.ndarray]:
    """Write RAW/Market-1501-v15.09.15/bounding_box_{train,test}/ and RAW/openpose/*_keypoints.json.

    Returns {image name: true (18, 2) keypoints} of the people's images. Besides them: two distractors, one
    unreadable file, an image whose keypoints lack the hips, and an image with no keypoint file.
    """
    root = raw / "Market-1501-v15.09.15"
    poses, truth = raw / "openpose", {}
    poses.mkdir(parents=True)
    for folder, pid, count in people:
        (root / folder).mkdir(parents=True, exist_ok=True)
        for k in range(count):
            image, kp, _, _ = render_sample("market", pid, k, seed)
            name = f"{pid:04d}_c{k + 1}s1_{1000 * (k + 1):06d}_01.jpg"
            Image.fromarray(image).save(root / folder / name, quality=95)
            truth[name] = kp
            (poses / f"{Path(name).stem}_keypoints.json").write_text(json.dumps(to_openpose_json(kp)))
    train, test = root / "bounding_box_train", root / "bounding_box_test"
    for name in ("0000_c1s1_000001_00.jpg", "-1_c1s1_000002_00.jpg"):
        Image.fromarray(render_sample("market", 9, 0, seed)[0]).save(test / name)
    (train / "0001_c6s1_009000_01.jpg").write_bytes(b"not a jpeg")
    no_hips = truth["0002_c1s1_001000_01.jpg"].copy()
    no_hips[[8, 11]] = -1
    (poses / "0002_c1s1_001000_01_keypoints.json").write_text(json.dumps(to_openpose_json(no_hips)))
    (poses / "0005_c3s1_003000_01_keypoints.json").unlink()
    return truth


# DeepFashion: (gender, category, item, images, phase); item 3 is split between query and gallery.
FASHION_ITEMS = (("WOMEN", "Dresses", 1, 3, "train"), ("MEN", "Tees_Tanks", 2, 2, "train"),
                 ("WOMEN", "Blouses_Shirts", 3, 3, "query"))  # fmt: skip
VIEWS = ("front", "side", "back")


def fashion_archive(raw: Path, seed: int = 0, items=FASHION_ITEMS) -> dict[str, tuple[str, np.ndarray]]:
    """Write RAW/img/<GENDER>/<Category>/id_XXXXXXXX/01_P_view.jpg (256x256: the 176-wide person with 40 white
    columns each side), RAW/Eval/list_eval_partition.txt and RAW/coco.json (raw-image keypoints).

    Returns {flattened name: (raw relative path, true (18, 2) keypoints of the 256x176 crop)}; one more listed
    image has the wrong size.
    """
    lines, truth, records = [], {}, []
    for gender, category, item, count, phase in items:
        folder = raw / "img" / gender / category / f"id_{item:08d}"
        folder.mkdir(parents=True)
        for k in range(count):
            image, kp, _, _ = render_sample("fashion", item, k, seed)
            full = np.full((256, 256, 3), 255, dtype=np.uint8)
            full[:, 40:216] = image
            rel = f"img/{gender}/{category}/id_{item:08d}/01_{k + 1}_{VIEWS[k % 3]}.jpg"
            Image.fromarray(full).save(raw / rel, quality=95)
            status = "gallery" if phase == "query" and k == 2 else phase
            lines.append(f"{rel} id_{item:08d} {status}")
            name = f"fashion{gender}{category}id{item:08d}01_{k + 1}{VIEWS[k % 3]}.jpg"
            truth[name] = (rel, kp)
            raw_kp = kp.astype(np.float32)
            raw_kp[kp[:, 1] >= 0, 1] += 40
            records.append((rel, raw_kp, (256, 256)))
    gender, category, item = items[1][:3]
    odd = f"img/{gender}/{category}/id_{item:08d}/01_4_full.jpg"
    Image.new("RGB", (200, 300), "white").save(raw / odd)
    lines.append(f"{odd} id_{item:08d} train")
    (raw / "Eval").mkdir()
    header = [str(len(lines)), "image_name item_id evaluation_status"]
    (raw / "Eval" / "list_eval_partition.txt").write_text("\n".join(header + lines) + "\n")
    (raw / "coco.json").write_text(json.dumps(to_coco(records)))
    return truth

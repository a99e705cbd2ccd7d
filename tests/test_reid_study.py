"""``posestylizer experiments reid`` end to end at toy size: every file is written, a second run trains nothing, the
query/gallery split and the Market-style exclusion behave, and a folder made with other options is refused."""

from __future__ import annotations

import csv
import json

import pytest
import torch

from posestylizer.cli import main
from posestylizer.experiments.reid_data import ImageSet, query_gallery
from posestylizer.experiments.reid_net import retrieval_scores

TOY = ["--train-identities", "5", "--test-identities", "3", "--poses", "4", "--aps-steps", "3", "--aug-poses", "1",
       "--reid-steps", "3", "--reid-batch", "8", "--reid-width", "4", "--seeds", "0", "1", "--quiet"]  # fmt: skip


def _mtimes(root) -> dict[str, int]:
    return {str(p.relative_to(root)): p.stat().st_mtime_ns for p in root.rglob("*") if p.is_file()}


def test_study_end_to_end_and_resume(tmp_path, capsys):
    out = tmp_path / "study"
    assert main(["experiments", "reid", "--out", str(out), *TOY]) == 0
    for name in ("table.md", "table.csv", "reid.png", "study.json", "aug/trained/augment-manifest.csv",
                 "aug/untrained/augment-manifest.csv", "aps/untrained/generator/model.safetensors"):  # fmt: skip
        assert (out / name).is_file(), name
    results = sorted(out.glob("arms/*/seed*/result.json"))
    assert len(results) == 6  # 3 arms x 2 seeds
    real = json.loads((out / "arms/real/seed0/result.json").read_text())
    aug = json.loads((out / "arms/real+aps/seed0/result.json").read_text())
    generated = json.loads((out / "aug/trained.json").read_text())["images"]
    assert 0 < generated <= real["train_images"]  # at most one per real image (those without a usable pose: none)
    assert aug["train_images"] == real["train_images"] + generated
    assert 0 <= real["rank1"] <= 1 and 0 <= real["mAP"] <= 1
    with open(out / "table.csv", newline="") as f:
        assert [row["arm"] for row in csv.DictReader(f)] == ["real", "real+aps", "real+untrained"]

    before = _mtimes(out)
    capsys.readouterr()
    assert main(["experiments", "reid", "--out", str(out), *TOY]) == 0
    after = _mtimes(out)
    trained = [k for k in before if (k.startswith(("arms/", "aps/", "aug/", "data")) and after.get(k) != before[k])]
    assert trained == []  # nothing trained, rendered or augmented again
    assert "real + trained-APS images" in capsys.readouterr().out

    # another scale into the same folder: a one-line user error naming the option, exit 2
    assert main(["experiments", "reid", "--out", str(out), *TOY, "--aps-steps", "4"]) == 2
    assert "aps_steps: 3 -> 4" in capsys.readouterr().err


def _toy_set(pids: list[int], cams: list[int]) -> ImageSet:
    names = [f"{p:04d}_c{c}s1_{1000 * (k + 1):06d}_01.jpg" for k, (p, c) in enumerate(zip(pids, cams))]
    return ImageSet(torch.zeros(len(pids), 3, 8, 8, dtype=torch.uint8), torch.tensor(pids), torch.tensor(cams), names)


def test_query_gallery_by_camera():
    test = _toy_set([1, 1, 1, 1, 2, 2, 2], [1, 1, 2, 3, 4, 4, 5])
    query, gallery = query_gallery(test)
    assert query == [0, 2, 4, 6]  # first image of each person's first two cameras
    assert gallery == [1, 3, 5]


class _Fixed(torch.nn.Module):
    """Stands in for a re-ID net: the embedding of image i is row i of ``emb``."""

    def __init__(self, emb):
        super().__init__()
        self.emb = emb

    def embed(self, images):
        return self.emb


def test_same_camera_matches_are_excluded():
    # query 0 (person 1, cam 1); gallery: 1 = person 1 cam 1 (identical embedding, must be ignored),
    # 2 = person 2 cam 2 (closer than the true match), 3 = person 1 cam 2 (the true match)
    test = _toy_set([1, 1, 2, 1], [1, 1, 2, 2])
    emb = torch.nn.functional.normalize(torch.tensor([[1.0, 0.0], [1.0, 0.0], [0.9, 0.1], [0.5, 0.5]]), dim=1)
    scores = retrieval_scores(_Fixed(emb), test, [0], [1, 2, 3])
    assert scores["rank1"] == 0.0  # the same-camera copy does not count; the other person ranks first
    assert scores["mAP"] == pytest.approx(0.5)  # the true match is second of two

"""The one 5-panel grid: panels, rows, the authors' JPEG result files, atomic image writes."""

from __future__ import annotations

import io

import numpy as np
import pytest
import torch
from PIL import Image

from posestylizer.keypoints.maps import draw_pose
from posestylizer.results.panels import batch_rows, pair_panels, panel_row, stack_rows
from posestylizer.results.protocol import save_paper_grid, to_uint8
from posestylizer.runtime.imagefiles import save_image


def _batch(b=2, size=(16, 8)):
    g = torch.Generator().manual_seed(0)
    kp = torch.randint(0, 8, (b, 18, 2), generator=g)
    kp[:, 3] = -1
    return {
        "src_img": torch.rand(b, 3, *size, generator=g) * 2 - 1,
        "tgt_img": torch.rand(b, 3, *size, generator=g) * 2 - 1,
        "src_kp": kp, "tgt_kp": kp.flip(0),
    }


def test_to_uint8_passes_uint8_panels_through():
    panel = np.zeros((4, 2, 3), np.uint8)
    assert to_uint8(panel) is panel
    with pytest.raises(ValueError, match="uint8"):
        to_uint8(np.zeros((4, 2, 3), np.float32))


def test_batch_rows_are_source_pose_target_pose_generated():
    batch = _batch()
    fake = torch.rand(2, 3, 16, 8) * 2 - 1
    rows = batch_rows(batch, fake)
    assert len(rows) == 2 and rows[0].shape == (16, 40, 3) and rows[0].dtype == np.uint8
    row = rows[1]
    assert np.array_equal(row[:, 0:8], to_uint8(batch["src_img"][1]))
    assert np.array_equal(row[:, 8:16], draw_pose(batch["src_kp"][1].numpy(), (16, 8)))
    assert np.array_equal(row[:, 16:24], to_uint8(batch["tgt_img"][1]))
    assert np.array_equal(row[:, 24:32], draw_pose(batch["tgt_kp"][1].numpy(), (16, 8)))
    assert np.array_equal(row[:, 32:40], to_uint8(fake[1]))
    # extra generated columns (the report's untrained | trained) append, separated by white gaps
    extra = [to_uint8(f) for f in fake]
    wide = batch_rows(batch, fake, extra, gap=2)[0]
    assert wide.shape == (16, 6 * 8 + 5 * 2, 3)
    assert (wide[:, 8:10] == 255).all() and np.array_equal(wide[:, -8:], extra[0])


def test_stack_rows_gap_and_scale():
    rows = [np.zeros((4, 6, 3), np.uint8), np.ones((4, 6, 3), np.uint8)]
    grid = stack_rows(rows, gap=1, scale=3)
    assert grid.shape == (27, 18, 3)
    assert (grid[12:15] == 255).all() and (grid[15:] == 1).all()
    assert stack_rows(rows).shape == (8, 6, 3)


def test_paper_grid_is_pil_jpeg_quality_75(tmp_path):
    rng = np.random.default_rng(0)
    panels = [rng.integers(0, 256, (16, 8, 3), dtype=np.uint8) for _ in range(5)]
    grid = panel_row(panels)
    path = save_paper_grid(grid, tmp_path / "a.jpg___b.jpg_vis.jpg")
    buf = io.BytesIO()
    Image.fromarray(grid).save(buf, format="JPEG", quality=75)
    assert path.read_bytes() == buf.getvalue()
    assert [p.name for p in tmp_path.iterdir()] == ["a.jpg___b.jpg_vis.jpg"]


def test_save_image_leaves_no_partial_file(tmp_path):
    with pytest.raises(ValueError, match="no image format"):
        save_image(np.zeros((4, 4, 3), np.uint8), tmp_path / "x.unknown")
    assert list(tmp_path.iterdir()) == []
    save_image(np.full((4, 4, 3), 7, np.uint8), tmp_path / "x.png")
    assert np.asarray(Image.open(tmp_path / "x.png")).max() == 7


def test_pair_panels_take_uint8_panels_and_tensors():
    batch = _batch(1)
    panels = pair_panels(to_uint8(batch["src_img"][0]), batch["src_kp"][0].numpy(), batch["tgt_img"][0],
                         batch["tgt_kp"][0])
    assert len(panels) == 4 and all(p.shape == (16, 8, 3) for p in panels)

"""A tiny in-memory pair dataset and config for fast CPU training tests."""

from __future__ import annotations

import torch

from posestylizer.config import load_config
from posestylizer.keypoints.maps import heatmaps, pose_mask

TINY = [
    "model.image_size=[32,16]", "model.n_blocks=2", "model.ngf=4", "model.ndf=4", "train.batch_size=4",
    "train.epochs=2", "train.epochs_decay=1", "train.epoch_length=8", "train.log_every=1", "loss.perceptual=false",
    "data.num_workers=0", "loss.pool_size=3", "train.deterministic=true",
]  # fmt: skip


class ToyPairs(torch.utils.data.Dataset):
    """Random images and keypoints with the PairDataset item layout (pair i -> i + 1); ``masks=True`` adds the
    target's pose mask (``tgt_mask``), as a recipe with ``loss.lambda_l1_mask`` > 0 needs."""

    def __init__(self, n: int = 12, size: tuple[int, int] = (32, 16), seed: int = 0, masks: bool = False) -> None:
        g = torch.Generator().manual_seed(seed)
        self.size, self.masks = size, masks
        self.imgs = torch.rand(n, 3, *size, generator=g) * 2 - 1
        self.kp = torch.stack(
            [torch.randint(0, size[0], (n, 18), generator=g), torch.randint(0, size[1], (n, 18), generator=g)], -1
        )

    def __len__(self) -> int:
        return len(self.imgs)

    def __getitem__(self, i: int) -> dict:
        j = (i + 1) % len(self)
        pose = [torch.from_numpy(heatmaps(self.kp[k].numpy(), self.size, 2.0)) for k in (i, j)]
        item = {"src_img": self.imgs[i], "tgt_img": self.imgs[j], "src_pose": pose[0], "tgt_pose": pose[1],
                "src_kp": self.kp[i], "tgt_kp": self.kp[j]}  # fmt: skip
        if self.masks:
            item["tgt_mask"] = torch.from_numpy(pose_mask(self.kp[j].numpy(), self.size))[None]
        return item


def tiny_config(preset: str = "market", extra: list[str] | None = None):
    return load_config(preset, overrides=TINY + list(extra or []))



def ddp_worker(rank: int, world: int, port: int, overrides: list[str], out: str) -> None:
    """One torchrun-like rank: join a gloo group from the environment, train, save this rank's parameters."""
    import os

    os.environ.update(RANK=str(rank), LOCAL_RANK=str(rank), WORLD_SIZE=str(world), MASTER_ADDR="127.0.0.1",
                      MASTER_PORT=str(port))  # fmt: skip
    torch.set_num_threads(1)
    from posestylizer.training.distributed import init_distributed, shutdown_distributed
    from posestylizer.training.run import train

    info = init_distributed("cpu")
    try:
        result = train(tiny_config(extra=overrides), ToyPairs(), f"{out}/run", dist_info=info)
        nets = {k: {n: p.detach().clone() for n, p in net.named_parameters()} for k, net in result.trainer.networks()}
        bufs = {k: {n: b.clone() for n, b in net.named_buffers()} for k, net in result.trainer.networks()}
        torch.save({"nets": nets, "buffers": bufs, "losses": result.last_losses}, f"{out}/rank{rank}.pt")
    finally:
        shutdown_distributed()


def datasets_worker(rank: int, world: int, port: int, roots: list[str], out: str) -> None:
    """One torchrun-like rank loading each dataset of ``roots`` as `posestylizer train` does; writes, per dataset,
    how many checks this rank ran and the DataError it raised (or None) to ``out/datasets<rank>.json``."""
    import json
    import os

    os.environ.update(RANK=str(rank), LOCAL_RANK=str(rank), WORLD_SIZE=str(world), MASTER_ADDR="127.0.0.1",
                      MASTER_PORT=str(port))  # fmt: skip
    from posestylizer.data import dataset as check  # check_dataset as the dataset calls it
    from posestylizer.errors import DataError
    from posestylizer.training.distributed import init_distributed, shutdown_distributed
    from posestylizer.training.run import load_datasets

    calls = []
    real = check.check_dataset
    check.check_dataset = lambda *a, **k: calls.append(str(a[0])) or real(*a, **k)
    info = init_distributed("cpu")
    report = []
    try:
        for root in roots:
            before, error = len(calls), None
            try:
                load_datasets(load_config("synthetic", overrides=[f"data.root={root}"]), info)
            except DataError as err:
                error = str(err)
            report.append({"checks": len(calls) - before, "error": error})
    finally:
        shutdown_distributed()
    with open(f"{out}/datasets{rank}.json", "w") as fh:
        json.dump(report, fh)


def pool_worker(rank: int, world: int, port: int, out: str) -> None:
    """One gloo rank feeding its slice of each global batch in ``out/batches.pt`` to a global pool (size 5, seed 11);
    writes its outputs and final pool state to ``out/pool<rank>.pt``."""
    import torch.distributed as dist

    from posestylizer.training.distributed import DistInfo
    from posestylizer.training.pool import ImagePool, query_global

    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank, world_size=world)
    try:
        info, pool, outputs = DistInfo(rank=rank, world_size=world), ImagePool(5, seed=11), []
        for batch in torch.load(f"{out}/batches.pt", weights_only=True):
            local = batch.chunk(world)[rank]
            outputs.append(query_global(pool, local.contiguous(memory_format=torch.channels_last), info))
        torch.save({"outputs": outputs, "state": pool.state_dict()}, f"{out}/pool{rank}.pt")
    finally:
        dist.destroy_process_group()

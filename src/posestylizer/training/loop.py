"""The APS training loop (reference §5.4): one G forward, then G's step, D_PP's step and D_PB's step.

:class:`Trainer` holds the networks, optimisers, image pools and the training policy
(:class:`~posestylizer.training.schedule.TrainingPolicy`) of one run and counts its own iterations and epochs.
Everything that decides the next number (networks, optimisers, policy clock, image pools, RNG states of every rank,
counters) is in :meth:`Trainer.state_dict`, so a resumed run continues exactly. The run around it (folder, logging,
samples, checkpoints) is :func:`posestylizer.training.run.train`.
"""

from __future__ import annotations

import contextlib
import math
import sys
from pathlib import Path

import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel as DDP
from torch.utils.data import DataLoader, Dataset

from posestylizer.checkpoints.contract import InputContract
from posestylizer.checkpoints.convert import check_state_dict
from posestylizer.checkpoints.native import save_generator, unwrap
from posestylizer.config import ExperimentConfig
from posestylizer.errors import CheckpointError, ConfigError
from posestylizer.models import Generator, build_discriminators, init_generator_weights
from posestylizer.nn.ghost_bn import convert_ghost_batchnorm
from posestylizer.runtime.precision import choose_precision
from posestylizer.training.distributed import DistInfo, EpochSampler
from posestylizer.training.losses import APSObjective, load_perceptual
from posestylizer.training.pool import ImagePool, query_global
from posestylizer.training.schedule import TrainingPolicy, ignore_stop_signals, set_lr
from posestylizer.training.state import rng_state, set_rng_state

STATE_FORMAT = "posestylizer-train-state"
STATE_VERSION = 3  # 2: the training policy replaces LambdaLR schedulers; 3: one pool state for all ranks (1, 2 load)
BATCH_KEYS = ("src_img", "src_pose", "tgt_img", "tgt_pose")


class PairForward(nn.Module):
    """Runs a discriminator on the real and the fake pair in two separate forward calls (reference §5.6: with
    BatchNorm each call has its own batch statistics) inside one module call, so that DDP sees one forward."""

    def __init__(self, net: nn.Module) -> None:
        super().__init__()
        self.net = net

    def forward(self, real: torch.Tensor, fake: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.net(real), self.net(fake)


def check_train_config(cfg: ExperimentConfig, info: DistInfo) -> tuple[torch.dtype | None, bool]:
    """Settings that cannot work here, as one-line ConfigErrors; returns (autocast dtype or None, use GradScaler)."""
    t = cfg.train
    if t.batch_size % info.world_size:
        raise ConfigError(
            f"train.batch_size={t.batch_size} is the global batch: it must divide by the {info.world_size} processes"
        )
    if t.sync_batchnorm and info.distributed and info.device.type == "cpu":
        raise ConfigError("train.sync_batchnorm=true needs GPUs (PyTorch's SyncBatchNorm has no CPU kernel)")
    if t.time_budget < 0:
        raise ConfigError(f"train.time_budget={t.time_budget}: give seconds > 0, or 0 to train for the epoch count")
    if t.steps < 0 or (t.steps > 0 and t.time_budget > 0):
        raise ConfigError(f"train.steps={t.steps}, train.time_budget={t.time_budget}: give a step count > 0 or a time "
                          "budget, not both (0 = train for the epoch count)")
    precision = t.precision
    if precision == "auto":  # bf16 only where the device computes it natively, and say which was picked
        choice = choose_precision(precision, info.device)
        if info.is_main:
            print(choice.describe("train.precision=auto"), file=sys.stderr, flush=True)
        precision = choice.name
    if precision == "fp32":
        return None, False
    if precision == "bf16":
        return torch.bfloat16, False
    if precision == "fp16":
        if info.device.type != "cuda":
            raise ConfigError("train.precision=fp16 needs CUDA (GradScaler); on CPU use train.precision=bf16")
        return torch.float16, True
    raise ConfigError(f"train.precision={t.precision}: choose fp32, bf16, fp16 or auto")


def bn_groups(cfg: ExperimentConfig, info: DistInfo) -> int:
    """BatchNorm groups per process for ``train.bn_group_size`` (1: plain BatchNorm over the process's batch).

    ``bn_group_size`` g > 0 means nn.DataParallel on R = ceil(batch_size / g) devices: every batch (the last partial
    one too) is cut ``Tensor.chunk``-style into R parts, each normalised on its own. Under torchrun each process holds
    R / world of them (the sampler gives rank r the r-th contiguous slice of the global batch, DataParallel's chunk
    order); R = world is plain per-process BatchNorm.
    """
    t = cfg.train
    if t.bn_group_size < 0:
        raise ConfigError(f"train.bn_group_size={t.bn_group_size}: give samples per BatchNorm group, or 0 for none")
    if t.bn_group_size == 0 or cfg.model.norm != "batch":
        return 1
    if t.sync_batchnorm:
        raise ConfigError(
            f"train.sync_batchnorm=true normalises over the global batch, train.bn_group_size={t.bn_group_size} over "
            "groups: set train.bn_group_size=0 or train.sync_batchnorm=false"
        )
    groups = -(-t.batch_size // t.bn_group_size)
    if groups % info.world_size:
        raise ConfigError(
            f"train.bn_group_size={t.bn_group_size} makes {groups} BatchNorm group(s) of train.batch_size="
            f"{t.batch_size}, which {info.world_size} processes cannot split evenly: pick a group size giving a "
            "multiple of the process count, or 0"
        )
    return groups // info.world_size


class Trainer:
    """Networks, optimisers and the update phases of one run.

    Args:
        cfg: the resolved experiment config.
        dataset: yields dicts with ``src_img`` / ``tgt_img`` (3, H, W) in [-1, 1] and ``src_pose`` / ``tgt_pose``
            (18, H, W) heatmaps.
        dist_info: rank, world size and device (:func:`~posestylizer.training.distributed.init_distributed`).
        perceptual: the VGG relu1_2 slice, or None; by default loaded as ``cfg.loss`` asks (may raise WeightsError).
    """

    def __init__(
        self,
        cfg: ExperimentConfig,
        dataset: Dataset,
        dist_info: DistInfo | None = None,
        perceptual: nn.Module | None | str = "auto",
    ) -> None:
        self.cfg, self.dataset = cfg, dataset
        self.dist = dist_info or DistInfo()
        t, device = cfg.train, self.dist.device
        self.autocast_dtype, use_scaler = check_train_config(cfg, self.dist)
        self.local_batch = t.batch_size // self.dist.world_size
        self.bn_groups = bn_groups(cfg, self.dist)
        if t.deterministic:
            torch.use_deterministic_algorithms(True, warn_only=device.type == "cuda")
            torch.backends.cudnn.benchmark = False
        elif device.type == "cuda":
            torch.backends.cudnn.benchmark = True
        self._build_networks()
        if perceptual == "auto":
            perceptual = load_perceptual(cfg.loss)
        if perceptual is not None:
            perceptual = perceptual.to(device=device, memory_format=self._memory_format)
        self.objective = APSObjective(cfg.loss, d_pb=self.D_PB, d_pp=self.D_PP, perceptual=perceptual)

        def adam(net: nn.Module) -> torch.optim.Adam:
            return torch.optim.Adam(net.parameters(), lr=t.lr, betas=(t.beta1, t.beta2))

        self.opt_G, self.opt_PB, self.opt_PP = adam(self.G), adam(self.D_PB), adam(self.D_PP)
        self.optimizers = {"G": self.opt_G, "D_PB": self.opt_PB, "D_PP": self.opt_PP}
        self.policy = TrainingPolicy.from_config(t)
        # One logical pool over the global batch: the same seed (and so the same draws and entries) on every rank.
        pool_seed = t.seed * 7919
        self.pools = {"PB": ImagePool(cfg.loss.pool_size, pool_seed), "PP": ImagePool(cfg.loss.pool_size, pool_seed + 1)}
        self.scaler = torch.amp.GradScaler(device.type) if use_scaler else None
        self._wrap_networks()
        self.sampler = EpochSampler(
            len(dataset), t.epoch_length, t.seed, rank=self.dist.rank, world_size=self.dist.world_size,
            batch_size=t.batch_size,
        )
        self.epoch = 0  # completed epochs
        self.batch_in_epoch = 0  # completed batches of the current epoch
        self.step = 0  # completed iterations

    @property
    def _memory_format(self) -> torch.memory_format:
        return torch.channels_last if self.cfg.train.channels_last else torch.preserve_format

    @property
    def _contiguous_format(self) -> torch.memory_format:
        return torch.channels_last if self.cfg.train.channels_last else torch.contiguous_format

    def _build_networks(self) -> None:
        """G, D_PB and D_PP in train mode on this rank's device (same weights on every rank)."""
        t = self.cfg.train
        # Same seed on every rank: identical initial weights (DDP also broadcasts rank 0's at wrap time).
        torch.manual_seed(t.seed)
        self.G = init_generator_weights(Generator(self.cfg.model))
        self.D_PB, self.D_PP = build_discriminators(self.cfg.model, self.cfg.loss.gan_mode)
        nets = [convert_ghost_batchnorm(n, self.bn_groups) for n in (self.G, self.D_PB, self.D_PP)]
        if t.sync_batchnorm and self.dist.distributed:
            nets = [nn.SyncBatchNorm.convert_sync_batchnorm(n) for n in nets]
        fmt = self._memory_format
        self.G, self.D_PB, self.D_PP = (n.to(device=self.dist.device, memory_format=fmt).train() for n in nets)
        # From here on each rank draws its own dropout masks.
        torch.manual_seed(t.seed + 1 + self.dist.rank)

    def _wrap_networks(self) -> None:
        """DDP for what is updated, optionally compiled. G's step calls the bare D's (no D update there)."""
        g, pb, pp = self.G, PairForward(self.D_PB), PairForward(self.D_PP)
        if self.dist.distributed:
            device = self.dist.device
            ids = [device.index] if device.type == "cuda" else None
            g, pb, pp = (DDP(m, device_ids=ids) for m in (g, pb, pp))
        if self.cfg.train.compile:
            g, pb, pp = (torch.compile(m) for m in (g, pb, pp))
        self.g_call, self.pb_call, self.pp_call = g, pb, pp

    # ------------------------------------------------------------------ sizes
    @property
    def total_epochs(self) -> int:
        return self.policy.total_epochs

    @property
    def batches_per_epoch(self) -> int:
        return math.ceil((self.cfg.train.epoch_length or len(self.dataset)) / self.cfg.train.batch_size)

    @property
    def total_steps(self) -> int:
        if self.policy.counted:
            return self.policy.steps
        return self.total_epochs * self.batches_per_epoch

    def loader(self) -> DataLoader:
        """This rank's batches of the current epoch (skipping those a resumed run has already done)."""
        t = self.cfg.train
        self.sampler.set_epoch(self.epoch, skip=self.batch_in_epoch * self.local_batch)
        # The loader's own generator (worker seeds) depends on (seed, epoch, rank) only, not on the global RNG.
        gen = torch.Generator().manual_seed((t.seed * 1009 + self.epoch) * 131 + self.dist.rank)
        workers = self.cfg.data.num_workers
        return DataLoader(
            self.dataset,
            batch_size=self.local_batch,
            sampler=self.sampler,
            num_workers=workers,
            pin_memory=self.dist.device.type == "cuda",
            drop_last=False,  # the reference keeps the last partial batch (§5.6)
            generator=gen,
            persistent_workers=False,
            worker_init_fn=ignore_stop_signals if workers else None,
        )

    # ------------------------------------------------------------------ one iteration
    def _autocast(self):
        if self.autocast_dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(self.dist.device.type, dtype=self.autocast_dtype)

    def _to_device(self, batch: dict) -> dict[str, torch.Tensor]:
        nb, fmt, moved = self.dist.device.type == "cuda", self._memory_format, (*BATCH_KEYS, "tgt_mask")
        return {k: v.to(self.dist.device, non_blocking=nb, memory_format=fmt) for k, v in batch.items() if k in moved}

    def _update(self, name: str, loss: torch.Tensor) -> None:
        opt = self.optimizers[name]
        opt.zero_grad(set_to_none=True)
        if self.scaler is None:
            loss.backward()
            opt.step()
        else:
            self.scaler.scale(loss).backward()
            self.scaler.step(opt)

    def train_step(self, batch: dict) -> dict[str, torch.Tensor]:
        """One reference iteration (§5.4) at the policy's learning rate; returns the detached loss terms of this rank."""
        lr = self.cfg.train.lr * self.policy.lr_factor(self.epoch, self.step)
        for opt in self.optimizers.values():
            set_lr(opt, lr)
        b = self._to_device(batch)
        src_img, src_pose, tgt_img, tgt_pose = (b[k] for k in BATCH_KEYS)
        with self._autocast():
            fake = self.g_call(src_img, src_pose, tgt_pose)
            loss_g, stats = self.objective.generator(fake, tgt_img, src_img, tgt_pose, b.get("tgt_mask"))
        self._update("G", loss_g)
        fake = fake.detach()
        # D_PP then D_PB, both on the fake made before G's step; fakes go through the pools as full D inputs.
        for name, call, real_pair, fake_pair in (
            ("PP", self.pp_call, torch.cat([tgt_img, src_img], 1), torch.cat([fake, src_img], 1)),
            ("PB", self.pb_call, torch.cat([tgt_img, tgt_pose], 1), torch.cat([fake, tgt_pose], 1)),
        ):
            # One pool over the global batch (all ranks' fakes, rank order). It re-stacks stored entries in the
            # default layout; give D its inputs in the configured one.
            fake_pair = query_global(self.pools[name], fake_pair, self.dist)
            fake_pair = fake_pair.contiguous(memory_format=self._contiguous_format)
            with self._autocast():
                loss_d, d_stats = self.objective.discriminator(name, call, real_pair, fake_pair)
            self._update(f"D_{name}", loss_d)
            stats.update(d_stats)
        if self.scaler is not None:
            self.scaler.update()
        self.step += 1
        self.batch_in_epoch += 1
        return stats

    def end_epoch(self) -> None:
        """Count the epoch whose batches :meth:`loader` gave (the policy reads the count for the next rate)."""
        self.epoch += 1
        self.batch_in_epoch = 0

    def init_networks(self, states: dict[str, dict[str, torch.Tensor]], sources: dict[str, str]) -> None:
        """Start from given weights instead of the fresh initialisation (fine-tuning, e.g. the authors' networks).

        Args:
            states: ``"G"`` / ``"D_PB"`` / ``"D_PP"`` -> native-named state dict; networks not named keep their
                fresh weights. Optimisers, pools and counters start fresh.
            sources: the same keys -> file the weights came from (for error messages).
        Raises:
            CheckpointError: a state dict does not fit this run's network (missing, unexpected, wrongly shaped keys).
        """
        nets = dict(self.networks())
        for key, state in states.items():
            check_state_dict(nets[key], state, sources[key], what=f"this run's {key}")
            nets[key].load_state_dict(state)

    def networks(self) -> tuple[tuple[str, nn.Module], ...]:
        """(name, bare module) of G, D_PB and D_PP."""
        return ("G", unwrap(self.G)), ("D_PB", unwrap(self.D_PB)), ("D_PP", unwrap(self.D_PP))

    @property
    def lr(self) -> float:
        return self.opt_G.param_groups[0]["lr"]

    @property
    def finished(self) -> bool:
        return self.policy.finished(self.epoch, self.step)

    # ------------------------------------------------------------------ state
    def _gather(self, obj):
        """``obj`` of every rank (list indexed by rank); just ``[obj]`` in a single process."""
        if not self.dist.distributed:
            return [obj]
        out = [None] * self.dist.world_size
        dist.all_gather_object(out, obj)
        return out

    def state_dict(self) -> dict:
        """Everything a resumed run needs; collective under DDP (every rank must call it)."""
        per_rank = self._gather({"rng": rng_state()})
        return {
            "format": STATE_FORMAT,
            "version": STATE_VERSION,
            "config": self.cfg.to_dict(),
            "counters": {"epoch": self.epoch, "batch_in_epoch": self.batch_in_epoch, "step": self.step},
            "world_size": self.dist.world_size,
            "nets": {k: net.state_dict() for k, net in self.networks()},
            "optimizers": {k: o.state_dict() for k, o in self.optimizers.items()},
            "policy": self.policy.state_dict(),
            "scaler": self.scaler.state_dict() if self.scaler is not None else None,
            "per_rank": per_rank,
            "pools": {k: p.state_dict() for k, p in self.pools.items()},  # identical on every rank
        }

    def load_state_dict(self, state: dict, where: str = "checkpoint") -> None:
        try:
            for key, net in self.networks():
                net.load_state_dict(state["nets"][key])
            for key, opt in self.optimizers.items():
                opt.load_state_dict(state["optimizers"][key])
        except (KeyError, RuntimeError, ValueError) as err:
            first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
            raise CheckpointError(f"{where}: does not fit this run's networks/config ({first})") from None
        if self.scaler is not None and state.get("scaler"):
            self.scaler.load_state_dict(state["scaler"])
        if "policy" in state:  # version 1 files had per-epoch LambdaLR schedulers, derived from the counters here
            self.policy.load_state_dict(state["policy"])
        c = state["counters"]
        self.epoch, self.batch_in_epoch, self.step = c["epoch"], c["batch_in_epoch"], c["step"]
        per_rank = state["per_rank"]
        # Same world size: each rank takes its own RNG back (exact). Otherwise rank 0's state seeds all.
        mine = per_rank[self.dist.rank] if state["world_size"] == self.dist.world_size else per_rank[0]
        pools = state.get("pools") or per_rank[0]["pools"]  # version <= 2 kept a pool per rank: rank 0's serves all
        for key, pool in self.pools.items():
            pool.load_state_dict(pools[key], device=self.dist.device)
        set_rng_state(mine["rng"])

    # ------------------------------------------------------------------ inference helpers
    @torch.no_grad()
    def generate(self, batch: dict, train_mode: bool = False) -> torch.Tensor:
        """G's output for a batch (eval mode by default: BN running statistics, no dropout), on CPU."""
        g = unwrap(self.G)
        was_training = g.training
        g.train(train_mode)
        try:
            b = self._to_device(batch)
            with self._autocast():
                out = g(b["src_img"], b["src_pose"], b["tgt_pose"])
        finally:
            g.train(was_training)
        return out.float().cpu()

    def export_generator(self, out_dir: str | Path, metadata: dict | None = None) -> Path:
        """Write G as a native checkpoint folder (``posestylizer.checkpoints.native``), usable by every other command."""
        meta = {
            "trained": {"epoch": self.epoch, "step": self.step, "preset": self.cfg.preset},
            **(metadata or {}),
        }
        contract = InputContract.of_experiment(self.cfg)
        return save_generator(unwrap(self.G), self.cfg.model, out_dir, contract, metadata=meta)


def reduce_stats(stats: dict[str, torch.Tensor], info: DistInfo) -> dict[str, float]:
    """Average loss terms over ranks (a collective under DDP) and turn them into floats."""
    names = sorted(stats)
    values = torch.stack([stats[k].float() for k in names])
    if info.distributed:
        dist.all_reduce(values)
        values /= info.world_size
    return dict(zip(names, values.tolist()))

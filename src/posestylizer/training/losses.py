"""The APS objective (reference §5): GAN + L1 + perceptual L1 on VGG19 relu1_2, one object for all update phases.

Phases, in the reference's order (§5.4): ``generator`` (L_G for G's step), then ``discriminator`` for D_PP and D_PB.
The object computes losses; the training loop owns backward passes, optimiser steps, pools and wrappers (DDP, AMP).

    objective = APSObjective(cfg.loss, d_pb=d_pb, d_pp=d_pp, perceptual=load_perceptual(cfg.loss))
    loss_g, stats = objective.generator(fake_img, tgt_img, src_img, tgt_pose)
    loss_d, stats = objective.discriminator("PP", d_pp_pair, real_pair, fake_pair)
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from posestylizer.checkpoints.pretrained import SPECS, read_state_dict, resolve_weights
from posestylizer.config import LossConfig
from posestylizer.errors import WeightsError

GAN_MODES = ("bce", "lsgan")
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def masked_mean(values: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean of ``values`` (B, C, H, W) over the pixels where ``mask`` (bool (B, 1, H, W)) is set, all channels;
    0 (with gradient) when no pixel is set."""
    weight = mask.to(values.dtype).expand_as(values)
    return (values * weight).sum() / weight.sum().clamp(min=1.0)


def gan_loss(pred: torch.Tensor, target_is_real: bool, mode: str) -> torch.Tensor:
    """Reference ``GANLoss`` (§5.1): mean over every element of the D output map, targets 1 (real) / 0 (fake).

    Args:
        pred: discriminator output, any shape; probabilities in [0, 1] for "bce" (sigmoid D), raw scores for "lsgan".
        target_is_real: compare against 1.0 (True) or 0.0 (False); no label smoothing.
        mode: "bce" = ``nn.BCELoss`` on the sigmoid output (logs clamped at -100, as PyTorch's BCELoss does; the
            market preset) or "lsgan" = mean squared error (the fashion preset).
    Computed in float32 outside autocast: BCE on probabilities is not autocast-safe in half precision.
    """
    pred = pred.float()
    target = torch.full_like(pred, 1.0 if target_is_real else 0.0)
    with torch.autocast(pred.device.type, enabled=False):
        if mode == "bce":
            # BCELoss refuses NaN probabilities (an exception on CPU, a device-side assert on CUDA); a diverged D must
            # give a NaN loss instead, which the training loop reports with its step. NaN is kept out of the kernel
            # and added back by (pred - pred): +0 with zero gradient wherever pred is finite, so values and gradients
            # are bit for bit those of BCELoss.
            return F.binary_cross_entropy(pred.nan_to_num(0.5), target) + (pred - pred).mean()
        if mode == "lsgan":
            return F.mse_loss(pred, target)
    raise ValueError(f"unknown GAN mode '{mode}' (choose one of {', '.join(GAN_MODES)})")


class VGGRelu12(nn.Module):
    """VGG19 ``features[:4]`` (conv1_1, ReLU, conv1_2, ReLU -> relu1_2, 64 channels, full resolution), frozen.

    Input images in [-1, 1] are mapped to [0, 1] and normalised with the ImageNet mean/std (reference §5.2).
    Parameters never require grad (reference quirk 17 fixed; no numeric change).
    Shapes: (B, 3, H, W) -> (B, 64, H, W).
    """

    def __init__(self) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(3, 64, 3, padding=1), nn.ReLU(), nn.Conv2d(64, 64, 3, padding=1), nn.ReLU()
        )
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1), persistent=False)
        self.requires_grad_(False)
        self.eval()

    def train(self, mode: bool = True) -> VGGRelu12:
        return super().train(False)  # no dropout/BN inside, but stay in eval whatever the parent does

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.features(((x + 1) / 2 - self.mean) / self.std)

    def load_vgg19_state_dict(self, state: dict[str, torch.Tensor], where: str) -> VGGRelu12:
        """Take conv1_1/conv1_2 from a torchvision VGG19 state dict (``features.0/2.*``; bare ``0/2.*`` accepted)."""
        wanted = {}
        for idx in (0, 2):
            for kind in ("weight", "bias"):
                for key in (f"features.{idx}.{kind}", f"{idx}.{kind}", f"module.features.{idx}.{kind}"):
                    if key in state:
                        wanted[f"features.{idx}.{kind}"] = state[key]
                        break
                else:
                    raise WeightsError(
                        f"{where}: no 'features.{idx}.{kind}' tensor; expected a torchvision VGG19 state dict "
                        "(e.g. vgg19-dcbb9e9d.pth)"
                    )
        try:
            self.load_state_dict(wanted)
        except RuntimeError as err:
            first = str(err).strip().splitlines()[-1].strip()
            raise WeightsError(f"{where}: VGG19 conv1 tensors do not fit ({first})") from None
        return self


def load_vgg_relu12(weights: str | Path = "") -> VGGRelu12:
    """The perceptual feature extractor with real weights, or :class:`WeightsError` in one line.

    Args:
        weights: a local torchvision VGG19 state-dict file (read with ``weights_only=True``); empty = torchvision's
            ``VGG19_Weights.IMAGENET1K_V1`` file from the torch hub cache, downloaded once when possible.
    """

    hint = "pass --vgg-weights FILE (torchvision's vgg19-dcbb9e9d.pth) or set loss.perceptual=false"
    what = SPECS["vgg19"].what
    if weights:
        path = Path(weights)
        if not path.is_file():
            raise WeightsError(f"{what}: {path} not found; {hint}")
    else:
        try:
            path = resolve_weights("vgg19")
        except WeightsError as err:  # keep its reason, replace its --weights-dir advice by this command's options
            raise WeightsError(f"{str(err).split('; ')[0]}; {hint}") from None
    return VGGRelu12().load_vgg19_state_dict(read_state_dict(path, what), str(path))


def load_perceptual(cfg: LossConfig) -> VGGRelu12 | None:
    """The VGG slice a config asks for: None when ``loss.perceptual`` is off or its weight is 0."""
    if not cfg.perceptual or cfg.lambda_perceptual == 0:
        return None
    return load_vgg_relu12(cfg.vgg_weights)


@contextlib.contextmanager
def frozen(*nets: nn.Module) -> Iterator[None]:
    """Parameters of ``nets`` do not require grad inside the block (G's step does not need D gradients)."""
    flags = [[p.requires_grad for p in net.parameters()] for net in nets]
    for net in nets:
        net.requires_grad_(False)
    try:
        yield
    finally:
        for net, saved in zip(nets, flags):
            for p, flag in zip(net.parameters(), saved):
                p.requires_grad_(flag)


PairCall = Callable[[torch.Tensor, torch.Tensor], tuple[torch.Tensor, torch.Tensor]]


class APSObjective(nn.Module):
    """Losses of every update phase (reference §5.2-§5.3).

    Args:
        cfg: GAN mode and lambdas.
        d_pb, d_pp: the bare discriminators used in G's step (kept in train mode, as the reference does).
        perceptual: relu1_2 extractor, or None to drop the perceptual term (``loss.perceptual=false``).
    """

    def __init__(
        self, cfg: LossConfig, *, d_pb: nn.Module, d_pp: nn.Module, perceptual: VGGRelu12 | None = None
    ) -> None:
        super().__init__()
        if cfg.gan_mode not in GAN_MODES:
            raise ValueError(f"unknown GAN mode '{cfg.gan_mode}'")
        self.cfg = cfg
        self.d_pb, self.d_pp = d_pb, d_pp
        self.perceptual = perceptual

    def reconstruction(
        self, fake_img: torch.Tensor, tgt_img: torch.Tensor, tgt_mask: torch.Tensor | None = None
    ) -> dict[str, torch.Tensor]:
        """``l1_plus_perL1``: mean |fake - target| and mean |phi(fake) - phi(target)| (unweighted); with
        ``tgt_mask`` (bool (B, 1, H, W), the target's pose mask) also ``l1_mask``, the mean |fake - target| over the
        masked pixels only."""
        diff = (fake_img.float() - tgt_img.float()).abs()
        terms = {"l1": diff.mean()}
        if tgt_mask is not None:
            terms["l1_mask"] = masked_mean(diff, tgt_mask)
        if self.perceptual is not None:
            with torch.no_grad():
                target_feat = self.perceptual(tgt_img)
            terms["perceptual"] = (self.perceptual(fake_img).float() - target_feat.float()).abs().mean()
        return terms

    def generator(
        self, fake_img: torch.Tensor, tgt_img: torch.Tensor, src_img: torch.Tensor, tgt_pose: torch.Tensor,
        tgt_mask: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """L_G = λ_A·L1 + λ_B·perceptual + λ_GAN·(GAN(D_PB(fake, BP2)) + GAN(D_PP(fake, P1))) / 2, both toward real;
        plus λ_FM·feature matching (:meth:`feature_matching`) when ``loss.lambda_fm`` > 0, and λ_M·L1 inside the
        target's pose mask ``tgt_mask`` when ``loss.lambda_l1_mask`` > 0 (neither is the paper's).

        The masked L1 is there because the person is a third of a Market-like frame: the plain L1 is mostly
        background, so a blurred or missing arm costs it little."""
        c = self.cfg
        if c.lambda_l1_mask > 0 and tgt_mask is None:
            raise ValueError("loss.lambda_l1_mask > 0 needs the target's pose mask: give the batch a tgt_mask "
                             "(PairDataset.from_config(cfg, 'train') adds it)")
        gan_pb, gan_pp, fm = self._adversarial(fake_img, tgt_img, src_img, tgt_pose)
        rec = self.reconstruction(fake_img, tgt_img, tgt_mask if c.lambda_l1_mask > 0 else None)
        loss = c.lambda_gan * (gan_pb + gan_pp) / 2 + c.lambda_l1 * rec["l1"]
        if "l1_mask" in rec:
            loss = loss + c.lambda_l1_mask * rec["l1_mask"]
        if "perceptual" in rec:
            loss = loss + c.lambda_perceptual * rec["perceptual"]
        if fm is not None:
            loss = loss + c.lambda_fm * fm
        stats = {"G/gan_PB": gan_pb, "G/gan_PP": gan_pp, "G/l1": rec["l1"], "G/total": loss}
        if "perceptual" in rec:
            stats["G/perceptual"] = rec["perceptual"]
        if "l1_mask" in rec:
            stats["G/l1_mask"] = rec["l1_mask"]
        if fm is not None:
            stats["G/fm"] = fm
        return loss, {k: v.detach() for k, v in stats.items()}

    def _adversarial(
        self, fake_img: torch.Tensor, tgt_img: torch.Tensor, src_img: torch.Tensor, tgt_pose: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
        """G's GAN terms on D_PB(fake, BP2) and D_PP(fake, P1), both toward real, and the feature-matching term
        (None when ``loss.lambda_fm`` is 0), with both discriminators frozen."""
        c = self.cfg
        pb_fake, pp_fake = torch.cat([fake_img, tgt_pose], 1), torch.cat([fake_img, src_img], 1)
        with frozen(self.d_pb, self.d_pp):
            if c.lambda_fm > 0:
                (out_pb, feats_pb), (out_pp, feats_pp) = self._features(pb_fake, pp_fake)
                fm = self.feature_matching(feats_pb, torch.cat([tgt_img, tgt_pose], 1), self.d_pb) / 2
                fm = fm + self.feature_matching(feats_pp, torch.cat([tgt_img, src_img], 1), self.d_pp) / 2
            else:
                out_pb, out_pp, fm = self.d_pb(pb_fake), self.d_pp(pp_fake), None
            return gan_loss(out_pb, True, c.gan_mode), gan_loss(out_pp, True, c.gan_mode), fm

    def _features(self, pb_fake: torch.Tensor, pp_fake: torch.Tensor):
        return self.d_pb.forward_features(pb_fake), self.d_pp.forward_features(pp_fake)

    @staticmethod
    def feature_matching(fake_feats: list[torch.Tensor], real_input: torch.Tensor, d: nn.Module) -> torch.Tensor:
        """Discriminator feature matching (pix2pixHD's L_FM, without its per-layer weights): the mean over D's
        intermediate maps of mean |D_k(fake pair) - D_k(real pair)|, the real side without gradient. It asks G for
        what D sees in the real target at every scale (limbs, edges), a denser signal than D's single verdict.

        Args:
            fake_feats: ``d.forward_features`` maps of the fake pair (with gradient to G).
            real_input: the matching real pair (the target image with the same conditioning channels).
            d: the discriminator (its parameters frozen by the caller).
        """
        with torch.no_grad():
            _, real_feats = d.forward_features(real_input)
        terms = [(f.float() - r.float()).abs().mean() for f, r in zip(fake_feats, real_feats)]
        return torch.stack(terms).mean()

    def discriminator(
        self, name: str, pair_call: PairCall, real_pair: torch.Tensor, fake_pair: torch.Tensor
    ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """L_D = 0.5·λ_GAN·(GAN(D(real), real) + GAN(D(fake.detach()), fake)) (reference quirk 7: λ_GAN on D too).

        Args:
            name: "PB" or "PP", for the stats' names.
            pair_call: runs the discriminator on (real_pair, fake_pair) in two separate forward calls (§5.6) and
                returns both outputs; see :class:`posestylizer.training.loop.PairForward`.
            real_pair, fake_pair: concatenated D inputs; ``fake_pair`` comes from the image pool.
        """
        out_real, out_fake = pair_call(real_pair, fake_pair.detach())
        loss_real = gan_loss(out_real, True, self.cfg.gan_mode)
        loss_fake = gan_loss(out_fake, False, self.cfg.gan_mode)
        loss = 0.5 * self.cfg.lambda_gan * (loss_real + loss_fake)
        stats = {f"D_{name}/real": loss_real, f"D_{name}/fake": loss_fake, f"D_{name}/total": loss}
        return loss, {k: v.detach() for k, v in stats.items()}

"""The APS generator: an attention-based appearance encoder and the Appearance-aware Pose Stylizer decoder.

``Generator(cfg)(src_img, src_pose, tgt_pose) -> fake_img``; images (B, 3, H, W) in [-1, 1], poses (B, 18, H, W)
heatmaps in [0, 1]. Layer by layer this is the reference network of §3 (checked against its outputs to 1e-5).
"""

from __future__ import annotations

import torch
from torch import nn

from posestylizer.config import ModelConfig
from posestylizer.models.geometry import GeneratorGeometry, plan_geometry
from posestylizer.nn.blocks import APSBlock, ConvNormAct, EncoderBlock, FullImageBlock, resize


def decoder_channels(ngf: int, n_blocks: int, max_channels: int = 512) -> list[int]:
    """Channels per decoder level s = 0..n (reference ``nf(s)``): ngf * 2^(n - s), capped; level n is ngf."""
    return [min(ngf * 2 ** (n_blocks - s), max_channels) for s in range(n_blocks + 1)]


class AppearanceEncoder(nn.Module):
    """Two-stream encoder (paper §3.1): the source pose gates the source image at every block.

    Returns the appearance code S (B, Cb, h, w) at the bottleneck; the final pose-stream tensor is not used
    downstream (reference quirk 6).
    """

    def __init__(self, *, ngf: int, n_blocks: int, norm: str, pose_channels: int, max_channels: int = 512) -> None:
        super().__init__()
        bias = norm == "instance"
        stem = {"out_channels": ngf, "kernel_size": 7, "reflect_pad": 3, "norm": norm, "act": "relu",
                "bias": bias}  # fmt: skip
        self.image_stem = ConvNormAct(in_channels=3, **stem)
        self.pose_stem = ConvNormAct(in_channels=pose_channels, **stem)
        widths = [min(ngf * 2**i, max_channels) for i in range(n_blocks + 1)]
        self.blocks = nn.ModuleList(
            EncoderBlock(in_channels=widths[i], out_channels=widths[i + 1], norm=norm) for i in range(n_blocks)
        )
        self.out_channels = widths[-1]

    def forward(self, src_img: torch.Tensor, src_pose: torch.Tensor) -> torch.Tensor:
        image, pose = self.image_stem(src_img), self.pose_stem(src_pose)
        for block in self.blocks:
            image, pose = block(image, pose)
        return image


class APSDecoder(nn.Module):
    """Foreground stream (APS blocks) and synthesized stream (full-image blocks), then a 7x7 conv to RGB.

    Step i: ``fg = APS_i(fg, resize(tgt_pose, fg size), S)``; ``full = Full_i(fg if i == 0 else [full, fg])``.
    The full stream runs one resolution ahead until its last block (a 7x7 conv); the output is
    ``tanh(conv([full, fg]))`` (paper §3.2).
    """

    def __init__(
        self,
        *,
        ngf: int,
        n_blocks: int,
        norm: str,
        pose_channels: int,
        style_channels: int,
        geometry: GeneratorGeometry,
        adanorm: str = "adapn",
        dropout: float = 0.0,
        max_channels: int = 512,
    ) -> None:
        super().__init__()
        nf = decoder_channels(ngf, n_blocks, max_channels)
        self.fg_blocks = nn.ModuleList(
            APSBlock(
                in_channels=0 if i == 0 else nf[i],
                out_channels=nf[i + 1],
                pose_channels=pose_channels,
                style_channels=style_channels,
                factor=2 ** (i + 1),
                up_padding=geometry.fg_paddings[i],
                adanorm=adanorm,
                dropout=dropout,
            )
            for i in range(n_blocks)
        )
        self.full_blocks = nn.ModuleList(
            FullImageBlock(
                in_channels=nf[i + 1] if i == 0 else nf[i] + nf[i + 1],
                out_channels=nf[i + 1],
                norm=norm,
                upsample=i < n_blocks - 1,
                up_padding=geometry.full_paddings[i] if i < n_blocks - 1 else (1, 1),
            )
            for i in range(n_blocks)
        )
        self.to_rgb = ConvNormAct(in_channels=2 * nf[-1], out_channels=3, kernel_size=7, reflect_pad=3)

    def forward(self, style: torch.Tensor, tgt_pose: torch.Tensor) -> torch.Tensor:
        fg = full = None
        for fg_block, full_block in zip(self.fg_blocks, self.full_blocks):
            size = style.shape[-2:] if fg is None else fg.shape[-2:]
            fg = fg_block(fg, resize(tgt_pose, size), style)
            full = full_block(fg if full is None else torch.cat([full, fg], dim=1))
        return torch.tanh(self.to_rgb(torch.cat([full, fg], dim=1)))


class Generator(nn.Module):
    """APS generator: ``G(src_img, src_pose, tgt_pose) -> fake_img``.

    Args:
        cfg: architecture (image_size, n_blocks, ngf, norm, dropout, adanorm, pose_channels, max_channels).
    Shapes: src_img (B, 3, H, W) in [-1, 1]; src_pose, tgt_pose (B, 18, H, W) in [0, 1] -> (B, 3, H, W) in [-1, 1].
    """

    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        self.config = cfg
        self.geometry = plan_geometry(tuple(cfg.image_size), cfg.n_blocks)
        self.encoder = AppearanceEncoder(
            ngf=cfg.ngf,
            n_blocks=cfg.n_blocks,
            norm=cfg.norm,
            pose_channels=cfg.pose_channels,
            max_channels=cfg.max_channels,
        )
        self.decoder = APSDecoder(
            ngf=cfg.ngf,
            n_blocks=cfg.n_blocks,
            norm=cfg.norm,
            pose_channels=cfg.pose_channels,
            style_channels=self.encoder.out_channels,
            geometry=self.geometry,
            adanorm=cfg.adanorm,
            dropout=cfg.dropout,
            max_channels=cfg.max_channels,
        )

    def forward(self, src_img: torch.Tensor, src_pose: torch.Tensor, tgt_pose: torch.Tensor) -> torch.Tensor:
        return self.decoder(self.encoder(src_img, src_pose), tgt_pose)

    def appearance_code(self, src_img: torch.Tensor, src_pose: torch.Tensor) -> torch.Tensor:
        """The bottleneck appearance code S (B, Cb, h, w): re-use it to render one person in many poses."""
        return self.encoder(src_img, src_pose)


@torch.no_grad()
def init_generator_weights(model: nn.Module, std: float = 0.02) -> nn.Module:
    """Reference initialisation (§3.8): conv weights ~ N(0, std), BatchNorm weight ~ N(1, std) and bias 0.

    Conv biases keep PyTorch's default, except the APS block's 3x3 ``conv`` whose reference class starts it at 0.
    """
    for module in model.modules():
        if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d)):
            nn.init.normal_(module.weight, 0.0, std)
        elif isinstance(module, nn.BatchNorm2d):
            nn.init.normal_(module.weight, 1.0, std)
            nn.init.zeros_(module.bias)
        if isinstance(module, APSBlock):
            nn.init.zeros_(module.conv.bias)
    return model

"""ResNet discriminators D_PB (image + target pose) and D_PP (image + source image), reference §4."""

from __future__ import annotations

import torch
from torch import nn

from posestylizer.config import ModelConfig
from posestylizer.nn.blocks import ConvNormAct, ResnetBlock


class ResnetDiscriminator(nn.Module):
    """7x7 stem, two stride-2 convs, three residual blocks; no 1-channel head (reference quirk 7).

    Args:
        in_channels: 21 for D_PB (image + 18 pose maps), 6 for D_PP (image + source image).
        ndf: base width; the output has 4 * ndf channels.
        norm: "batch" or "instance".
        dropout: dropout(0.5) inside the residual blocks (reference).
        sigmoid: end with a sigmoid (BCE GAN loss) instead of raw scores (LSGAN).
    Shapes: (B, in_channels, H, W) -> (B, 4 * ndf, ceil(H / 4), ceil(W / 4)).
    """

    def __init__(
        self, *, in_channels: int, ndf: int = 64, norm: str = "batch", dropout: bool = True, sigmoid: bool = False
    ) -> None:
        super().__init__()
        bias = norm == "instance"
        self.stem = ConvNormAct(
            in_channels=in_channels, out_channels=ndf, kernel_size=7, reflect_pad=3, norm=norm, act="relu", bias=bias
        )
        self.down = nn.Sequential(
            *(
                ConvNormAct(
                    in_channels=ndf * 2**i,
                    out_channels=ndf * 2 ** (i + 1),
                    kernel_size=3,
                    stride=2,
                    padding=1,
                    norm=norm,
                    act="relu",
                    bias=bias,
                )
                for i in range(2)
            )
        )
        self.blocks = nn.Sequential(
            *(ResnetBlock(channels=4 * ndf, norm=norm, dropout=0.5 if dropout else 0.0) for _ in range(3))
        )
        self.out = nn.Sigmoid() if sigmoid else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.out(self.blocks(self.down(self.stem(x))))

    def forward_features(self, x: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """``forward(x)`` and the activations it passed through: the stem's, each stride-2 conv's and each residual
        block's output (6 maps; for discriminator feature matching)."""
        feats = [self.stem(x)]
        for layer in (*self.down, *self.blocks):
            feats.append(layer(feats[-1]))
        return self.out(feats[-1]), feats


def build_discriminators(cfg: ModelConfig, gan_mode: str) -> tuple[ResnetDiscriminator, ResnetDiscriminator]:
    """(D_PB, D_PP) for a model config; ``gan_mode`` "bce" adds the sigmoid, "lsgan" does not."""
    if gan_mode not in ("bce", "lsgan"):
        raise ValueError(f"unknown gan_mode '{gan_mode}'")
    common = {"ndf": cfg.ndf, "norm": cfg.norm, "dropout": cfg.d_dropout, "sigmoid": gan_mode == "bce"}
    d_pb = ResnetDiscriminator(in_channels=3 + cfg.pose_channels, **common)
    d_pp = ResnetDiscriminator(in_channels=6, **common)
    return d_pb, d_pp

"""Decoders of the ablation study (paper Table 2) beside the APS decoder of :mod:`.generator`.

Neither takes a target pose: with these decoders the pose reaches the image only through the code, so the generator
gives the encoder the target pose maps too.
"""

from __future__ import annotations

import torch
from torch import nn

from posestylizer.nn.blocks import ConvNormAct, FullImageBlock


class DeconvDecoder(nn.Module):
    """Plain transposed-conv decoder ("Deconv dec" of Table 2): no pose input, no adaptive normalisation.

    ``n`` stride-2 4x4 transposed convs, each with norm, LeakyReLU 0.2 and dropout (the synthesized stream's block,
    :class:`FullImageBlock`), from the code to full size with the APS decoder's channel plan, then a reflection-padded
    7x7 conv and tanh.

    Args:
        channels: the channel plan nf(0..n) (:func:`.geometry.decoder_channels`); nf(0) is the code's channels.
        paddings: (ph, pw) of each transposed conv (:attr:`.geometry.GeneratorGeometry.fg_paddings`), so the output
            lands exactly on the image size for odd widths too.
        norm: "batch" or "instance".
        dropout: dropout probability after every block (0 = none), as after every APS block.
    Shapes: code (B, nf(0), h, w) -> (B, 3, H, W) in [-1, 1].
    """

    def __init__(
        self, *, channels: list[int], paddings: tuple[tuple[int, int], ...], norm: str, dropout: float = 0.0
    ) -> None:
        super().__init__()
        self.blocks = nn.ModuleList(
            FullImageBlock(in_channels=cin, out_channels=cout, norm=norm, upsample=True, up_padding=pad)
            for cin, cout, pad in zip(channels[:-1], channels[1:], paddings)
        )
        self.dropout = nn.Dropout(dropout) if dropout > 0 else nn.Identity()
        self.to_rgb = ConvNormAct(in_channels=channels[-1], out_channels=3, kernel_size=7, reflect_pad=3)

    def forward(self, code: torch.Tensor) -> torch.Tensor:
        x = code
        for block in self.blocks:
            x = self.dropout(block(x))
        return torch.tanh(self.to_rgb(x))


class ConstantContentDecoder(nn.Module):
    """StyleGAN-style generator ("StyleGAN" of Table 2): a learned constant replaces the target pose as content.

    The wrapped APS decoder receives, instead of the target pose maps, one learned tensor shared by all samples, at
    the bottleneck size and resized to every block as the pose maps are. Pose and appearance then both have to come
    through the style code (Karras et al. 2019; Yildirim et al. 2019). The constant starts at ones, as StyleGAN's.

    Args:
        stylizer: an APS decoder, called as ``stylizer(style, content)`` with content (B, channels, h, w).
        channels: channels of the content (the pose channels the stylizer expects, 18).
        size: (h, w) of the constant, the bottleneck size.
    Shapes: style (B, Cb, h, w) -> (B, 3, H, W) in [-1, 1].
    """

    def __init__(self, *, stylizer: nn.Module, channels: int, size: tuple[int, int]) -> None:
        super().__init__()
        self.stylizer = stylizer
        self.content = nn.Parameter(torch.ones(1, channels, *size))

    def forward(self, style: torch.Tensor) -> torch.Tensor:
        content = self.content.expand(style.shape[0], -1, -1, -1)
        return self.stylizer(style, content)

"""Encoders of the ablation study (paper Table 2) beside the APS appearance encoder of :mod:`.generator`.

Every encoder maps ``(src_img, pose)`` to a code (B, Cb, h, w) at the bottleneck that the decoders read:
``pose`` is what the generator gives it, the source pose maps (B, 18, H, W) or, when the decoder does not see the
target pose, the source and target maps stacked (B, 36, H, W). Widths and sizes follow the APS encoder
(:func:`.geometry.encoder_channels`, stride-2 3x3 convs), so any encoder fits any decoder.
"""

from __future__ import annotations

from itertools import pairwise

import torch
from torch import nn

from posestylizer.models.geometry import encoder_channels
from posestylizer.nn.blocks import ConvNormAct, PoseTransferBlock

# PATN (Zhu et al. 2019) runs 9 transfer blocks at 1/4 resolution and 256 channels. Ours sit at the APS bottleneck
# (1/2^n resolution, up to 512 channels), where one block holds ~12 M parameters at ngf 64 (more than the APS
# foreground decoder): two blocks keep the transfer progressive (the second mask sees the first's image code) while
# the encoder stays ~1.7x the APS encoder's size, at every preset and block count.
PATN_TRANSFER_BLOCKS = 2


def _stem(in_channels: int, ngf: int, norm: str) -> ConvNormAct:
    """The APS encoder's input layer (reference §3.1): reflection pad 3, 7x7 conv, norm, ReLU."""
    return ConvNormAct(in_channels=in_channels, out_channels=ngf, kernel_size=7, reflect_pad=3, norm=norm,
                       act="relu", bias=norm == "instance")  # fmt: skip


def _down(in_channels: int, out_channels: int, norm: str) -> ConvNormAct:
    """Stride-2 3x3 conv -> norm -> ReLU: (B, Cin, H, W) -> (B, Cout, ceil(H/2), ceil(W/2))."""
    return ConvNormAct(in_channels=in_channels, out_channels=out_channels, kernel_size=3, stride=2, padding=1,
                       norm=norm, act="relu", bias=norm == "instance")  # fmt: skip


def _same(channels: int, norm: str) -> ConvNormAct:
    """Reflection-padded 3x3 conv -> norm -> ReLU at constant size and width."""
    return ConvNormAct(in_channels=channels, out_channels=channels, kernel_size=3, reflect_pad=1, norm=norm,
                       act="relu", bias=norm == "instance")  # fmt: skip


class ConvEncoder(nn.Module):
    """Plain conv encoder ("Conv enc" of Table 2): one stream over ``cat[src_img, pose]``.

    A 7x7 stem, then per level a stride-2 3x3 conv and a 3x3 conv (each with norm and ReLU): the APS image stream
    without the pose stream, its gates and its residual connections.

    Args:
        ngf, n_blocks, max_channels: channel plan (as the APS encoder).
        norm: "batch" or "instance".
        pose_channels: channels of the pose maps it is given (18, or 36 for both poses).
    Shapes: src_img (B, 3, H, W) in [-1, 1], pose (B, pose_channels, H, W) in [0, 1] -> (B, Cb, H/2^n, W/2^n).
    """

    def __init__(self, *, ngf: int, n_blocks: int, norm: str, pose_channels: int, max_channels: int = 512) -> None:
        super().__init__()
        widths = encoder_channels(ngf, n_blocks, max_channels)
        layers = [_stem(3 + pose_channels, ngf, norm)]
        for cin, cout in pairwise(widths):
            layers += [_down(cin, cout, norm), _same(cout, norm)]
        self.layers = nn.Sequential(*layers)
        self.out_channels = widths[-1]

    def forward(self, src_img: torch.Tensor, pose: torch.Tensor) -> torch.Tensor:
        return self.layers(torch.cat([src_img, pose], dim=1))


class PATNEncoder(nn.Module):
    """Encoder of PATN ("PATN enc" of Table 2; Zhu et al. 2019), written from the paper's description.

    An image stream (source image) and a pose stream (source and target pose maps) are each downsampled by n
    stride-2 convs to the bottleneck; :data:`PATN_TRANSFER_BLOCKS` pose-attentional transfer blocks then move the
    image code towards the target pose under masks from the pose stream. The final pose code is not used.

    Args:
        ngf, n_blocks, max_channels: channel plan (as the APS encoder).
        norm: "batch" or "instance".
        pose_channels: channels of the pose stream's input (36: source and target maps).
    Shapes: src_img (B, 3, H, W) in [-1, 1], pose (B, pose_channels, H, W) in [0, 1] -> (B, Cb, H/2^n, W/2^n).
    """

    def __init__(self, *, ngf: int, n_blocks: int, norm: str, pose_channels: int, max_channels: int = 512) -> None:
        super().__init__()
        widths = encoder_channels(ngf, n_blocks, max_channels)
        levels = list(pairwise(widths))
        self.image_stream = nn.Sequential(_stem(3, ngf, norm), *(_down(a, b, norm) for a, b in levels))
        self.pose_stream = nn.Sequential(_stem(pose_channels, ngf, norm), *(_down(a, b, norm) for a, b in levels))
        c = widths[-1]
        self.transfer = nn.ModuleList(
            PoseTransferBlock(channels=c, pose_channels=c if k == 0 else 2 * c, norm=norm)
            for k in range(PATN_TRANSFER_BLOCKS)
        )
        self.out_channels = c

    def forward(self, src_img: torch.Tensor, pose: torch.Tensor) -> torch.Tensor:
        image, pose = self.image_stream(src_img), self.pose_stream(pose)
        for block in self.transfer:
            image, pose = block(image, pose)
        return image

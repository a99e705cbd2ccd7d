"""Building blocks of the APS generator and the discriminators; constructed from plain integers only."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from posestylizer.nn.norms import ADAPTIVE_NORMS, norm_layer


def resize(x: torch.Tensor, size: tuple[int, int] | torch.Size) -> torch.Tensor:
    """Bilinear resize with ``align_corners=False`` and no antialiasing, as the reference resamples pose maps."""
    return F.interpolate(x, size=tuple(size), mode="bilinear", align_corners=False)


class ConvNormAct(nn.Module):
    """[reflection pad] -> conv -> [norm] -> [activation].

    Args:
        in_channels, out_channels: channels.
        kernel_size, stride: conv geometry.
        padding: zero padding of the conv (used when ``reflect_pad`` is 0).
        reflect_pad: reflection padding applied before an unpadded conv.
        norm: "batch", "instance" or "none".
        act: "relu", "lrelu" (slope 0.2) or "none".
        bias: conv bias.
    """

    def __init__(
        self,
        *,
        in_channels: int,
        out_channels: int,
        kernel_size: int,
        stride: int = 1,
        padding: int = 0,
        reflect_pad: int = 0,
        norm: str = "none",
        act: str = "none",
        bias: bool = True,
    ) -> None:
        super().__init__()
        self.pad = nn.ReflectionPad2d(reflect_pad) if reflect_pad else nn.Identity()
        self.conv = nn.Conv2d(in_channels, out_channels, kernel_size, stride, padding, bias=bias)
        self.norm = norm_layer(norm, out_channels) if norm != "none" else nn.Identity()
        self.act = _activation(act)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(self.norm(self.conv(self.pad(x))))


def _activation(kind: str) -> nn.Module:
    if kind == "relu":
        return nn.ReLU()
    if kind == "lrelu":
        return nn.LeakyReLU(0.2)
    if kind == "none":
        return nn.Identity()
    raise ValueError(f"unknown activation '{kind}'")


class EncoderBlock(nn.Module):
    """Pose-attention encoder block (paper Eq. 1-2, reference §3.2).

    Both streams halve the resolution with a strided conv; the pose stream's second conv (no norm, no activation)
    gates the image stream: ``image' = image_conv(a) * sigmoid(pose_conv(p)) + a``. Without attention (the "w/o
    attention" ablation) there is no pose stream: ``image' = image_conv(a) + a``.

    Args:
        in_channels, out_channels: channels of both streams.
        norm: "batch" or "instance"; convs carry a bias only with instance norm (reference ``use_bias``).
        attention: False drops the pose stream and its gate.
    Shapes: (B, Cin, H, W) x2 -> (B, Cout, ceil(H/2), ceil(W/2)) x2; the returned pose is pre-sigmoid (None without
    attention).
    """

    def __init__(self, *, in_channels: int, out_channels: int, norm: str, attention: bool = True) -> None:
        super().__init__()
        bias = norm == "instance"
        down = {"in_channels": in_channels, "out_channels": out_channels, "kernel_size": 3, "stride": 2,
                "padding": 1}  # fmt: skip
        same = {"in_channels": out_channels, "out_channels": out_channels, "kernel_size": 3, "reflect_pad": 1,
                "bias": bias}  # fmt: skip
        self.image_down = ConvNormAct(**down, norm=norm, act="relu", bias=bias)
        self.image_conv = ConvNormAct(**same, norm=norm, act="relu")
        if attention:
            self.pose_down = ConvNormAct(**down, norm=norm, act="relu", bias=bias)
            self.pose_conv = ConvNormAct(**same)
        self.gated = attention

    def forward(
        self, image: torch.Tensor, pose: torch.Tensor | None
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        image = self.image_down(image)
        if not self.gated:
            return self.image_conv(image) + image, None
        pose = self.pose_conv(self.pose_down(pose))
        return self.image_conv(image) * torch.sigmoid(pose) + image, pose


class PoseTransferBlock(nn.Module):
    """Pose-attentional transfer block of PATN (Zhu et al. 2019), for the "PATN enc" ablation (paper Table 2).

    The pose path turns the pose code into a mask that gates a residual update of the image code; the next pose code
    is the pose path's output stacked with the updated image code, so later masks see the appearance too::

        q = pose_path(pose); image' = image + image_path(image) * sigmoid(q); pose' = cat[q, image']

    Each path is conv3x3 -> norm -> ReLU -> conv3x3 -> norm (reflection padding), as in PATN.

    Args:
        channels: C of the image code (and of the pose path's output).
        pose_channels: channels of the incoming pose code (C for the first block, 2C after that).
        norm: "batch" or "instance"; convs carry a bias only with instance norm.
    Shapes: image (B, C, h, w), pose (B, pose_channels, h, w) -> image' (B, C, h, w), pose' (B, 2C, h, w).
    """

    def __init__(self, *, channels: int, pose_channels: int, norm: str) -> None:
        super().__init__()
        conv = {"out_channels": channels, "kernel_size": 3, "reflect_pad": 1, "norm": norm, "bias": norm == "instance"}
        self.image_path = nn.Sequential(
            ConvNormAct(in_channels=channels, **conv, act="relu"), ConvNormAct(in_channels=channels, **conv)
        )
        self.pose_path = nn.Sequential(
            ConvNormAct(in_channels=pose_channels, **conv, act="relu"), ConvNormAct(in_channels=channels, **conv)
        )

    def forward(self, image: torch.Tensor, pose: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        q = self.pose_path(pose)
        image = image + self.image_path(image) * torch.sigmoid(q)
        return image, torch.cat([q, image], dim=1)


class APSBlock(nn.Module):
    """Foreground-stream generator block of the Appearance-aware Pose Stylizer (paper Eq. 3-5, reference §3.3).

    ``u = deconv([features, pose])``; ``y = AdaNorm(conv(AdaNorm(u, S)), S)`` (LeakyReLU 0.2 before each norm);
    ``out = y * sigmoid(conv([y, pose resized to y])) + u``, then dropout; without attention ``out = y + u``.

    Args:
        in_channels: feature channels entering the block (0 for the first block, whose only input is the pose).
        out_channels: C.
        pose_channels: heatmap channels (18).
        style_channels: channels of the appearance code S.
        factor: output size / code size, 2 ** (index + 1).
        up_padding: (ph, pw) of the stride-2 4x4 transposed conv; 1 doubles the size, 2 gives 2n - 2 (odd widths).
        adanorm: "adapn", "adain" or "adapn_patch" (see :mod:`posestylizer.nn.norms`).
        dropout: dropout probability on the output (0 = none).
        attention: False drops the attention conv and its gate (the "w/o attention" ablation).
    Shapes: features (B, in, h, w) or None, pose (B, 18, h, w), style (B, Cb, hb, wb) -> (B, C, ~2h, ~2w).
    """

    def __init__(
        self,
        *,
        in_channels: int,
        out_channels: int,
        pose_channels: int,
        style_channels: int,
        factor: int,
        up_padding: tuple[int, int] = (1, 1),
        adanorm: str = "adapn",
        dropout: float = 0.0,
        attention: bool = True,
    ) -> None:
        super().__init__()
        norm_cls = ADAPTIVE_NORMS[adanorm]
        c = out_channels
        self.up = nn.ConvTranspose2d(in_channels + pose_channels, c, 4, 2, padding=up_padding)
        self.norm1 = norm_cls(style_channels=style_channels, channels=c, factor=factor)
        self.conv = nn.Conv2d(c, c, 3, padding=1)
        self.norm2 = norm_cls(style_channels=style_channels, channels=c, factor=factor)
        self.attention = nn.Conv2d(c + pose_channels, c, 3, padding=1) if attention else None
        self.act = nn.LeakyReLU(0.2)
        self.dropout = nn.Dropout(dropout) if dropout > 0 else nn.Identity()

    def forward(self, features: torch.Tensor | None, pose: torch.Tensor, style: torch.Tensor) -> torch.Tensor:
        x = pose if features is None else torch.cat([features, pose], dim=1)
        u = self.up(x)
        y = self.norm1(self.act(u), style)
        y = self.norm2(self.act(self.conv(y)), style)
        if self.attention is None:
            return self.dropout(y + u)
        # Second bilinear resampling of an already-resized pose map (reference quirk 1): kept for checkpoint parity.
        att = torch.sigmoid(self.attention(torch.cat([y, resize(pose, y.shape[-2:])], dim=1)))
        return self.dropout(y * att + u)


class FullImageBlock(nn.Module):
    """Synthesized-stream block (paper Eq. 6, reference ``UpNaive``): deconv x2 (or a 7x7 conv for the last) -> norm
    -> LeakyReLU.

    Args:
        in_channels, out_channels: channels.
        norm: "batch" or "instance".
        upsample: stride-2 4x4 transposed conv when True, reflection-padded 7x7 conv when False.
        up_padding: (ph, pw) of the transposed conv.
    """

    def __init__(
        self, *, in_channels: int, out_channels: int, norm: str, upsample: bool, up_padding: tuple[int, int] = (1, 1)
    ) -> None:
        super().__init__()
        if upsample:
            self.pad = nn.Identity()
            self.conv = nn.ConvTranspose2d(in_channels, out_channels, 4, 2, padding=up_padding)
        else:
            self.pad = nn.ReflectionPad2d(3)
            self.conv = nn.Conv2d(in_channels, out_channels, 7)
        self.norm = norm_layer(norm, out_channels)
        self.act = nn.LeakyReLU(0.2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(self.norm(self.conv(self.pad(x))))


class ResnetBlock(nn.Module):
    """Residual block of the discriminators: x + norm(conv(dropout(relu(norm(conv(x)))))), reflection padding.

    Args:
        channels: C. norm: "batch" or "instance". dropout: p of the inner dropout (reference 0.5).
    """

    def __init__(self, *, channels: int, norm: str, dropout: float) -> None:
        super().__init__()
        bias = norm == "instance"
        conv = {"in_channels": channels, "out_channels": channels, "kernel_size": 3, "reflect_pad": 1, "norm": norm,
                "bias": bias}  # fmt: skip
        self.block1 = ConvNormAct(**conv, act="relu")
        self.dropout = nn.Dropout(dropout) if dropout > 0 else nn.Identity()
        self.block2 = ConvNormAct(**conv)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.block2(self.dropout(self.block1(x)))

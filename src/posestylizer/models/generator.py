"""The APS generator: an attention-based appearance encoder and the Appearance-aware Pose Stylizer decoder.

``Generator(cfg)(src_img, src_pose, tgt_pose) -> fake_img``; images (B, 3, H, W) in [-1, 1], poses (B, 18, H, W)
heatmaps in [0, 1]. Layer by layer this is the reference network of §3 (checked against its outputs to 1e-5).
The ablation variants of paper Table 2 (``model.encoder``, ``model.decoder``, ``model.attention``,
``model.decode_foreground``, ``model.adanorm``) are built from the same parts and those of :mod:`.encoders` and
:mod:`.decoders`; the defaults build the paper's model, with the reference's state-dict layout.
"""

from __future__ import annotations

import torch
from torch import nn

from posestylizer.config import ModelConfig
from posestylizer.errors import ConfigError
from posestylizer.models.decoders import ConstantContentDecoder, DeconvDecoder
from posestylizer.models.encoders import ConvEncoder, PATNEncoder
from posestylizer.models.geometry import GeneratorGeometry, decoder_channels, encoder_channels, plan_geometry
from posestylizer.nn.blocks import APSBlock, ConvNormAct, EncoderBlock, FullImageBlock, resize
from posestylizer.nn.norms import ADAPTIVE_NORMS

__all__ = ["APSDecoder", "AppearanceEncoder", "Generator", "decoder_channels", "init_generator_weights"]

ENCODERS = ("aps", "conv", "patn")
DECODERS = ("aps", "deconv", "stylegan")


class AppearanceEncoder(nn.Module):
    """Two-stream encoder (paper §3.1): the source pose gates the source image at every block.

    Returns the appearance code S (B, Cb, h, w) at the bottleneck; the final pose-stream tensor is not used
    downstream (reference quirk 6). Without ``attention`` ("APS w/o attention") there is no pose stream: the pose
    maps enter once, stacked onto the image at the stem, and the blocks are plain residual conv blocks.

    Args:
        ngf, n_blocks, max_channels: channel plan (:func:`.geometry.encoder_channels`).
        norm: "batch" or "instance".
        pose_channels: channels of the pose maps it is given (18; 36 with the target pose for "stylegan").
        attention: False removes the pose stream and its gates.
    Shapes: src_img (B, 3, H, W) in [-1, 1], src_pose (B, pose_channels, H, W) in [0, 1] -> (B, Cb, H/2^n, W/2^n).
    """

    def __init__(
        self, *, ngf: int, n_blocks: int, norm: str, pose_channels: int, max_channels: int = 512, attention: bool = True
    ) -> None:
        super().__init__()
        bias = norm == "instance"
        stem = {"out_channels": ngf, "kernel_size": 7, "reflect_pad": 3, "norm": norm, "act": "relu",
                "bias": bias}  # fmt: skip
        self.image_stem = ConvNormAct(in_channels=3 if attention else 3 + pose_channels, **stem)
        self.pose_stem = ConvNormAct(in_channels=pose_channels, **stem) if attention else None
        widths = encoder_channels(ngf, n_blocks, max_channels)
        self.blocks = nn.ModuleList(
            EncoderBlock(in_channels=widths[i], out_channels=widths[i + 1], norm=norm, attention=attention)
            for i in range(n_blocks)
        )
        self.out_channels = widths[-1]

    def forward(self, src_img: torch.Tensor, src_pose: torch.Tensor) -> torch.Tensor:
        if self.pose_stem is None:
            image, pose = self.image_stem(torch.cat([src_img, src_pose], dim=1)), None
        else:
            image, pose = self.image_stem(src_img), self.pose_stem(src_pose)
        for block in self.blocks:
            image, pose = block(image, pose)
        return image


class APSDecoder(nn.Module):
    """Foreground stream (APS blocks) and synthesized stream (full-image blocks), then a 7x7 conv to RGB.

    Step i: ``fg = APS_i(fg, resize(tgt_pose, fg size), S)``; ``full = Full_i(fg if i == 0 else [full, fg])``.
    The full stream runs one resolution ahead until its last block (a 7x7 conv); the output is
    ``tanh(conv([full, fg]))`` (paper §3.2), or ``tanh(conv(full))`` without ``decode_foreground`` ("APS w/o decoding
    I_f^L": the last foreground block still feeds the last synthesized block, only the output layer drops it).

    Args:
        ngf, n_blocks, max_channels: channel plan (:func:`.geometry.decoder_channels`).
        norm: "batch" or "instance" (synthesized stream).
        pose_channels, style_channels: channels of the pose maps and of the code S.
        geometry: the size plan (transposed-conv paddings).
        adanorm: "adapn", "adain" or "adapn_patch". dropout: after every APS block (0 = none).
        attention: False drops the APS blocks' attention gates. decode_foreground: see above.
    Shapes: style (B, Cb, h, w), tgt_pose (B, pose_channels, H, W) in [0, 1] -> (B, 3, H, W) in [-1, 1].
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
        attention: bool = True,
        decode_foreground: bool = True,
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
                attention=attention,
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
        self.decode_foreground = decode_foreground
        rgb_in = 2 * nf[-1] if decode_foreground else nf[-1]
        self.to_rgb = ConvNormAct(in_channels=rgb_in, out_channels=3, kernel_size=7, reflect_pad=3)

    def forward(self, style: torch.Tensor, tgt_pose: torch.Tensor) -> torch.Tensor:
        fg = full = None
        for fg_block, full_block in zip(self.fg_blocks, self.full_blocks):
            size = style.shape[-2:] if fg is None else fg.shape[-2:]
            fg = fg_block(fg, resize(tgt_pose, size), style)
            full = full_block(fg if full is None else torch.cat([full, fg], dim=1))
        return torch.tanh(self.to_rgb(torch.cat([full, fg], dim=1) if self.decode_foreground else full))


def check_variant(cfg: ModelConfig) -> None:
    """Refuse unknown switch values and the one combination that cannot work; ConfigError naming the field."""
    for name, value, known in (("encoder", cfg.encoder, ENCODERS), ("decoder", cfg.decoder, DECODERS),
                               ("adanorm", cfg.adanorm, tuple(ADAPTIVE_NORMS))):  # fmt: skip
        if value not in known:
            raise ConfigError(f"model.{name}={value!r}: choose one of {', '.join(known)}")
    if cfg.encoder == "patn" and not cfg.attention:
        raise ConfigError(
            "model.attention=false: the PATN encoder's transfer blocks are its attention (without their masks the "
            "pose never reaches the code); use model.encoder=conv or aps"
        )


def _build_encoder(cfg: ModelConfig, pose_channels: int) -> nn.Module:
    common = {"ngf": cfg.ngf, "n_blocks": cfg.n_blocks, "norm": cfg.norm, "pose_channels": pose_channels,
              "max_channels": cfg.max_channels}  # fmt: skip
    if cfg.encoder == "conv":
        return ConvEncoder(**common)
    if cfg.encoder == "patn":
        return PATNEncoder(**common)
    return AppearanceEncoder(**common, attention=cfg.attention)


def _build_decoder(cfg: ModelConfig, geometry: GeneratorGeometry, style_channels: int) -> nn.Module:
    if cfg.decoder == "deconv":  # no pose, no adaptive norm: attention, adanorm and decode_foreground do not apply
        channels = decoder_channels(cfg.ngf, cfg.n_blocks, cfg.max_channels)
        return DeconvDecoder(channels=channels, paddings=geometry.fg_paddings, norm=cfg.norm, dropout=cfg.dropout)
    stylizer = APSDecoder(
        ngf=cfg.ngf,
        n_blocks=cfg.n_blocks,
        norm=cfg.norm,
        pose_channels=cfg.pose_channels,
        style_channels=style_channels,
        geometry=geometry,
        adanorm=cfg.adanorm,
        dropout=cfg.dropout,
        max_channels=cfg.max_channels,
        attention=cfg.attention,
        decode_foreground=cfg.decode_foreground,
    )
    if cfg.decoder == "stylegan":
        return ConstantContentDecoder(stylizer=stylizer, channels=cfg.pose_channels, size=geometry.bottleneck)
    return stylizer


class Generator(nn.Module):
    """APS generator and its ablation variants: ``G(src_img, src_pose, tgt_pose) -> fake_img``.

    ``model.encoder`` ("aps", "conv", "patn") maps the source image and pose maps to a code at the bottleneck;
    ``model.decoder`` ("aps", "deconv", "stylegan") renders it. The APS decoder takes the target pose itself; the
    "deconv" and "stylegan" decoders do not, so their encoder is given ``cat[src_pose, tgt_pose]`` (36 channels) and
    the code carries pose and appearance together; the PATN encoder always gets both poses (its pose stream is built
    on them).

    Args:
        cfg: architecture (image_size, n_blocks, ngf, norm, dropout, adanorm, pose_channels, max_channels and the
            ablation switches encoder, decoder, attention, decode_foreground).
    Shapes: src_img (B, 3, H, W) in [-1, 1]; src_pose, tgt_pose (B, 18, H, W) in [0, 1] -> (B, 3, H, W) in [-1, 1].
    """

    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        check_variant(cfg)
        self.config = cfg
        self.geometry = plan_geometry(tuple(cfg.image_size), cfg.n_blocks)
        self.encoder_sees_target = cfg.encoder == "patn" or cfg.decoder != "aps"
        pose_in = 2 * cfg.pose_channels if self.encoder_sees_target else cfg.pose_channels
        self.encoder = _build_encoder(cfg, pose_in)
        self.decoder = _build_decoder(cfg, self.geometry, self.encoder.out_channels)

    def forward(self, src_img: torch.Tensor, src_pose: torch.Tensor, tgt_pose: torch.Tensor) -> torch.Tensor:
        if not self.encoder_sees_target:
            return self.decoder(self.encoder(src_img, src_pose), tgt_pose)
        code = self.encoder(src_img, torch.cat([src_pose, tgt_pose], dim=1))
        return self.decoder(code, tgt_pose) if self.config.decoder == "aps" else self.decoder(code)

    def appearance_code(self, src_img: torch.Tensor, src_pose: torch.Tensor) -> torch.Tensor:
        """The bottleneck appearance code S (B, Cb, h, w): re-use it to render one person in many poses with
        ``self.decoder(S, tgt_pose)``.

        Only variants whose encoder sees the source pose alone have one (encoder "aps" or "conv" with the APS
        decoder); in the "deconv", "stylegan" and "patn" variants the code depends on the target pose, so this raises
        ConfigError: call the generator with the target pose instead.
        """
        if self.encoder_sees_target:
            field = "encoder" if self.config.decoder == "aps" else "decoder"
            raise ConfigError(
                f"model.{field}={getattr(self.config, field)!r}: this variant's code depends on the target pose, so "
                "there is no pose-free appearance code; call the generator with the target pose"
            )
        return self.encoder(src_img, src_pose)


@torch.no_grad()
def init_generator_weights(model: nn.Module, std: float = 0.02) -> nn.Module:
    """Reference initialisation (§3.8): conv weights ~ N(0, std), BatchNorm weight ~ N(1, std) and bias 0.

    Conv biases keep PyTorch's default, except the APS block's 3x3 ``conv`` whose reference class starts it at 0.
    The ablation variants' modules follow the same rule (every conv, transposed conv and BatchNorm); the
    "stylegan" decoder's learned constant starts at ones, as in StyleGAN.
    """
    for module in model.modules():
        if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d)):
            nn.init.normal_(module.weight, 0.0, std)
        elif isinstance(module, nn.BatchNorm2d):
            nn.init.normal_(module.weight, 1.0, std)
            nn.init.zeros_(module.bias)
        if isinstance(module, APSBlock):
            nn.init.zeros_(module.conv.bias)
        if isinstance(module, ConstantContentDecoder):
            nn.init.ones_(module.content)
    return model

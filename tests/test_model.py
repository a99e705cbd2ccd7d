"""Architecture: shapes for presets and other sizes, parameter counts and state-dict layout vs the reference."""

from __future__ import annotations

import dataclasses
import json

import pytest
import torch

from posestylizer.checkpoints.convert import reference_discriminator_to_native, reference_to_native
from posestylizer.config import ModelConfig, load_config
from posestylizer.errors import ConfigError
from posestylizer.models import Generator, build_discriminators, init_generator_weights, plan_geometry
from posestylizer.nn.norms import AdaIN, AdaPN, instance_normalize


def _inputs(cfg: ModelConfig, batch: int = 2):
    h, w = cfg.image_size
    return torch.rand(batch, 3, h, w) * 2 - 1, torch.rand(batch, 18, h, w), torch.rand(batch, 18, h, w)


def _count(model: torch.nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


@pytest.mark.parametrize(
    ("preset", "g_params", "d_pb", "d_pp"),
    [("market", 38_975_939, 3_977_408, 3_930_368), ("fashion", 66_994_883, 3_975_424, 3_928_384)],
)
def test_paper_parameter_counts(preset, g_params, d_pb, d_pp):
    cfg = load_config(preset).model
    with torch.device("meta"):
        g = Generator(cfg)
        pb, pp = build_discriminators(cfg, load_config(preset).loss.gan_mode)
    assert (_count(g), _count(pb), _count(pp)) == (g_params, d_pb, d_pp)


@pytest.mark.parametrize("table", ["netG_market_ngf64", "netG_market_ngf16", "netG_fashion_ngf64", "netG_fashion_ngf16"])
def test_state_dict_layout_matches_reference_tables(reference_dir, table):
    """Every reference key maps to one of ours with the same shape, and nothing is left over either way."""
    entries = json.loads((reference_dir / "tables" / f"{table}.json").read_text())["keys"]
    ref = {key: torch.empty(shape) for key, shape, _ in entries}
    preset, width = table.split("_")[1], int(table.split("ngf")[1])
    cfg = dataclasses.replace(load_config(preset).model, ngf=width)
    with torch.device("meta"):
        ours = {k: tuple(v.shape) for k, v in Generator(cfg).state_dict().items()}
    mapped = {k: tuple(v.shape) for k, v in reference_to_native(ref).items()}
    assert mapped == ours


@pytest.mark.parametrize("table", ["netD_PB_market", "netD_PP_market", "netD_PB_fashion", "netD_PP_fashion"])
def test_discriminator_layout_matches_reference_tables(reference_dir, table):
    entries = json.loads((reference_dir / "tables" / f"{table}.json").read_text())["keys"]
    ref = {key: torch.empty(shape) for key, shape, _ in entries}
    preset_cfg = load_config(table.split("_")[2])
    d_pb, d_pp = build_discriminators(preset_cfg.model, preset_cfg.loss.gan_mode)
    d = d_pb if "PB" in table else d_pp
    ours = {k: tuple(v.shape) for k, v in d.state_dict().items()}
    assert {k: tuple(v.shape) for k, v in reference_discriminator_to_native(ref).items()} == ours


@pytest.mark.parametrize(
    ("image_size", "n_blocks", "norm"),
    [((128, 64), 4, "batch"), ((256, 176), 5, "instance"), ((192, 96), 3, "batch"), ((64, 32), 2, "instance"),
     ((128, 128), 6, "batch"), ((256, 176), 4, "batch"), ((96, 44), 2, "instance")],
)  # fmt: skip
def test_generator_output_shape_and_range(image_size, n_blocks, norm):
    cfg = ModelConfig(image_size=image_size, n_blocks=n_blocks, ngf=4, norm=norm, dropout=0.5)
    g = init_generator_weights(Generator(cfg))
    out = g(*_inputs(cfg))
    assert out.shape == (2, 3, *image_size)
    assert out.abs().max() <= 1.0
    out.mean().backward()  # the whole graph is differentiable
    assert all(p.grad is not None for p in g.parameters())


def test_discriminator_output_shapes():
    cfg = ModelConfig(image_size=(128, 64), ngf=4, ndf=8)
    d_pb, d_pp = build_discriminators(cfg, "bce")
    img = torch.rand(2, 3, 128, 64)
    out = d_pb(torch.cat([img, torch.rand(2, 18, 128, 64)], 1))
    assert out.shape == (2, 32, 32, 16) and 0 <= out.min() and out.max() <= 1  # sigmoid for BCE
    d_ls, _ = build_discriminators(cfg, "lsgan")
    assert d_ls(torch.cat([img, torch.rand(2, 18, 128, 64)], 1)).shape == (2, 32, 32, 16)
    assert d_pp(torch.cat([img, img], 1)).shape == (2, 32, 32, 16)


def test_geometry_derives_the_deepfashion_padding_rule():
    g = plan_geometry((256, 176), 5)
    assert g.fg_paddings == ((1, 1), (1, 2), (1, 1), (1, 1), (1, 1))  # reference: (1, 2) at block n-4
    assert g.full_paddings == ((1, 2), (1, 1), (1, 1), (1, 1))  # reference: (1, 2) at block n-5
    assert [w for _, w in g.fg_sizes] == [12, 22, 44, 88, 176]
    assert g.bottleneck == (8, 6)


def test_geometry_rejects_unreachable_sizes():
    with pytest.raises(ConfigError, match="image_size"):
        plan_geometry((128, 63), 4)
    with pytest.raises(ConfigError, match="at least 2"):
        plan_geometry((128, 64), 1)


def test_adapn_is_per_cell_and_adain_per_channel():
    torch.manual_seed(1)
    x, style = torch.randn(2, 8, 16, 12), torch.randn(2, 32, 4, 3)
    pn, inorm = AdaPN(style_channels=32, channels=8, factor=4), AdaIN(style_channels=32, channels=8)
    beta, gamma = pn.style_maps(style, (16, 12))
    assert beta.shape == gamma.shape == (2, 8, 16, 12)
    # Nearest expansion: each code cell is constant over its 4x4 patch and cells differ.
    assert torch.equal(gamma[:, :, :4, :4], gamma[:, :, :1, :1].expand(-1, -1, 4, 4))
    assert not torch.allclose(gamma[:, :, :4, :4], gamma[:, :, 4:8, :4])
    # Narrower feature (odd width rule): centre crop of the expanded maps.
    beta_c, _ = pn.style_maps(style, (16, 10))
    assert torch.equal(beta_c, beta[..., 1:11])
    out = pn(x, style)
    assert torch.allclose(out, instance_normalize(x) * (1 + gamma) + beta)
    b2, g2 = inorm.style_maps(style, (16, 12))
    assert g2.shape == b2.shape
    assert b2.shape == (2, 8, 1, 1) and inorm(x, style).shape == x.shape


def test_instance_normalize_uses_eps_1e8():
    x = torch.randn(1, 2, 5, 5)
    y = instance_normalize(x)
    assert torch.allclose(y.mean((2, 3)), torch.zeros(1, 2), atol=1e-6)
    assert torch.allclose(y.pow(2).mean((2, 3)), torch.ones(1, 2), atol=1e-5)
    const = torch.full((1, 1, 3, 3), 7.0)
    assert torch.equal(instance_normalize(const), torch.zeros_like(const))


def test_dropout_only_in_training_and_adain_variant_runs():
    cfg = ModelConfig(image_size=(64, 32), n_blocks=3, ngf=4, dropout=0.5, adanorm="adain")
    g = Generator(cfg).eval()
    inputs = _inputs(cfg)
    assert torch.equal(g(*inputs), g(*inputs))  # eval: deterministic
    g.train()
    torch.manual_seed(0)
    a = g(*inputs)
    torch.manual_seed(1)
    assert not torch.equal(a, g(*inputs))  # dropout active


def test_init_matches_reference_rule():
    torch.manual_seed(0)
    g = init_generator_weights(Generator(ModelConfig(ngf=16)))
    convs = [m.weight for m in g.modules() if isinstance(m, (torch.nn.Conv2d, torch.nn.ConvTranspose2d))]
    std = torch.cat([w.flatten() for w in convs]).std().item()
    assert abs(std - 0.02) < 1e-3
    bn = [m for m in g.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    assert all(torch.equal(m.bias, torch.zeros_like(m.bias)) for m in bn)
    assert all(torch.equal(b.conv.bias, torch.zeros_like(b.conv.bias)) for b in g.decoder.fg_blocks)

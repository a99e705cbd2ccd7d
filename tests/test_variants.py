"""The generator variants of the ablation study (paper Table 2): every configs/ablations/*.yaml builds, runs, trains
one step, and is the architecture its name says."""

from __future__ import annotations

import dataclasses

import pytest
import torch
from torch.utils.data import default_collate
from train_helpers import ToyPairs

from posestylizer.config import ModelConfig, load_config
from posestylizer.errors import ConfigError
from posestylizer.experiments.params import count_parameters, parameter_table
from posestylizer.experiments.variants import load_variant, variant_names
from posestylizer.models import Generator, init_generator_weights
from posestylizer.models.encoders import PATN_TRANSFER_BLOCKS
from posestylizer.nn.blocks import APSBlock, EncoderBlock
from posestylizer.nn.norms import AdaPN, PatchStatsAdaPN

VARIANTS = variant_names()


def _model(variant: str, preset: str = "market", **changes) -> ModelConfig:
    return dataclasses.replace(load_variant(variant).apply(load_config(preset)).model, **changes)


def _inputs(cfg: ModelConfig, batch: int = 2, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    h, w = cfg.image_size
    return (torch.rand(batch, 3, h, w, generator=g) * 2 - 1, torch.rand(batch, 18, h, w, generator=g),
            torch.rand(batch, 18, h, w, generator=g))  # fmt: skip


SIZES = [
    pytest.param("market", (128, 64), 4, id="market-128x64-n4"),
    pytest.param("market", (96, 48), 3, id="96x48-n3"),
    pytest.param("fashion", (256, 176), 5, id="fashion-256x176-n5", marks=pytest.mark.slow),
]


@pytest.mark.parametrize(("preset", "size", "n_blocks"), SIZES)
@pytest.mark.parametrize("variant", VARIANTS)
def test_every_variant_runs_forward_and_backward(variant, preset, size, n_blocks):
    cfg = _model(variant, preset, image_size=size, n_blocks=n_blocks, ngf=8)
    g = init_generator_weights(Generator(cfg)).train()
    out = g(*_inputs(cfg, batch=1))
    assert out.shape == (1, 3, *size)
    assert torch.isfinite(out).all() and out.abs().max() <= 1
    out.square().mean().backward()
    # DDP (no find_unused_parameters) needs every parameter in the graph.
    assert [n for n, p in g.named_parameters() if p.grad is None] == []


def test_parameter_counts_differ_as_the_architectures_do():
    table = {name: params for name, _, params in parameter_table(load_config("market"))}
    full, ngf = 38_975_939, 64  # reference §3.7
    assert table["full"] == table["adain"] == table["adapn_patch"] == full  # same 1x1 style convs, other statistics
    assert table["no_fg_decoding"] == full - 3 * ngf * 7 * 7  # the output conv reads ngf channels instead of 2 ngf
    # The pose stem reads 36 channels instead of 18, plus the (18, 8, 4) constant.
    assert table["stylegan"] == full + 18 * ngf * 7 * 7 + 18 * 8 * 4
    # The conv encoder has the convs of the attention-free APS encoder (stem on image + pose, two convs per level),
    # so conv_aps differs from no_attention exactly by the APS blocks' attention convs (C + 18 -> C, 3x3).
    attention = sum((c + 18) * c * 9 + c for c in (512, 256, 128, 64))
    assert table["conv_aps"] == table["no_attention"] + attention
    assert table["conv_deconv"] < table["conv_aps"] < full
    assert table["no_attention"] < full
    assert table["patn_deconv"] > table["conv_deconv"]


def test_parameter_table_follows_table_2_and_counts_real_networks():
    base = load_config("demo")
    rows = parameter_table(base)
    assert [name for name, _, _ in rows] == VARIANTS
    assert {n: r for n, r, _ in rows}["no_attention"] == "APS w/o attention"
    patn = load_variant("patn_deconv").apply(base)
    real = sum(p.numel() for p in Generator(patn.model).parameters())  # built on the CPU, not on "meta"
    assert {n: c for n, _, c in rows}["patn_deconv"] == real == count_parameters(patn) == count_parameters(patn.model)
    assert [n for n, _, _ in parameter_table(base, [load_variant("adain")])] == ["adain"]


def _hand_patch_norm(x, style, norm: AdaPN, grid, factor):
    """Slow reference: loop over code cells, normalise the pixels of each (centred, cut) patch, apply its style."""
    w, b = norm.style.weight[:, :, 0, 0], norm.style.bias
    h_full, w_full = grid[0] * factor, grid[1] * factor
    top, left = (h_full - x.shape[2]) // 2, (w_full - x.shape[3]) // 2
    out = torch.empty_like(x)
    for n in range(x.shape[0]):
        for i in range(grid[0]):
            for j in range(grid[1]):
                r0, r1 = max(i * factor - top, 0), min((i + 1) * factor - top, x.shape[2])
                c0, c1 = max(j * factor - left, 0), min((j + 1) * factor - left, x.shape[3])
                params = w @ style[n, :, i, j] + b
                beta, gamma = params[: x.shape[1]], params[x.shape[1] :]
                for c in range(x.shape[1]):
                    patch = x[n, c, r0:r1, c0:c1]
                    normed = (patch - patch.mean()) / torch.sqrt(patch.var(unbiased=False) + 1e-8)
                    out[n, c, r0:r1, c0:c1] = normed * (1 + gamma[c]) + beta[c]
    return out


@pytest.mark.parametrize("size", [(8, 12), (8, 10), (6, 9)], ids=["divides", "odd-width-crop", "cut-both-axes"])
def test_patch_stats_adapn_equals_a_hand_loop_over_patches(size):
    torch.manual_seed(3)
    grid, factor = (2, 3), 4
    x, style = torch.randn(2, 3, *size) * 3 + 1, torch.randn(2, 5, *grid)
    norm = PatchStatsAdaPN(style_channels=5, channels=3, factor=factor)
    with torch.no_grad():
        ours, expected = norm(x, style), _hand_patch_norm(x, style, norm, grid, factor)
        assert torch.allclose(ours, expected, atol=1e-5)
        # Same style maps as AdaPN (Fig. 8 draws them), other statistics.
        plain = AdaPN(style_channels=5, channels=3, factor=factor)
        plain.load_state_dict(norm.state_dict())
        assert all(torch.equal(a, b) for a, b in zip(plain.style_maps(style, size), norm.style_maps(style, size)))
        assert not torch.allclose(plain(x, style), ours, atol=1e-3)


def test_no_attention_removes_every_gate_but_keeps_the_source_pose():
    cfg = _model("no_attention", image_size=(64, 32), n_blocks=3, ngf=8)
    g = Generator(cfg).eval()
    names = [n for n, _ in g.named_modules()]
    assert not [n for n in names if "attention" in n or "pose_" in n]
    assert g.encoder.pose_stem is None and g.encoder.image_stem.conv.in_channels == 3 + 18
    assert all(isinstance(b, EncoderBlock) and not b.gated for b in g.encoder.blocks)
    src, sp, _ = _inputs(cfg)
    with torch.no_grad():
        assert not torch.allclose(g.appearance_code(src, sp), g.appearance_code(src, torch.rand_like(sp)))
        # An APS block is now y + u: recompute it by hand.
        block: APSBlock = g.decoder.fg_blocks[1]
        feats, pose, style = torch.randn(2, 32, 16, 8), torch.rand(2, 18, 16, 8), g.appearance_code(src, sp)
        u = block.up(torch.cat([feats, pose], 1))
        y = block.norm2(block.act(block.conv(block.norm1(block.act(u), style))), style)
        assert torch.allclose(block(feats, pose, style), y + u, atol=1e-6)


@pytest.mark.parametrize(("variant", "rgb_in"), [("no_fg_decoding", 8), ("full", 16)])
def test_output_layer_reads_the_foreground_stream_only_when_asked(variant, rgb_in):
    cfg = _model(variant, image_size=(64, 32), n_blocks=3, ngf=8)
    g = Generator(cfg).eval()
    seen = {}
    g.decoder.full_blocks[-1].register_forward_hook(lambda m, a, out: seen.__setitem__("full", out))
    g.decoder.fg_blocks[-1].register_forward_hook(lambda m, a, out: seen.__setitem__("fg", out))
    g.decoder.to_rgb.register_forward_pre_hook(lambda m, a: seen.__setitem__("rgb_in", a[0]))
    with torch.no_grad():
        g(*_inputs(cfg))
    assert g.decoder.to_rgb.conv.in_channels == rgb_in
    expected = seen["full"] if rgb_in == 8 else torch.cat([seen["full"], seen["fg"]], 1)
    assert torch.equal(seen["rgb_in"], expected)


def test_stylegan_decoder_sees_a_learned_constant_and_the_code_carries_the_target_pose():
    cfg = _model("stylegan", image_size=(64, 32), n_blocks=3, ngf=8)
    g = init_generator_weights(Generator(cfg)).eval()
    assert g.decoder.content.shape == (1, 18, 8, 4) and torch.equal(g.decoder.content, torch.ones(1, 18, 8, 4))
    assert g.encoder.pose_stem.conv.in_channels == 36
    contents = []
    g.decoder.stylizer.register_forward_pre_hook(lambda m, a: contents.append(a[1]))
    src, sp, tp = _inputs(cfg)
    with torch.no_grad():
        a, b = g(src, sp, tp), g(src, sp, torch.rand_like(tp))
    assert not torch.allclose(a, b)  # the target pose reaches the image through the style code
    assert all(torch.equal(c, g.decoder.content.expand(2, -1, -1, -1)) for c in contents)


@pytest.mark.parametrize("variant", VARIANTS)
def test_both_poses_reach_the_output(variant):
    cfg = _model(variant, image_size=(32, 16), n_blocks=2, ngf=8)
    g = Generator(cfg).eval()
    src, sp, tp = _inputs(cfg)
    with torch.no_grad():
        out = g(src, sp, tp)
        assert not torch.allclose(out, g(src, sp, torch.rand_like(tp)), atol=1e-6)
        assert not torch.allclose(out, g(src, torch.rand_like(sp), tp), atol=1e-6)


def test_patn_encoder_has_the_transfer_blocks_on_both_poses():
    g = Generator(_model("patn_deconv", image_size=(64, 32), n_blocks=3, ngf=8))
    assert len(g.encoder.transfer) == PATN_TRANSFER_BLOCKS
    assert g.encoder.pose_stream[0].conv.in_channels == 36
    firsts = [b.pose_path[0].conv.in_channels for b in g.encoder.transfer]
    assert firsts == [64] + [128] * (PATN_TRANSFER_BLOCKS - 1)  # later blocks read cat[pose path, image code]


@pytest.mark.parametrize("variant", VARIANTS)
def test_appearance_code_only_where_it_is_free_of_the_target_pose(variant):
    cfg = _model(variant, image_size=(32, 16), n_blocks=2, ngf=4)
    g = Generator(cfg).eval()
    src, sp, tp = _inputs(cfg)
    if cfg.decoder != "aps" or cfg.encoder == "patn":
        field = "decoder" if cfg.decoder != "aps" else "encoder"
        with pytest.raises(ConfigError, match=f"model.{field}='{getattr(cfg, field)}'"):
            g.appearance_code(src, sp)
        return
    with torch.no_grad():
        assert torch.allclose(g.decoder(g.appearance_code(src, sp), tp), g(src, sp, tp))


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        (["model.encoder=resnet"], "model.encoder"),
        (["model.decoder=unet"], "model.decoder"),
        (["model.adanorm=adapn2"], "model.adanorm"),
    ],
)
def test_unknown_switches_are_one_line_config_errors_at_load(overrides, field):
    with pytest.raises(ConfigError, match=field) as err:
        load_config("demo", overrides=overrides)
    assert "\n" not in str(err.value)


def test_impossible_switch_combination_is_a_one_line_config_error():
    cfg = load_config("demo", overrides=["model.encoder=patn", "model.attention=false"])
    with pytest.raises(ConfigError, match="model.attention") as err:
        Generator(cfg.model)
    assert "\n" not in str(err.value)


@pytest.mark.parametrize("variant", VARIANTS)
def test_init_covers_the_variant_modules(variant):
    g = init_generator_weights(Generator(_model(variant, image_size=(64, 32), n_blocks=3, ngf=16)))
    for name, m in g.named_modules():
        if isinstance(m, (torch.nn.Conv2d, torch.nn.ConvTranspose2d)) and m.weight.numel() >= 2000:
            assert abs(m.weight.std().item() - 0.02) < 0.002, name
        if isinstance(m, torch.nn.BatchNorm2d):
            assert torch.equal(m.bias, torch.zeros_like(m.bias)), name


@pytest.mark.parametrize("variant", VARIANTS)
def test_one_training_step_at_the_demo_recipe(variant):
    from posestylizer.training.loop import Trainer

    base = load_config("demo", overrides=["train.batch_size=2", "loss.pool_size=2", "train.epoch_length=2"])
    cfg = load_variant(variant).apply(base)
    data = ToyPairs(n=4, size=tuple(cfg.model.image_size), masks=True)  # the demo recipe's masked L1 needs them
    trainer = Trainer(cfg, data)
    before = [p.detach().clone() for p in trainer.G.parameters()]
    stats = trainer.train_step(default_collate([data[i] for i in range(2)]))
    assert all(torch.isfinite(torch.as_tensor(v)).all() for v in stats.values())
    moved = [not torch.equal(a, p) for a, p in zip(before, trainer.G.parameters())]
    assert sum(moved) == len(moved)  # Adam moves every parameter that got a gradient: all of them

"""Objective of reference §5: GAN modes, lambdas, D loss scaling, VGG relu1_2 loading and its one-line errors."""

from __future__ import annotations

import math
import urllib.error

import pytest
import torch
import torchvision
from torch import nn

from posestylizer.config import LossConfig, load_config
from posestylizer.errors import WeightsError
from posestylizer.training.losses import APSObjective, VGGRelu12, gan_loss, load_perceptual, load_vgg_relu12


def test_gan_loss_bce_and_lsgan_values():
    half = torch.full((2, 4, 3, 3), 0.5)
    assert gan_loss(half, True, "bce").item() == pytest.approx(math.log(2))
    assert gan_loss(half, False, "bce").item() == pytest.approx(math.log(2))
    # BCELoss clamps the log at -100, so a saturated sigmoid gives 100, not inf
    assert gan_loss(torch.zeros(1, 2, 2, 2), True, "bce").item() == pytest.approx(100.0)
    scores = torch.tensor([[0.0, 2.0], [1.0, -1.0]])
    assert gan_loss(scores, True, "lsgan").item() == pytest.approx((1 + 1 + 0 + 4) / 4)
    assert gan_loss(scores, False, "lsgan").item() == pytest.approx((0 + 4 + 1 + 1) / 4)
    with pytest.raises(ValueError):
        gan_loss(scores, True, "wgan")


def test_gan_loss_under_bf16_autocast_is_float32():
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out = gan_loss(torch.full((2, 3), 0.3, dtype=torch.bfloat16), True, "bce")
    assert out.dtype == torch.float32


class _TinyD(nn.Module):
    def __init__(self, in_ch: int, sigmoid: bool):
        super().__init__()
        self.conv = nn.Conv2d(in_ch, 4, 3, padding=1)
        self.sigmoid = sigmoid

    def forward(self, x):
        y = self.conv(x)
        return torch.sigmoid(y) if self.sigmoid else y


def _pair_call(d):
    return lambda real, fake: (d(real), d(fake))


@pytest.mark.parametrize("mode", ["bce", "lsgan"])
def test_generator_and_discriminator_losses_follow_the_reference_formulas(mode):
    cfg = LossConfig(gan_mode=mode, lambda_gan=5, lambda_l1=10, lambda_perceptual=10)
    d_pb, d_pp = _TinyD(21, mode == "bce"), _TinyD(6, mode == "bce")
    vgg = VGGRelu12()
    for p in vgg.parameters():
        nn.init.normal_(p, 0, 0.1)
    obj = APSObjective(cfg, d_pb=d_pb, d_pp=d_pp, perceptual=vgg)
    fake = (torch.rand(2, 3, 16, 8) * 2 - 1).requires_grad_()
    tgt, src, pose = torch.rand(2, 3, 16, 8) * 2 - 1, torch.rand(2, 3, 16, 8) * 2 - 1, torch.rand(2, 18, 16, 8)
    loss, stats = obj.generator(fake, tgt, src, pose)
    gan = (gan_loss(d_pb(torch.cat([fake, pose], 1)), True, mode) + gan_loss(d_pp(torch.cat([fake, src], 1)), True, mode))
    expected = 5 * gan / 2 + 10 * (fake - tgt).abs().mean() + 10 * (vgg(fake) - vgg(tgt)).abs().mean()
    assert loss.item() == pytest.approx(expected.item(), rel=1e-6)
    assert set(stats) == {"G/gan_PB", "G/gan_PP", "G/l1", "G/perceptual", "G/total"}
    loss.backward()
    # G's step leaves the discriminators and the VGG without gradients, and their flags as they were
    assert all(p.grad is None for net in (d_pb, d_pp, vgg) for p in net.parameters())
    assert all(p.requires_grad for net in (d_pb, d_pp) for p in net.parameters())
    assert not any(p.requires_grad for p in vgg.parameters())
    assert fake.grad is not None

    real_pair, fake_pair = torch.cat([tgt, pose], 1), torch.cat([fake, pose], 1)
    loss_d, stats_d = obj.discriminator("PB", _pair_call(d_pb), real_pair, fake_pair)
    expected_d = 0.5 * 5 * (gan_loss(d_pb(real_pair), True, mode) + gan_loss(d_pb(fake_pair), False, mode))
    assert loss_d.item() == pytest.approx(expected_d.item(), rel=1e-6)
    assert set(stats_d) == {"D_PB/real", "D_PB/fake", "D_PB/total"}
    fake.grad = None
    loss_d.backward()
    assert fake.grad is None  # the fake pair is detached in D's step


def test_objective_without_perceptual_term():
    obj = APSObjective(LossConfig(perceptual=False), d_pb=_TinyD(21, True), d_pp=_TinyD(6, True))
    fake, tgt = torch.zeros(1, 3, 8, 4), torch.ones(1, 3, 8, 4)
    _, stats = obj.generator(fake, tgt, tgt, torch.zeros(1, 18, 8, 4))
    assert "G/perceptual" not in stats and stats["G/l1"].item() == pytest.approx(1.0)
    assert load_perceptual(LossConfig(perceptual=False)) is None


def test_presets_carry_the_paper_lambdas():
    market, fashion = load_config("market").loss, load_config("fashion").loss
    assert (market.gan_mode, market.lambda_gan, market.lambda_l1, market.lambda_perceptual, market.pool_size) == (
        "bce", 5, 10, 10, 50)  # fmt: skip
    assert (fashion.gan_mode, fashion.lambda_gan, fashion.lambda_l1, fashion.lambda_perceptual, fashion.pool_size) == (
        "lsgan", 5, 1, 1, 0)  # fmt: skip


def _torchvision_relu12(state):
    """torchvision's own VGG layer builder for the first block: conv, ReLU, conv, ReLU (then max-pool)."""
    layers = torchvision.models.vgg.make_layers([64, 64, "M"])
    layers.load_state_dict({k.removeprefix("features."): v for k, v in state.items() if k.startswith("features.")})
    return layers[:4]


def test_vgg_weights_file_in_torchvision_format(tmp_path):
    # A locally made random state dict with torchvision's vgg19 key names (the real file holds all 38 tensors).
    state = {
        "features.0.weight": torch.randn(64, 3, 3, 3) * 0.2,
        "features.0.bias": torch.randn(64) * 0.1,
        "features.2.weight": torch.randn(64, 64, 3, 3) * 0.05,
        "features.2.bias": torch.randn(64) * 0.1,
    }
    path = tmp_path / "vgg19-random.pth"
    torch.save({**state, "classifier.6.bias": torch.zeros(1000)}, path)
    vgg = load_vgg_relu12(path)
    x = torch.rand(2, 3, 16, 8) * 2 - 1
    mean, std = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1), torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)
    expected = _torchvision_relu12(state)(((x + 1) / 2 - mean) / std)
    torch.testing.assert_close(vgg(x), expected)
    assert not any(p.requires_grad for p in vgg.parameters())
    assert load_perceptual(LossConfig(vgg_weights=str(path))) is not None


def test_vgg_weights_missing_or_wrong_is_one_line(tmp_path, monkeypatch):
    with pytest.raises(WeightsError, match="--vgg-weights") as err:
        load_vgg_relu12(tmp_path / "nope.pth")
    assert "\n" not in str(err.value)
    torch.save({"features.0.weight": torch.zeros(3)}, tmp_path / "bad.pth")
    with pytest.raises(WeightsError, match="features.0.bias"):
        load_vgg_relu12(tmp_path / "bad.pth")

    def offline(*args, **kwargs):
        raise urllib.error.URLError("Name or service not known")

    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path / "hub"))  # nothing cached there
    monkeypatch.setattr(torch.hub, "download_url_to_file", offline)
    with pytest.raises(WeightsError, match="loss.perceptual=false") as err:
        load_perceptual(LossConfig())
    assert "\n" not in str(err.value) and "Name or service not known" in str(err.value)
    assert "--weights-dir" not in str(err.value)  # the train command's own options are named


def test_feature_matching_is_off_in_the_presets_and_adds_its_term_when_on():
    from posestylizer.models.discriminator import ResnetDiscriminator

    for preset in ("market", "fashion", "synthetic"):
        assert load_config(preset).loss.lambda_fm == 0  # the paper's objective
    torch.manual_seed(0)
    d_pb = ResnetDiscriminator(in_channels=21, ndf=4, dropout=False, sigmoid=True)
    d_pp = ResnetDiscriminator(in_channels=6, ndf=4, dropout=False, sigmoid=True)
    d_pb.eval(), d_pp.eval()  # BatchNorm on running statistics: the same pair gives the same features in every call
    fake = (torch.rand(2, 3, 16, 8) * 2 - 1).requires_grad_()
    tgt, src, pose = torch.rand(2, 3, 16, 8) * 2 - 1, torch.rand(2, 3, 16, 8) * 2 - 1, torch.rand(2, 18, 16, 8)
    off = APSObjective(LossConfig(perceptual=False), d_pb=d_pb, d_pp=d_pp)
    on = APSObjective(LossConfig(perceptual=False, lambda_fm=3.0), d_pb=d_pb, d_pp=d_pp)
    loss_off, stats_off = off.generator(fake, tgt, src, pose)
    loss_on, stats_on = on.generator(fake, tgt, src, pose)
    assert "G/fm" not in stats_off and stats_on["G/fm"].item() > 0
    # the GAN terms are those of the plain forward; the loss grows by exactly lambda_fm * fm
    assert stats_on["G/gan_PB"].item() == stats_off["G/gan_PB"].item()
    assert loss_on.item() == pytest.approx(loss_off.item() + 3.0 * stats_on["G/fm"].item(), rel=1e-6)
    by_hand = []
    for d, cond in ((d_pb, pose), (d_pp, src)):
        _, ff = d.forward_features(torch.cat([fake, cond], 1))
        _, rf = d.forward_features(torch.cat([tgt, cond], 1))
        assert len(ff) == 6
        by_hand.append(torch.stack([(a - b).abs().mean() for a, b in zip(ff, rf)]).mean())
    assert stats_on["G/fm"].item() == pytest.approx(((by_hand[0] + by_hand[1]) / 2).item(), rel=1e-6)
    loss_on.backward()
    assert fake.grad is not None and all(p.grad is None for net in (d_pb, d_pp) for p in net.parameters())
    # a fake equal to its target matches every feature
    _, same = on.generator(tgt.clone(), tgt, src, pose)
    assert same["G/fm"].item() == 0


def test_masked_l1_is_the_mean_inside_the_mask_and_needs_the_mask():
    for preset in ("market", "fashion", "synthetic"):
        assert load_config(preset).loss.lambda_l1_mask == 0  # the paper's objective
    d_pb, d_pp = _TinyD(21, True), _TinyD(6, True)
    fake, tgt = torch.zeros(2, 3, 8, 4, requires_grad=True), torch.zeros(2, 3, 8, 4)
    tgt[:, :, :2] = 1.0  # the top quarter differs by 1, the rest by 0
    mask = torch.zeros(2, 1, 8, 4, dtype=torch.bool)
    mask[:, :, :4] = True  # half the mask covers the difference
    pose, src = torch.zeros(2, 18, 8, 4), torch.zeros(2, 3, 8, 4)
    off = APSObjective(LossConfig(perceptual=False), d_pb=d_pb, d_pp=d_pp)
    on = APSObjective(LossConfig(perceptual=False, lambda_l1_mask=4.0), d_pb=d_pb, d_pp=d_pp)
    loss_off, stats_off = off.generator(fake, tgt, src, pose, mask)
    loss_on, stats_on = on.generator(fake, tgt, src, pose, mask)
    assert "G/l1_mask" not in stats_off and stats_off["G/l1"].item() == pytest.approx(0.25)
    assert stats_on["G/l1_mask"].item() == pytest.approx(0.5)
    assert loss_on.item() == pytest.approx(loss_off.item() + 4.0 * 0.5)
    fake.grad = None
    on.reconstruction(fake + 0.5, tgt, mask)["l1_mask"].backward()
    assert fake.grad[:, :, 4:].abs().sum() == 0 and fake.grad[:, :, :4].abs().min() > 0  # pulls inside the mask only
    _, empty = on.generator(fake, tgt, src, pose, torch.zeros_like(mask))
    assert empty["G/l1_mask"].item() == 0
    with pytest.raises(ValueError, match="lambda_l1_mask"):
        on.generator(fake, tgt, src, pose)

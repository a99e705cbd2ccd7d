"""Feature-map sizes and channel plans of the APS generator (and its ablation variants) for any size and block count.

The encoder halves each side with stride-2 convs (``ceil(s / 2)``). The decoder doubles with stride-2 4x4 transposed
convs, ``out = 2 * in + 2 - 2 * padding``: padding 1 doubles, padding 2 gives ``2 * in - 2``. Each decoder step aims
at the encoder size of the same level and takes the smallest reachable size not below it. For DeepFashion's width
176 (encoder 176, 88, 44, 22, 11, 6) this gives 12, 22, 44, 88, 176 with padding 2 at the second step: exactly the
reference's hard-wired (1, 2) padding (§3.3, quirk 3), derived instead of keyed on a dataset name.
"""

from __future__ import annotations

from dataclasses import dataclass

from posestylizer.errors import ConfigError


@dataclass(frozen=True)
class GeneratorGeometry:
    """Per-axis plan. Tuples are indexed by block; sizes are (H, W)."""

    image_size: tuple[int, int]
    encoder_sizes: tuple[tuple[int, int], ...]  # level 0 = image, level n = bottleneck
    fg_sizes: tuple[tuple[int, int], ...]  # output of foreground block i
    fg_paddings: tuple[tuple[int, int], ...]  # transposed-conv padding of foreground block i
    full_paddings: tuple[tuple[int, int], ...]  # transposed-conv padding of full-image block i (i < n - 1)

    @property
    def bottleneck(self) -> tuple[int, int]:
        return self.encoder_sizes[-1]


def _deconv_padding(size_in: int, target: int) -> int:
    """Padding of a k4 s2 transposed conv giving the smallest output >= target."""
    return 1 + max(0, (2 * size_in - target) // 2)


def _axis_plan(size: int, n_blocks: int) -> tuple[list[int], list[int], list[int], list[int]]:
    enc = [size]
    for _ in range(n_blocks):
        enc.append((enc[-1] - 1) // 2 + 1)
    fg, fg_pad = [], []
    cur = enc[-1]
    for i in range(n_blocks):
        pad = _deconv_padding(cur, enc[n_blocks - 1 - i])
        cur = 2 * cur + 2 - 2 * pad
        fg.append(cur)
        fg_pad.append(pad)
    full_pad = [1 + (2 * fg[i] - fg[i + 1]) // 2 for i in range(n_blocks - 1)]
    return enc, fg, fg_pad, full_pad


def plan_geometry(image_size: tuple[int, int], n_blocks: int) -> GeneratorGeometry:
    """Plan all feature sizes; raises ConfigError when the decoder cannot land exactly on ``image_size``."""
    if n_blocks < 2:
        raise ConfigError(f"model.n_blocks={n_blocks}: the APS generator needs at least 2 blocks")
    h_plan, w_plan = (_axis_plan(s, n_blocks) for s in image_size)
    if h_plan[1][-1] != image_size[0] or w_plan[1][-1] != image_size[1]:
        raise ConfigError(
            f"model.image_size={list(image_size)} with n_blocks={n_blocks}: the decoder reaches "
            f"{h_plan[1][-1]}x{w_plan[1][-1]}; use even sizes (e.g. multiples of {2 ** n_blocks} or 176-like widths)"
        )
    return GeneratorGeometry(
        image_size=tuple(image_size),
        encoder_sizes=tuple(zip(h_plan[0], w_plan[0])),
        fg_sizes=tuple(zip(h_plan[1], w_plan[1])),
        fg_paddings=tuple(zip(h_plan[2], w_plan[2])),
        full_paddings=tuple(zip(h_plan[3], w_plan[3])),
    )


def encoder_channels(ngf: int, n_blocks: int, max_channels: int = 512) -> list[int]:
    """Channels per encoder level 0..n (reference §3.2): ngf * 2^i, capped; level n is the bottleneck Cb."""
    return [min(ngf * 2**i, max_channels) for i in range(n_blocks + 1)]


def decoder_channels(ngf: int, n_blocks: int, max_channels: int = 512) -> list[int]:
    """Channels per decoder level s = 0..n (reference ``nf(s)``): ngf * 2^(n - s), capped; level n is ngf."""
    return [min(ngf * 2 ** (n_blocks - s), max_channels) for s in range(n_blocks + 1)]

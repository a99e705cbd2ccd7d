"""Fig. 7 of the paper from the study's held-out curves: L1 and SSIM against training iterations, AdaIN vs AdaPN.

The paper plots L1 and IS against DeepFashion epochs; here both panels come from the periodic held-out evaluations
(:mod:`posestylizer.experiments.curves`) of the ``adain`` and ``full`` runs: the mean over seeds as a solid line, each
seed as a faint one. Drawn with matplotlib's Agg backend (no display needed).
"""

from __future__ import annotations

from pathlib import Path

from posestylizer.experiments.curves import read_curve
from posestylizer.runtime.files import atomic_path

# (variant folder, legend label, colour): the paper's pair, AdaIN against the full model's AdaPN.
FIG7_LINES = (("adain", "AdaIN (APS w/ AdaIN)", "tab:orange"), ("full", "AdaPN (full model)", "tab:blue"))
PANELS = (("l1", "L1 (lower is better)"), ("ssim_paper", "SSIM (higher is better)"))


def seed_curves(out: str | Path, variant: str) -> list[list[dict]]:
    """The curve rows of every ``<out>/<variant>/seed*/`` run that has any, in seed-folder order."""
    folders = sorted((Path(out) / variant).glob("seed*"), key=lambda p: p.name)
    return [rows for rows in (read_curve(f) for f in folders) if rows]


def mean_curve(curves: list[list[dict]], key: str) -> tuple[list[int], list[float]]:
    """Steps every seed evaluated, and the mean of ``key`` over the seeds at each of them."""
    common = sorted(set.intersection(*({r["step"] for r in rows} for rows in curves)))
    by_seed = [{r["step"]: r[key] for r in rows} for rows in curves]
    return common, [sum(s[step] for s in by_seed) / len(by_seed) for step in common]


def write_fig7(out: str | Path) -> Path | None:
    """``<out>/fig7.png``; None (nothing written) when neither the adain nor the full runs have curves yet."""
    lines = [(label, colour, seed_curves(out, name)) for name, label, colour in FIG7_LINES]
    lines = [line for line in lines if line[2]]
    if not lines:
        return None
    import matplotlib

    matplotlib.use("Agg")  # files only; never a window
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8), dpi=120)
    for ax, (key, title) in zip(axes, PANELS):
        for label, colour, curves in lines:
            for rows in curves:
                ax.plot([r["step"] for r in rows], [r[key] for r in rows], color=colour, alpha=0.3, linewidth=0.9)
            steps, mean = mean_curve(curves, key)
            ax.plot(steps, mean, color=colour, linewidth=2.2, marker="o", markersize=3,
                    label=f"{label}, mean of {len(curves)} seed{'s' if len(curves) > 1 else ''}")  # fmt: skip
        ax.set_title(title)
        ax.set_xlabel("training iterations")
        ax.set_ylabel(title.split(" ")[0] + " on held-out pairs")
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=8)
    fig.suptitle("AdaIN vs AdaPN during training (paper Fig. 7); faint lines: single seeds")
    fig.tight_layout()
    path = Path(out) / "fig7.png"
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png")
    plt.close(fig)
    return path

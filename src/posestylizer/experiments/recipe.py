"""The recipe of an ablation run: everything that decides its numbers except the seed, and its hash.

Table 2 averages a variant's seeds; that is only an average of one thing when every seed ran the same recipe. Each
finished run records its recipe in ``result.json`` (``recipe``: the hash, ``recipe_items``: the items), and the table
refuses to average runs whose hashes differ (:mod:`posestylizer.experiments.table`). The items are:

- the resolved config (model, data, loss, training length: ``train.steps`` / ``train.time_budget``), without the seed
  and without what only says where or how verbosely a run happens (:data:`NOT_RECIPE`);
- the evaluation: held-out pairs of the final evaluation and of the curve, the curve's interval, and how the scored
  images were stored (:data:`posestylizer.metrics.collect.IMAGE_KINDS`);
- the data: a digest of the dataset's annotation and pair files and of its image files' names and sizes (the same
  dataset copied elsewhere is the same data; a regenerated one is not).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from posestylizer.data.layouts import PHASES, Layout
from posestylizer.errors import ConfigError

RECIPE_VERSION = 1  # bump when the items change meaning: older hashes then no longer match newer ones
# Config keys that say where or how verbosely a run happens, not what it computes.
NOT_RECIPE = frozenset({
    "train.seed", "data.root", "data.num_workers", "train.device", "train.log_every", "train.sample_every",
    "train.checkpoint_every", "train.keep_last",
})  # fmt: skip


def data_identity(root: str | Path, layout: Layout) -> str:
    """sha256 over the bytes of both phases' annotation and pair CSVs and the names and sizes of their images."""
    root = Path(root)
    h = hashlib.sha256()
    for phase in PHASES:
        for path in (layout.annotation_path(root, phase), layout.pairs_path(root, phase, search_parent=True)):
            h.update(f"{phase}\0{path.name}\0".encode())
            h.update(path.read_bytes() if path.is_file() else b"\0missing")
        folder = layout.image_dir(root, phase)
        files = sorted(p for p in folder.iterdir() if p.is_file()) if folder.is_dir() else []
        h.update("".join(f"{p.name}\0{p.stat().st_size}\n" for p in files).encode())
    return h.hexdigest()


def _flat(config: dict) -> dict[str, object]:
    out: dict[str, object] = {}
    for section, values in config.items():
        if isinstance(values, dict):
            out.update({f"{section}.{k}": list(v) if isinstance(v, tuple) else v for k, v in values.items()})
        else:
            out[section] = values
    return out


def run_recipe(config: dict, *, eval_pairs: int, curve_pairs: int, curve_every: int, images: str,
               data: str) -> dict[str, object]:  # fmt: skip
    """The recipe items of a run: its config (``ExperimentConfig.to_dict()``) without :data:`NOT_RECIPE`, then the
    evaluation's and the data's items, as a flat ``{key: value}`` dict."""
    items = {k: v for k, v in _flat(config).items() if k not in NOT_RECIPE}
    items.update({"eval.pairs": eval_pairs, "eval.curve_pairs": curve_pairs, "eval.curve_every": curve_every,
                  "eval.images": images, "data.identity": data, "recipe.version": RECIPE_VERSION})  # fmt: skip
    return items


def recipe_hash(items: dict[str, object]) -> str:
    """A short stable hash of recipe items (16 hex digits of sha256 over their sorted JSON)."""
    return hashlib.sha256(json.dumps(items, sort_keys=True, default=str).encode()).hexdigest()[:16]


def first_difference(a: dict[str, object] | None, b: dict[str, object] | None) -> str:
    """``key: a vs b`` for the first differing item of two recipes (in sorted key order), or '' when unknown."""
    if not a or not b:
        return ""
    for key in sorted(set(a) | set(b)):
        if a.get(key, "(absent)") != b.get(key, "(absent)"):
            return f"{key}: {a.get(key, '(absent)')!r} vs {b.get(key, '(absent)')!r}"
    return ""


def check_same_recipe(a: tuple[Path, dict], b: tuple[Path, dict]) -> None:
    """ConfigError (one line naming both runs and their first differing item) unless two runs' records (``recipe``
    hash and ``recipe_items``, as in ``result.json``) have the same recipe. A run from before recipes were recorded
    matches only another such run: nothing says it matches a recorded one."""
    (a_dir, a_rec), (b_dir, b_rec) = a, b
    if a_rec.get("recipe") == b_rec.get("recipe"):
        return
    hashes = f"{a_rec.get('recipe') or 'not recorded'} vs {b_rec.get('recipe') or 'not recorded'}"
    diff = first_difference(a_rec.get("recipe_items"), b_rec.get("recipe_items"))
    raise ConfigError(f"{a_dir} and {b_dir} have different recipes ({hashes}{'; ' + diff if diff else ''}): a table "
                      "row averages one recipe; use another --out for the other recipe, or the same settings")

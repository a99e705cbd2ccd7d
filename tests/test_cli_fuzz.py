"""A CLI-wide fuzz: for every subcommand, generated command lines built from its own argparse definition.

Values come from the kinds a careless or hostile user types: paths of every kind (missing, a folder where a file
goes, a file where a folder goes, an existing file of the user's, binary junk, text that is not the format), numbers
at and past their bounds (0, -1, NaN, inf, words), every config field with a wrong type or an out-of-range value,
choices that do not exist, and options in any order. The promises:

- exit 0, or exit 2 with exactly one line on stderr and never a traceback;
- no file that existed before the command changed (outputs never replace what the user made without --force,
  which the fuzz never passes).

Commands that would start long work on valid input (demo, train, ablate, bench, serve, experiments reid) are run with their
long-running entry points replaced by a stub that records the call: their argument and config checking is what is
fuzzed. Deterministic (derandomized, no database) and bounded: a few minutes on 2 cores.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib
import io
import os
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from posestylizer.cli import build_parser, main

EXAMPLES = int(os.environ.get("POSESTYLIZER_FUZZ_EXAMPLES", "25"))
SETTINGS = settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])

# The user's own files in the working folder: what must never change.
USER_FILES = {
    "photo.png": None,  # written as a real image below
    "notes.txt": b"my notes\n",
    "junk.bin": bytes(range(256)) * 4,
    "data/train/0001_c1s1_000451_03.jpg": b"not really a jpeg",
    "data/market-annotation-train.csv": b"name:keypoints_y:keypoints_x\n",
    "pose.json": b'{"people": [{"pose_keypoints_2d": [1, 2, 0.9]}]}',
    "config.yaml": b"model: {ngf: -3}\n",
    "binary.yaml": b"\x89PNG\r\n\x1a\n\x00\x00",
}
PATHS = ["photo.png", "notes.txt", "junk.bin", "data", "data/train", "missing.png", "missing/", "out", "out.png",
         "notes.txt/inside.png", "pose.json", "config.yaml", "binary.yaml", "", ".", "data/market-annotation-train.csv"]
NUMBERS = ["0", "-1", "1", "2", "nan", "inf", "-inf", "1e999", "abc", "", "0.5", "3"]
OVERRIDES = ["train.batch_size=0", "train.lr=-1", "train.lr=nan", "model.n_blocks=100", "model.ngf=0",
             "model.dropout=2", "train.epoch_length=-1", "loss.gan_mode=wgan", "model.norm=group",
             "model.image_size=[0,0]", "data.heatmap_sigma=0", "data.heatmap_sigma=-3", "loss.lambda_l1=-10",
             "no.such=1", "model=3", "train.lr=abc", "train.batch_size=1.5", "model.ngf=[1]"]
STUBBED = {  # command -> (module, attribute) of the long-running work
    "demo": ("posestylizer.demo.run", "run_demo"),
    "train": ("posestylizer.training.run", "train"),
    "ablate": ("posestylizer.experiments.ablate", "run_study"),
    "bench": ("posestylizer.bench.suite", "run"),
    "serve": ("uvicorn", "run"),
    "experiments reid": ("posestylizer.experiments.reid", "run_study"),
}


def _leaf_parsers() -> dict[str, argparse.ArgumentParser]:
    found: dict[str, argparse.ArgumentParser] = {}

    def walk(parser: argparse.ArgumentParser, path: list[str]) -> None:
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for name, child in action.choices.items():
                    walk(child, [*path, name])
                return
        if path:
            found[" ".join(path)] = parser

    walk(build_parser(), [])
    return found


LEAVES = _leaf_parsers()


def _value(draw, action: argparse.Action) -> list[str]:
    """The words after one option (or for one positional)."""
    if action.nargs == 0:
        return []
    if action.choices is not None and not isinstance(action, argparse._SubParsersAction):
        pool = [str(c) for c in action.choices] + ["no-such-choice"]
    elif action.type in (int, float) or getattr(action.type, "__name__", "") in ("whole number", "number"):
        pool = NUMBERS
    elif action.dest == "overrides":
        return draw(st.lists(st.sampled_from(OVERRIDES), max_size=3))
    else:
        pool = PATHS + NUMBERS[:3]
    count = action.nargs if isinstance(action.nargs, int) else (1 if action.nargs in (None, "?") else
                                                                 draw(st.integers(1, 2)))
    return [draw(st.sampled_from(pool)) for _ in range(count)]


@st.composite
def command_lines(draw, name: str) -> list[str]:
    parser = LEAVES[name]
    optionals = [a for a in parser._actions if a.option_strings and a.dest not in ("help", "force", "verbose")]
    positionals = [a for a in parser._actions if not a.option_strings]
    words: list[list[str]] = []
    for action in optionals:
        if action.required or draw(st.booleans()):
            words.append([draw(st.sampled_from(action.option_strings)), *_value(draw, action)])
    shuffled = draw(st.permutations(words)) if words else []
    tail = [w for action in positionals for w in _value(draw, action)]
    split = draw(st.integers(0, len(shuffled)))
    return [*name.split(), *[w for group in shuffled[:split] for w in group], *tail,
            *[w for group in shuffled[split:] for w in group]]


def _snapshot(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in root.rglob("*") if p.is_file() and not p.relative_to(root).parts[0].startswith("fuzz-out")}


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    import numpy as np
    from PIL import Image

    for rel, data in USER_FILES.items():
        path = tmp_path / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if data is None:
            Image.fromarray(np.full((64, 32, 3), 128, np.uint8)).save(path)
        else:
            path.write_bytes(data)
    monkeypatch.chdir(tmp_path)
    # Import every stubbed module before patching any: a module imported while another's entry point is
    # stubbed would bind the stub by name (`from x import train`) and keep it after this test ends.
    for mod, attr in [(_import_stubbed(module), attr) for module, attr in STUBBED.values()]:
        if mod is not None:
            monkeypatch.setattr(mod, attr, _stub)
    return tmp_path


def _import_stubbed(module: str):
    """The module, or None for uvicorn without the `web` extra: `serve` then answers in one line that the extra is
    missing, which the fuzz checks like any other answer. The package's own modules must import."""
    try:
        return importlib.import_module(module)
    except ImportError:
        if module.startswith("posestylizer"):
            raise
        return None


class Reached(Exception):
    """Raised by a stubbed long-running entry point: every check before it passed."""


def _stub(*args, **kwargs):
    raise Reached


def _check(argv: list[str], root: Path) -> None:
    before = _snapshot(root)
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        try:
            code = main(argv)
        except SystemExit as exit_info:  # argparse's own errors
            code = exit_info.code
        except Reached:
            code = 0
        except Exception as err:  # a traceback the user would see
            raise AssertionError(f"{argv}: {type(err).__name__}: {err}") from err
    text = err.getvalue().strip()
    assert "Traceback" not in text, (argv, text)
    assert code in (0, 2, None) or (code == 130 and argv[0] == "train"), (argv, code, text)
    if code == 2:
        assert len(text.splitlines()) == 1, (argv, text)
    after = _snapshot(root)
    changed = sorted(name for name, digest in before.items() if after.get(name) != digest)
    assert not changed, (argv, "changed or removed files that existed before the command", changed)


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(LEAVES))
def test_every_command_line_is_a_result_or_one_line(name, workdir):
    @SETTINGS
    @given(argv=command_lines(name))
    def run(argv):
        _check(argv, workdir)

    run()

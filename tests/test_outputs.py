"""Outputs never replace what the user made: `convert` refuses a folder it did not write, a file, and its own input;
a checkpoint folder it wrote is replaced only with --force. Each refusal is one line, exit 2, and leaves the path
as it was."""

from __future__ import annotations

import pytest
from reference_helpers import GENERATOR_FIXTURES

from posestylizer.cli import main
from posestylizer.runtime.outputs import OutputError, check_not_an_input, check_output_dir, check_output_file


def _one_line_refusal(capsys, argv, *words):
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in err, err
    for w in words:
        assert w in err, (w, err)


@pytest.fixture
def ref(reference_dir):
    return reference_dir / GENERATOR_FIXTURES[0]


def test_convert_never_wipes_a_folder_it_did_not_write(ref, tmp_path, capsys):
    data = tmp_path / "dataset"
    (data / "train").mkdir(parents=True)
    (data / "train" / "0001_c1s1_0.jpg").write_bytes(b"precious")
    _one_line_refusal(capsys, ["convert", str(ref), str(data)], str(data), "did not write")
    assert (data / "train" / "0001_c1s1_0.jpg").read_bytes() == b"precious"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dataset"]  # no hidden .old or .tmp folder left


def test_convert_onto_a_file_or_its_input_is_refused(ref, tmp_path, capsys):
    target = tmp_path / "notes.txt"
    target.write_text("mine")
    _one_line_refusal(capsys, ["convert", str(ref), str(target)], "is a file")
    assert target.read_text() == "mine"
    _one_line_refusal(capsys, ["convert", str(ref), str(ref)], "is also an input")
    assert ref.is_file()


def test_convert_replaces_its_own_folder_only_with_force(ref, tmp_path, capsys):
    out = tmp_path / "native"
    assert main(["convert", str(ref), str(out)]) == 0
    before = (out / "config.json").read_bytes()
    _one_line_refusal(capsys, ["convert", str(ref), str(out)], "--force")
    assert main(["convert", str(ref), str(out), "--force"]) == 0
    assert (out / "config.json").read_bytes() == before
    empty = tmp_path / "empty"
    empty.mkdir()
    assert main(["convert", str(ref), str(empty)]) == 0  # an empty folder holds nothing to lose


def test_file_outputs(tmp_path):
    (tmp_path / "d").mkdir()
    with pytest.raises(OutputError, match="is a folder"):
        check_output_file(tmp_path / "d", force=True, option="--out")
    (tmp_path / "f").write_text("x")
    with pytest.raises(OutputError, match="exists; pass --force"):
        check_output_file(tmp_path / "f", force=False, option="--out")
    assert check_output_file(tmp_path / "f", force=True, option="--out") == tmp_path / "f"
    with pytest.raises(OutputError, match="is a file, not a folder"):
        check_output_file(tmp_path / "f" / "x.png", force=False, option="--out")
    with pytest.raises(OutputError, match="is also an input"):
        check_not_an_input(tmp_path / "." / "f", [None, tmp_path / "f"], "--out")
    with pytest.raises(OutputError, match="is a file"):
        check_output_dir(tmp_path / "f", force=True, option="--out")


def test_overrides_may_follow_options(monkeypatch):
    import posestylizer.commands.train as train_command

    seen = {}
    monkeypatch.setattr(train_command, "run", lambda args: seen.setdefault("overrides", args.overrides) and 0)
    from posestylizer.cli import build_parser

    parser = build_parser()
    parser._subparsers._group_actions[0].choices["train"].set_defaults(func=train_command.run)
    from posestylizer.cli import _parse

    args = _parse(parser, ["train", "--preset", "synthetic", "a.b=1", "--quiet", "c.d=2", "--data", "x", "e.f=3"])
    assert args.overrides == ["a.b=1", "c.d=2", "e.f=3"] and args.quiet and args.data == "x"
    with pytest.raises(SystemExit) as exit_info:
        _parse(parser, ["train", "--preset", "synthetic", "--bogus"])
    assert exit_info.value.code == 2


def test_every_command_refuses_to_replace_a_users_file(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    from PIL import Image

    Image.new("RGB", (32, 64), (200, 10, 10)).save("me.png")
    photo = (tmp_path / "me.png").read_bytes()
    (tmp_path / "annotations.csv").write_text("mine\n")
    (tmp_path / "pose.json").write_text('{"people": []}')
    (tmp_path / "dataset").mkdir()
    (tmp_path / "dataset" / "keep.txt").write_text("keep")
    _one_line_refusal(capsys, ["generate", "--checkpoint", "none", "--source", "me.png", "--target", "walking",
                               "--out", "me.png"], "is also an input")
    _one_line_refusal(capsys, ["animate", "--checkpoint", "none", "--source", "me.png", "--driving", "pose.json",
                               "--out", "me.gif"])  # a bad driving file; the photo is never touched
    _one_line_refusal(capsys, ["pose", "import", "pose.json", "--out", "annotations.csv"], "pass --force")
    _one_line_refusal(capsys, ["pose", "import", "pose.json", "--out", "pose.json"], "is also an input")
    _one_line_refusal(capsys, ["data", "synth", "dataset", "--identities", "2", "--poses", "2"], "did not write")
    _one_line_refusal(capsys, ["export", "--checkpoint", "none", "--onnx", "annotations.csv"], "pass --force")
    assert (tmp_path / "me.png").read_bytes() == photo
    assert (tmp_path / "annotations.csv").read_text() == "mine\n"
    assert (tmp_path / "pose.json").read_text() == '{"people": []}'
    assert sorted(p.name for p in (tmp_path / "dataset").iterdir()) == ["keep.txt"]


def test_synth_rewrites_its_own_folder_only_with_force(tmp_path, capsys):
    out = str(tmp_path / "people")
    assert main(["data", "synth", out, "--identities", "2", "--poses", "2", "--quiet"]) == 0
    _one_line_refusal(capsys, ["data", "synth", out, "--identities", "2", "--poses", "2"], "pass --force")
    assert main(["data", "synth", out, "--identities", "2", "--poses", "2", "--quiet", "--force"]) == 0


def test_folder_outputs_of_the_wrong_kind_are_refused_before_work(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "notes.txt").write_text("mine")
    _one_line_refusal(capsys, ["train", "--preset", "synthetic", "--data", "nowhere", "--out", "notes.txt"],
                      "notes.txt: is a file; --out takes a folder")
    _one_line_refusal(capsys, ["evaluate", "--checkpoint", "none", "--data", "nowhere", "--out", "notes.txt"],
                      "notes.txt: is a file; --out takes a folder")
    assert (tmp_path / "notes.txt").read_text() == "mine"

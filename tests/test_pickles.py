"""Pickled code is found from the pickle's opcodes (runtime.pickles), so the refusal does not depend on the wording
of the installed torch's error message, names the global, and prints nothing else."""

from __future__ import annotations

import os
import pickle
import warnings

import pytest
import torch

from posestylizer.errors import CheckpointError
from posestylizer.runtime.files import read_weights_only
from posestylizer.runtime.pickles import code_globals, file_globals, pickle_globals


class System:
    """Unpickling this would call ``os.system("true")``."""

    def __reduce__(self):
        return (os.system, ("true",))


def _save(obj, path, fmt):
    """``zip``: torch.save; ``legacy``: torch.save's pre-1.6 format (a sequence of pickles and raw storages);
    an int: a plain pickle of that protocol."""
    if fmt == "zip":
        torch.save(obj, path)
    elif fmt == "legacy":
        torch.save(obj, path, _use_new_zipfile_serialization=False)
    else:
        path.write_bytes(pickle.dumps(obj, protocol=fmt))
    return path


@pytest.mark.parametrize("fmt", ["zip", "legacy", 2, 4, 5])
def test_the_system_call_is_named_in_every_format(tmp_path, fmt):
    weight = torch.zeros(2) if fmt in ("zip", "legacy") else [0.0, 0.0]  # plain pickles of tensors import code too
    path = _save({"weight": weight, "hook": System()}, tmp_path / "evil.pth", fmt)
    assert code_globals(path) == [f"{os.system.__module__}.system"]


def test_state_dicts_and_training_states_hold_no_code(tmp_path):
    net = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.BatchNorm2d(4))
    opt = torch.optim.Adam(net.parameters())
    net(torch.randn(2, 3, 8, 8)).sum().backward()
    opt.step()
    state = {"net": net.state_dict(), "opt": opt.state_dict(), "rng": torch.get_rng_state(), "step": 3,
             "half": torch.zeros(2, dtype=torch.bfloat16), "size": torch.Size([1, 2]), "names": {"a", "b"}}
    for fmt in ("zip", "legacy"):
        path = _save(state, tmp_path / f"ok-{fmt}.pth", fmt)
        assert file_globals(path), "a tensor file imports its rebuilders"
        assert code_globals(path) == []
        assert read_weights_only(path, "test file")["step"] == 3


def test_refusal_names_the_global_whatever_torch_says(tmp_path, monkeypatch, capfd):
    path = _save({"hook": System()}, tmp_path / "evil.pth", "zip")

    def load(*args, **kwargs):  # a torch whose message matches none of the wordings we have seen
        raise pickle.UnpicklingError("Weights only load failed. In torch 9 we say this differently; "
                                     "re-running with weights_only=False will likely succeed")

    monkeypatch.setattr(torch, "load", load)
    with pytest.raises(CheckpointError) as err:
        read_weights_only(path, "test file")
    message = str(err.value)
    assert "refused to unpickle" in message and ".system" in message
    assert "weights_only=False" not in message and len(message.splitlines()) == 1


@pytest.mark.parametrize("fmt", ["zip", "legacy"])
def test_real_torch_refusal_is_one_line_and_silent(tmp_path, capfd, fmt):
    path = _save({"weight": torch.zeros(2), "hook": System()}, tmp_path / "evil.pth", fmt)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # any warning would fail the test
        with pytest.raises(CheckpointError) as err:
            read_weights_only(path, "test file")
    assert "refused to unpickle" in str(err.value) and "weights_only=False" not in str(err.value)
    out, errout = capfd.readouterr()
    assert out == "" and errout == ""


def test_garbage_is_unreadable_not_code(tmp_path):
    path = tmp_path / "junk.pth"
    path.write_bytes(b"\x80\x04 not a pickle at all")
    with pytest.raises(CheckpointError, match="unreadable test file"):
        read_weights_only(path, "test file")
    truncated = _save({"w": torch.zeros(4)}, tmp_path / "t.pth", "legacy")
    truncated.write_bytes(truncated.read_bytes()[:20])
    with pytest.raises(CheckpointError, match="unreadable"):
        read_weights_only(truncated, "test file")


def test_stack_global_names_come_from_memoised_strings():
    # protocol 4 memoises the module and name strings before STACK_GLOBAL; a second reference reads them back
    data = pickle.dumps([System(), System()], protocol=4)
    assert set(pickle_globals(data)) == {f"{os.system.__module__}.system"}

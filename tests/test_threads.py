"""Thread choice by timing (posestylizer.runtime.threads) and the demo's use of it."""

from __future__ import annotations

import time

import pytest
import torch

from posestylizer.runtime.threads import fastest_threads, thread_candidates


@pytest.fixture(autouse=True)
def _keep_threads():
    before = torch.get_num_threads()
    yield
    torch.set_num_threads(before)


def test_candidates_are_one_half_and_all():
    assert thread_candidates(1) == [1]
    assert thread_candidates(2) == [1, 2]
    assert thread_candidates(16) == [1, 8, 16]


@pytest.mark.parametrize("slow_count", [1, 2])
def test_fastest_threads_keeps_the_count_whose_step_is_fastest(slow_count):
    calls = []

    def step():  # a step that is slow under one thread count, as on a shared machine
        n = torch.get_num_threads()
        calls.append(n)
        time.sleep(0.02 if n == slow_count else 0.001)

    choice = fastest_threads(step, [1, 2], rounds=2, calls=1)
    fast = 2 if slow_count == 1 else 1
    assert choice.threads == fast and torch.get_num_threads() == fast
    assert choice.seconds[slow_count] > choice.seconds[fast]
    assert calls.count(1) == calls.count(2) == 3  # one warm-up and two timed rounds each
    assert f"{fast} CPU thread" in choice.describe()


def test_demo_choose_threads_honours_an_explicit_count():
    from posestylizer.demo.run import choose_threads

    assert "3 CPU threads" in choose_threads(None, None, 3) and torch.get_num_threads() == 3


def test_probe_stops_timing_rounds_after_max_seconds():
    calls = []

    def step():
        calls.append(torch.get_num_threads())
        time.sleep(0.01 if torch.get_num_threads() == 1 else 0.03)

    choice = fastest_threads(step, [1, 2], rounds=5, calls=1, max_seconds=0.0)
    assert calls == [1, 2]  # the warm-up calls only: they decide
    assert choice.threads == 1 and set(choice.seconds) == {1, 2}


def test_demo_probe_times_real_training_steps_and_leaves_the_run_unchanged():
    from train_helpers import ToyPairs, tiny_config

    from posestylizer.demo.run import choose_threads
    from posestylizer.training.distributed import DistInfo
    from posestylizer.training.loop import Trainer

    cfg = tiny_config("market", ["train.device=cpu"])
    before = Trainer(cfg, ToyPairs(), DistInfo(), perceptual=None).state_dict()["nets"]["G"]
    said = choose_threads(cfg, ToyPairs(), 0, max_seconds=0.0)
    assert "timed per step" in said and torch.get_num_threads() in (1, 2)
    after = Trainer(cfg, ToyPairs(), DistInfo(), perceptual=None).state_dict()["nets"]["G"]
    assert all(torch.equal(before[k], after[k]) for k in before)  # the probe's steps do not move the real start

"""Shared fixtures: a tiny reproduction (two experiments, tiny stacks, few steps) run once per session."""

from __future__ import annotations

import pytest

from lumicare_ij.reproduce import quick


def tiny_settings(**changes):
    """A reproduction small enough for tests: 16x64x64 stacks, 2 epochs of 4 steps."""
    settings = quick().replace(
        shapes={k: (16, 64, 64) for k in ("cytoplasmic", "h2b", "tomm20")},
        n_train={"cytoplasmic": 2, "h2b": 2, "tomm20": 2},
        n_test={"cytoplasmic": 2, "h2b": 2, "tomm20": 4},
        preset_overrides={"probabilistic": True, "train_epochs": 2, "train_steps_per_epoch": 4,
                          "train_batch_size": 4, "n_patches_per_image": 8})
    return settings.replace(**changes) if changes else settings


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory):
    """``(out_dir, summary, log lines)`` of a real tiny reproduction of 1c and 2a."""
    from lumicare_ij.reproduce import reproduce

    out = tmp_path_factory.mktemp("reproduce") / "out"
    lines = []
    summary = reproduce(out, experiments=["1c", "2a"], settings=tiny_settings(), log=lines.append,
                        command="pytest tiny reproduction")
    return out, summary, lines

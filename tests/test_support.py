"""Seeding, plotting and widget helpers."""

from __future__ import annotations

import hashlib
import math
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

import gaelib  # noqa: E402
from gaelib.core import advantages, plots
from gaelib.widgets import ch00


def test_seed_everything_repeats_numbers():
    a = gaelib.seed_everything(3)
    x = (a.random(3), np.random.random(3), torch.rand(3))  # noqa: NPY002
    b = gaelib.seed_everything(3)
    y = (b.random(3), np.random.random(3), torch.rand(3))  # noqa: NPY002
    np.testing.assert_array_equal(x[0], y[0])
    np.testing.assert_array_equal(x[1], y[1])
    assert torch.equal(x[2], y[2])
    assert torch.get_num_threads() == 1


@pytest.mark.parametrize("seed", [-1, 1.5, "0", True, None])
def test_seed_everything_rejects_bad_seed(seed):
    with pytest.raises(ValueError, match="seed"):
        gaelib.seed_everything(seed)


def test_seed_everything_rejects_bad_threads():
    with pytest.raises(ValueError, match="threads"):
        gaelib.seed_everything(0, threads=0)


def test_save_figure_is_deterministic(tmp_path, monkeypatch):
    monkeypatch.setenv("GAELIB_FIGURES_DIR", str(tmp_path))
    digests = []
    for _ in range(2):
        fig = ch00.discount_weights_figure(0.9)
        assert gaelib.save_figure(fig, "ch00_test_figure") is None
        plt.close(fig)
        path = tmp_path / "ch00_test_figure.png"
        digests.append(hashlib.sha256(path.read_bytes()).hexdigest())
    assert digests[0] == digests[1]


@pytest.mark.parametrize("name", ["figure", "ch4_x", "ch04-Bad", "../ch04_x", ""])
def test_save_figure_rejects_bad_names(name, tmp_path, monkeypatch):
    monkeypatch.setenv("GAELIB_FIGURES_DIR", str(tmp_path))
    fig = plt.figure()
    with pytest.raises(ValueError, match="name"):
        gaelib.save_figure(fig, name)
    plt.close(fig)
    with pytest.raises(ValueError, match="fig"):
        gaelib.save_figure("not a figure", "ch00_x")


def test_figures_dir_is_the_checkout(monkeypatch, tmp_path):
    """The checkout's figures/ wherever the notebook runs from (a kernel's working folder is
    notebooks/), and with ``committed=True`` even when the test session redirects figures."""
    checkout = Path(__file__).resolve().parents[1]
    monkeypatch.chdir(tmp_path)
    assert plots.figures_dir(committed=True) == checkout / "figures"
    monkeypatch.delenv("GAELIB_FIGURES_DIR", raising=False)
    assert plots.figures_dir() == checkout / "figures"


def test_effective_horizon():
    assert advantages.effective_horizon(0.9) == pytest.approx(10.0)
    assert advantages.effective_horizon(0.0) == 1.0
    assert math.isinf(advantages.effective_horizon(1.0))
    with pytest.raises(ValueError, match="gamma"):
        advantages.effective_horizon(1.2)
    # GAE's weights (γλ)^l: the sum of 0.99·0.95 to the powers 0..9999, summed term by term
    terms = (0.99 * 0.95) ** np.arange(10_000)
    assert advantages.effective_horizon(0.99, 0.95) == pytest.approx(terms.sum(), rel=1e-12)
    assert math.isinf(advantages.effective_horizon(1.0, 1.0))
    assert advantages.effective_horizon(1.0, 0.0) == 1.0
    with pytest.raises(ValueError, match="lam"):
        advantages.effective_horizon(0.9, -0.1)


def test_discount_figure_shows_weights_and_horizon():
    fig = ch00.discount_weights_figure(0.9, max_k=50)
    ax = fig.axes[0]
    line = ax.lines[0]
    np.testing.assert_allclose(line.get_ydata(), 0.9 ** np.arange(51))
    assert ax.lines[1].get_xdata()[0] == pytest.approx(10.0)  # the horizon marker
    assert "0.9" in ax.get_title()
    plt.close(fig)
    with pytest.raises(ValueError, match="max_k"):
        ch00.discount_weights_figure(0.9, max_k=0)


def test_discount_explorer_slider_drives_the_figure():
    w = ch00.discount_explorer(gamma=0.5)
    slider = w.children[0]
    assert slider.value == 0.5 and slider.min == 0.0 and slider.max == 0.99
    with pytest.raises(ValueError, match="gamma"):
        ch00.discount_explorer(gamma=2.0)
    plt.close("all")

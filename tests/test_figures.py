"""Which saved figures are the same on every machine, and the check that they are.

A figure drawn from closed-form math, exact tabular computations, environment facts or
fixed-seed NumPy sampling comes out pixel for pixel the same on any CPU: it is compared with the
committed one. A figure drawn from training (torch or BLAS kernels: learning curves, trained
critics, sweeps) differs in its last digits from CPU to CPU, like the numbers printed under
``NBVAL_IGNORE_OUTPUT``: the notebook must still write it, but it is not compared. Each figure
is classified here with its reason, so a new figure cannot join the course unclassified.

The test run writes figures into a temporary folder (``tests/conftest.py``); the committed
``figures/`` are what the notebooks wrote when they were last executed and committed.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import matplotlib.image as mpimg
import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
FIGURES = ROOT / "figures"
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))

EXACT = {
    "ch00_cartpole_frames": "CartPole frames from a fixed-seed episode of a scripted policy",
    "ch00_discount_weights": "closed form: γ^k and 1/(1−γ)",
    "ch01_mc_gradient_convergence": "exact policy gradient of a tiny MDP; NumPy sampling",
    "ch01_pg_estimates": "fixed-seed NumPy Monte-Carlo estimates on the tiny MDP",
    "ch02_nstep_estimates": "tabular TD on the random walk, NumPy only",
    "ch02_nstep_rms_vs_alpha": "tabular TD on the random walk, NumPy only",
    "ch02_td_mc_alpha": "tabular TD/MC on the random walk, NumPy only",
    "ch02_td_vs_mc": "tabular TD/MC on the random walk, NumPy only",
    "ch03_advantage": "exact tabular Q, V, A on the slippery corridor",
    "ch03_delta_bias": "exact bias of δ (linear solves) and NumPy-sampled episodes",
    "ch03_delta_bias_split": "exact bias of δ (linear solves)",
    "ch03_kstep_bias_variance": "exact bias and variance of k-step estimators (linear solves)",
    "ch04_gae_weights": "closed form: (γλ)^l",
    "ch04_bias_variance_lambda": "exact bias², variance, MSE of GAE (linear solves)",
    "ch04_best_lambda_vs_critic_error": "exact MSE-optimal λ (linear solves)",
    "ch06_clip_objective": "closed form: PPO's clipped objective against the ratio",
    "ch06_importance_sampling": "exact bandit values and fixed-seed NumPy sampling",
    "ch07_gaussian_actions": "fixed-seed NumPy samples of a Gaussian and exact densities",
    "ch08_moving_average": "the WTI price series and its moving averages",
}
FROM_TRAINING = {
    "ch01_reinforce_cartpole": "REINFORCE learning curves (torch)",
    "ch04_cartpole_advantages": "advantages from a critic fitted with torch",
    "ch05_gamma_lambda_map": "175 actor-critic runs",
    "ch05_gamma_rows": "175 actor-critic runs",
    "ch05_lambda_sweep": "actor-critic runs of the λ sweep",
    "ch05_lambda_sweep_runs": "actor-critic runs of the λ sweep",
    "ch06_diagnostics": "PPO runs and their diagnostics",
    "ch06_lambda_sweep_ppo": "PPO runs of the λ sweep (ppo_grid) and actor-critic runs",
    "ch07_pendulum": "PPO + GAE runs on Pendulum-v1 and their greedy episodes",
    "ch08_costs": "trained trading policies under costs",
    "ch08_equity_curves": "trained trading policies",
    "ch09_credit_assignment": "per-token advantages from a trained critic and GRU",
    "ch09_ppo_vs_grpo": "PPO and GRPO training curves",
    "ch10_faq_evidence": "actor-critic runs of the FAQ",
}


def saved_by_notebooks() -> set[str]:
    names = set()
    for path in NOTEBOOKS:
        text = path.read_text(encoding="utf-8")
        names |= set(re.findall(r'save_figure\([^,]+,\s*\\"([a-z0-9_]+)\\"\)', text))
    return names


def exact_figure_problems(folder: Path) -> list[str]:
    """Differences between the exact figures a test run wrote into ``folder`` and the
    committed ones (pixel by pixel); figures from training are only required to exist."""
    problems = []
    for name in sorted(EXACT | FROM_TRAINING):
        new = folder / f"{name}.png"
        if not new.is_file():
            problems.append(f"{name}: not written by the notebooks")
        elif name in EXACT:
            a, b = mpimg.imread(FIGURES / f"{name}.png"), mpimg.imread(new)
            if a.shape != b.shape:
                problems.append(f"{name}: size {b.shape[:2]} instead of {a.shape[:2]}")
            elif not np.array_equal(a, b):
                frac = float(np.mean(np.any(a != b, axis=-1)))
                problems.append(f"{name}: {frac:.2%} of its pixels differ from the committed one")
    return problems


def test_every_figure_is_classified_once():
    assert not EXACT.keys() & FROM_TRAINING.keys()
    classified = EXACT.keys() | FROM_TRAINING.keys()
    committed = {p.stem for p in FIGURES.glob("*.png")}
    saved = saved_by_notebooks()
    assert saved, "no save_figure call found in the notebooks"
    assert saved == classified, (
        f"unclassified: {sorted(saved - classified)}; classified but never saved: "
        f"{sorted(classified - saved)}"
    )
    assert committed == saved, f"committed figures {sorted(committed ^ saved)} do not match"


def test_the_session_writes_figures_elsewhere():
    folder = Path(os.environ["GAELIB_FIGURES_DIR"]).resolve()
    assert folder != FIGURES.resolve(), "a test run must not write into figures/"


def test_comparison_catches_a_changed_figure(tmp_path):
    """The comparison is not blind: a copy of the figures passes, one changed pixel fails."""
    for name in EXACT | FROM_TRAINING:
        (tmp_path / f"{name}.png").write_bytes((FIGURES / f"{name}.png").read_bytes())
    assert exact_figure_problems(tmp_path) == []
    name = sorted(EXACT)[0]
    img = mpimg.imread(tmp_path / f"{name}.png").copy()
    img[0, 0, 0] = 1.0 - img[0, 0, 0]
    mpimg.imsave(tmp_path / f"{name}.png", img)
    problems = exact_figure_problems(tmp_path)
    assert len(problems) == 1 and problems[0].startswith(f"{name}: ") and "differ" in problems[0]


@pytest.mark.after_notebooks
def test_exact_figures_match_after_this_run(request):
    """After nbval has executed every notebook in this session, the exact figures it wrote
    equal the committed ones."""
    ran = {Path(str(it.path)).name for it in request.session.items if it.path.suffix == ".ipynb"}
    if ran != {p.name for p in NOTEBOOKS}:
        pytest.skip("the notebooks were not all executed in this session")
    problems = exact_figure_problems(Path(os.environ["GAELIB_FIGURES_DIR"]))
    assert not problems, "\n".join(problems)

"""Slider latency: how long the kernel takes to answer one step of each explorer's slider.

For every explorer in the modules of :mod:`gaelib.widgets` that has an entry in :data:`REGISTRY`,
this builds the real ``ipywidgets.interactive`` (with the data its chapter builds), then moves each
of its controls one step — setting ``.value`` to the neighbouring option, back and forth — and times
what the kernel does in response: the explorer's recompute, the redraw and the PNG encode,
under matplotlib's inline backend (``plt.show()`` renders the PNG through IPython's display
formatter exactly as in a notebook; the display output is captured, so nothing prints). Not
included: sending the PNG to the browser and the browser painting it (~50 ms more end to end,
see ``tests/test_browser.py``).

The course's target (CONVENTIONS §2, the slider issue): every slider ≤ 50 ms median on 2
cores. This script reports what it measures; it does not assert on wall time.

Adding a chapter's slider is one entry: ``(explorer name, builder)`` where the builder returns
the explorer widget, built from the same data as in the chapter's notebook.

Run: ``.venv/bin/python benchmarks/slider_latency.py [--repeats 30] [--only NAME ...]``
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from collections.abc import Callable
from typing import Any

import matplotlib

matplotlib.use("module://matplotlib_inline.backend_inline")

import numpy as np  # noqa: E402
from IPython.core.interactiveshell import InteractiveShell  # noqa: E402
from IPython.utils.capture import capture_output  # noqa: E402
from matplotlib_inline.backend_inline import configure_inline_support  # noqa: E402

import gaelib  # noqa: E402
from gaelib.widgets import ch00, ch01, ch02, ch03, ch04, ch05, ch06, ch07, ch08, ch09
from gaelib.worlds import estimators, mdp, pg_toy

# ------------------------------------------------------------------------- registry
# One entry per explorer: (its name in gaelib.widgets.chNN, a builder returning the widget).
# Builders use the data of the chapter's notebook (same sizes), seeded.


def _discount() -> Any:
    return ch00.discount_explorer(gamma=0.9)


def _pg_estimates() -> Any:
    gaelib.seed_everything(0)
    tiny = pg_toy.make_tiny_mdp(seed=0)
    theta = np.array([0.3, -0.5, 0.2, 0.1])
    data = ch01.precompute_pg_estimates(tiny, theta, n_batches=200, max_n=1024, seed=1)
    return ch01.pg_estimates_explorer(data)


def _td_mc() -> Any:
    rng = gaelib.seed_everything(0)
    walk = gaelib.random_walk_episodes(100, 100, rng)
    alphas = [0.005, 0.01, 0.02, 0.03, 0.04, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3]
    return ch02.td_mc_explorer(gaelib.nstep_td_prediction(walk, alphas, [1, None]), alpha=0.1)


def _nstep() -> Any:
    rng = gaelib.seed_everything(0)
    walk = gaelib.random_walk_episodes(10, 100, rng)
    alphas = [0.01, 0.025] + [round(0.05 * i, 2) for i in range(1, 21)]
    ns = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512]
    return ch02.nstep_explorer(gaelib.nstep_td_prediction(walk, alphas, ns), n=4)


def _corridor_problem() -> Any:
    P, R, pi, terminal, mu0 = mdp.slippery_corridor(9, 0.2, 0.6)
    return estimators.advantage_problem(
        P, R, pi, terminal, 0.9, mu0, seed=0, action_names=("left", "right")
    )


def _delta_bias() -> Any:
    return ch03.delta_bias_explorer(_corridor_problem(), sigma=0.2)


def _kstep() -> Any:
    return ch03.kstep_explorer(_corridor_problem(), sigma=0.3, k_max=30)


def _gae_weights() -> Any:
    return ch04.gae_weights_explorer(gamma=0.99, lam=0.95)


def _trajectory_advantages() -> Any:
    # Chapter 4 draws one CartPole episode of a trained critic; the update's cost grows with
    # the episode's length, so this uses a synthetic episode of CartPole's maximum, 500 steps.
    rng = gaelib.seed_everything(0)
    T = 500
    values = np.linspace(60.0, 5.0, T) + rng.normal(0.0, 3.0, T)
    next_values = np.append(values[1:], 0.5)
    terminated = np.zeros(T, dtype=bool)
    terminated[-1] = True
    traj = ch04.Trajectory(np.ones(T), values, next_values, terminated, np.zeros(T, bool))
    return ch04.trajectory_advantages_explorer(traj, gamma=0.99, lam=0.95)


def _bias_variance() -> Any:
    P, R, pi, terminal = mdp.random_walk_mdp(19)
    mu0 = np.zeros(21)
    mu0[10] = 1.0
    z = np.random.default_rng(0).normal(size=21)
    z[[0, 20]] = 0.0
    problem = estimators.CriticErrorProblem(P, R, pi, terminal, mu0, z)
    return ch04.bias_variance_explorer(problem, sigma=0.2, gamma=0.99)


def _moving_average() -> Any:
    from gaelib.worlds import stock

    dates, wti = stock.load_prices("wti", with_dates=True)
    split = int(np.searchsorted(dates, np.datetime64("2016-01-01")))
    return ch08.moving_average_explorer(wti[:split], n=20)


def _trading_costs() -> Any:
    # Chapter 8 replays buy-and-hold, momentum and a trained policy on the held-out WTI years;
    # the update's cost does not depend on which positions, so a random 0/1 sequence stands in
    # for the trained policy.
    from gaelib.worlds import stock

    dates, wti = stock.load_prices("wti", with_dates=True)
    split = int(np.searchsorted(dates, np.datetime64("2016-01-01")))
    q = wti[split:]
    positions = {
        "buy & hold": np.ones(len(q) - 1),
        "momentum (20-day MA)": stock.momentum_positions(wti, 20)[split:-1],
        "policy": (np.random.default_rng(0).random(len(q) - 1) < 0.5).astype(float),
    }
    return ch08.trading_costs_explorer(q, positions, cost=0.001)


def _credit_assignment() -> Any:
    # Chapter 9 draws one 6-token text with a trained critic's values; the update's cost does
    # not depend on the numbers, so fixed ones of the same size stand in for the training run.
    values = np.array([0.86, 0.9, 0.9, 0.76, 0.83, 0.82])
    rewards = np.array([0.0, 0.0, 0.0, 0.0, 0.0, 0.8])
    labels = ("d", "e", "a", "b", "c", "EOS")
    credit = ch09.CreditAssignment(labels, rewards, values, np.full(6, -2.6), 2)
    return ch09.credit_assignment_explorer(credit, lam=0.95)


def _grid() -> Any:
    # Chapter 5 trains a 5 γ × 7 λ × 5 seeds grid (about 20 s); the update's cost depends only
    # on the grid's size, so histories of the same size (117 updates each) stand in for it.
    from gaelib.core.history import History

    gen = np.random.default_rng(0)
    steps = np.arange(1, 118) * 250
    grid = {}
    for g in (0.8, 0.9, 0.95, 0.99, 1.0):
        for lam in (0.0, 0.5, 0.8, 0.9, 0.95, 0.98, 1.0):
            grid[(g, lam)] = [
                History(np.ones(5), steps[:5], np.cumsum(gen.random(117)), steps, 0.1, None)
                for _ in range(5)
            ]
    return ch05.grid_explorer(grid, gamma=0.99)


def _diagnostics() -> Any:
    # Chapter 6 trains four PPO runs of 58 updates; the redraw's cost depends only on their
    # size, so histories of the same size with made-up diagnostics stand in for them.
    from gaelib.core.history import History

    gen = np.random.default_rng(0)
    n = 58
    steps = np.arange(1, n + 1) * 256
    keys = ("approx_kl", "clip_fraction", "entropy", "explained_variance", "value_loss")
    runs = {
        name: History(
            np.ones(5),
            steps[:5],
            np.cumsum(gen.random(n)),
            steps,
            0.1,
            None,
            diagnostics={k: gen.random(n) for k in keys},
        )  # fmt: skip
        for name in ("PPO defaults", "learning rate ×30", "no clip (ε = 10)", "no ratio")
    }
    return ch06.diagnostics_explorer(runs)


def _gaussian() -> Any:
    return ch07.gaussian_explorer(mean=0.0, log_std=0.0)


REGISTRY: list[tuple[str, Callable[[], Any]]] = [
    ("discount_explorer", _discount),  # chapter 0
    ("pg_estimates_explorer", _pg_estimates),  # chapter 1
    ("td_mc_explorer", _td_mc),  # chapter 2: α
    ("nstep_explorer", _nstep),  # chapter 2: n
    ("delta_bias_explorer", _delta_bias),  # chapter 3
    ("kstep_explorer", _kstep),  # chapter 3
    ("gae_weights_explorer", _gae_weights),  # chapter 4
    ("trajectory_advantages_explorer", _trajectory_advantages),  # chapter 4
    ("bias_variance_explorer", _bias_variance),  # chapter 4
    ("grid_explorer", _grid),  # chapter 5: γ
    ("diagnostics_explorer", _diagnostics),  # chapter 6: run
    ("gaussian_explorer", _gaussian),  # chapter 7: μ, log σ
    ("moving_average_explorer", _moving_average),  # chapter 8: n
    ("trading_costs_explorer", _trading_costs),  # chapter 8: cost
    ("credit_assignment_explorer", _credit_assignment),  # chapter 9: λ
]


# ------------------------------------------------------------------------ measuring


def _setup_kernel_like_shell() -> None:
    """An IPython shell whose display formatter renders figures as the inline backend does."""
    shell = InteractiveShell.instance()
    configure_inline_support(shell, "inline")
    gaelib.seed_everything(0)  # torch threads 1, as in every notebook
    gaelib.use_course_style()


def _label(control: Any, value: Any) -> str:
    """How the control shows ``value`` (a selection's label, e.g. n=4 for position 2)."""
    for o in getattr(control, "options", ()):
        if isinstance(o, tuple) and o[1] == value:
            return str(o[0])
    return repr(value)


def _neighbour(control: Any) -> tuple[Any, Any]:
    """The control's current value and the value one step away (up, or down at the end)."""
    if hasattr(control, "options"):
        values = [o[1] if isinstance(o, tuple) else o for o in control.options]
        i = values.index(control.value)
        return control.value, values[i + 1 if i + 1 < len(values) else i - 1]
    up = control.value + control.step
    nxt = up if up <= control.max else control.value - control.step
    return control.value, type(control.value)(round(nxt, 12))


def time_control(explorer: Any, control: Any, repeats: int, warmup: int = 2) -> dict:
    """Move ``control`` one step back and forth; per move: seconds and PNG bytes shown."""
    a, b = _neighbour(control)
    seconds, sizes = [], []
    for k in range(warmup + repeats):
        target = b if k % 2 == 0 else a
        with capture_output() as cap:
            start = time.perf_counter()
            control.value = target
            elapsed = time.perf_counter() - start
        pngs = [o.data["image/png"] for o in cap.outputs if "image/png" in o.data]
        if len(pngs) != 1:
            raise RuntimeError(
                f"moving {control.description} to {target!r} showed {len(pngs)} PNGs, not 1:\n"
                f"{cap.stdout}{cap.stderr}"
            )
        if k >= warmup:
            seconds.append(elapsed)
            png = pngs[0]
            sizes.append(len(png) * 3 / 4 if isinstance(png, str) else len(png))  # base64
    ms = np.array(seconds) * 1e3
    return {
        "median": float(np.median(ms)),
        "p90": float(np.percentile(ms, 90)),
        "png_kb": float(np.mean(sizes)) / 1024,
        "moves": f"{_label(control, a)} ↔ {_label(control, b)}",
    }


def time_image_control(image: Any, control: Any, repeats: int) -> dict:
    """For an explorer that shows a cached PNG in an ``ipywidgets.Image`` (chapters 6 and 7):
    walk ``control`` through positions not shown before (each a first draw, the slow case;
    a revisit only swaps bytes), timing each move until the image holds the new PNG."""
    values = [o[1] if isinstance(o, tuple) else o for o in getattr(control, "options", ())]
    if not values:  # a float slider: its steps upward from the start, then downward
        n = int(round((control.max - control.min) / control.step))
        values = [round(control.min + i * control.step, 12) for i in range(n + 1)]
    start = control.value
    fresh = [v for v in values if v != start][: repeats + 1]
    seconds, sizes = [], []
    for v in fresh:
        t0 = time.perf_counter()
        control.value = v
        seconds.append(time.perf_counter() - t0)
        sizes.append(len(image.value))
    control.value = start
    ms = np.array(seconds[1:] or seconds) * 1e3  # the first move warms up
    return {
        "median": float(np.median(ms)),
        "p90": float(np.percentile(ms, 90)),
        "png_kb": float(np.mean(sizes)) / 1024,
        "moves": f"{len(ms)} new positions",
    }


def run(repeats: int, only: list[str] | None = None) -> list[dict]:
    rows = []
    for name, build in REGISTRY:
        if only and name not in only:
            continue
        start = time.perf_counter()
        try:
            with capture_output():  # building shows the first figure
                explorer = build()
        except Exception as exc:  # report it in the table, measure the others
            rows.append({"widget": name, "control": "—", "error": f"{type(exc).__name__}: {exc}"})
            continue
        build_s = time.perf_counter() - start
        if not hasattr(explorer, "kwargs_widgets"):  # a VBox of sliders and a cached Image
            image = next(c for c in explorer.children if type(c).__name__ == "Image")
            for control in explorer.children:
                if control is image or not hasattr(control, "value"):
                    continue
                row = {"widget": name, "control": control.description, "build_s": build_s}
                try:
                    row |= time_image_control(image, control, repeats)
                except Exception as exc:
                    row["error"] = f"{type(exc).__name__}: {exc}"
                rows.append(row)
            continue
        for control in explorer.kwargs_widgets:
            row = {"widget": name, "control": control.description, "build_s": build_s}
            try:
                row |= time_control(explorer, control, repeats)
            except Exception as exc:
                row["error"] = f"{type(exc).__name__}: {exc}"
            rows.append(row)
    return rows


def markdown_table(rows: list[dict]) -> str:
    lines = [
        "| widget | control | moves | median ms | p90 ms | PNG kB | data + build s |",
        "|---|---|---|---:|---:|---:|---:|",
    ]
    for r in rows:
        if "error" in r:
            lines.append(f"| {r['widget']} | {r['control']} | error: {r['error']} | | | | |")
            continue
        lines.append(
            f"| {r['widget']} | {r['control']} | {r['moves']} | {r['median']:.1f} | "
            f"{r['p90']:.1f} | {r['png_kb']:.0f} | {r['build_s']:.2f} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=30, help="timed moves per control")
    parser.add_argument("--only", nargs="*", help="explorer names to run (default: all)")
    args = parser.parse_args(argv)
    if args.repeats < 1:
        parser.error("--repeats must be at least 1")
    total = time.perf_counter()
    _setup_kernel_like_shell()
    print(
        f"slider latency: {args.repeats} moves per control (+2 warm-up), inline backend PNG; "
        f"{os.cpu_count()} CPUs, Python {platform.python_version()}, "
        f"matplotlib {matplotlib.__version__}, torch threads 1"
    )
    registered = {name for name, _ in REGISTRY}
    chapters = (ch00, ch01, ch02, ch03, ch04, ch05, ch06, ch07, ch08, ch09)
    explorers = [n for m in chapters for n in m.__all__ if n.endswith("_explorer")]
    missing = [n for n in explorers if n not in registered]
    if missing:
        print(f"not in the registry yet (add one entry each): {', '.join(missing)}")
    rows = run(args.repeats, args.only)
    print()
    print(markdown_table(rows))
    print()
    ok = [r for r in rows if "error" not in r]
    print(f"total run time: {time.perf_counter() - total:.1f} s")
    if ok:
        slow = max(ok, key=lambda r: r["median"])
        print(f"slowest median: {slow['median']:.1f} ms ({slow['widget']} · {slow['control']})")
    else:
        print("slowest median: n/a (no widget measured)")
    return 1 if len(ok) < len(rows) else 0


if __name__ == "__main__":
    sys.exit(main())

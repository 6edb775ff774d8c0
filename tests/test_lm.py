"""Chapter 9 library: per-token rewards and advantages of padded batches, GRPO, the toy task,
the stacked GRU and its hand-written backward pass, lockstep training, the credit-assignment
figure, and a short seeded learning test."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from gaelib import compute_gae
from gaelib.algorithms import grpo, lm_lockstep, token_ppo
from gaelib.widgets import ch09
from gaelib.worlds import lm_model, lm_task
from gaelib.worlds.lm_task import EOS, PAD


def padded_batch(seed: int = 0, B: int = 7, L: int = 6):
    rng = np.random.default_rng(seed)
    lengths = rng.integers(1, L + 1, B)
    lengths[0] = L  # one row fills the whole length
    return rng, lengths, rng.normal(size=B), rng.normal(size=(B, L)), rng.normal(size=(B, L))


# ------------------------------------------------------------------- token_rewards


def test_score_on_last_real_token_not_first_pad():
    scores = np.array([1.0, 2.0, 3.0])
    r = token_ppo.token_rewards(scores, [2, 4, 1], max_len=4)
    want = np.zeros((3, 4))
    want[0, 1], want[1, 3], want[2, 0] = 1.0, 2.0, 3.0
    np.testing.assert_array_equal(r, want)


def test_rewards_zero_on_padding_and_kl_shaped():
    _, lengths, scores, kl, _ = padded_batch()
    kl_garbage = kl.copy()
    mask = lm_task.token_mask(lengths, 6)
    kl_garbage[~mask] = 1e6  # whatever sits on padding is ignored
    r = token_ppo.token_rewards(scores, lengths, kl_garbage, beta=0.1)
    assert np.all(r[~mask] == 0.0)
    for b, n in enumerate(lengths):
        want = -0.1 * kl[b, :n]
        want[n - 1] += scores[b]
        np.testing.assert_allclose(r[b, :n], want)


def test_rewards_torch_in_torch_out():
    r = token_ppo.token_rewards(
        torch.tensor([1.0, 0.5]), torch.tensor([1, 3]), torch.ones(2, 3), beta=0.5
    )
    assert isinstance(r, torch.Tensor) and r.shape == (2, 3)
    np.testing.assert_allclose(r.numpy(), [[0.5, 0, 0], [-0.5, -0.5, 0.0]])


# --------------------------------------------------------------- token_advantages


def literal_gae(r, v, boot, gamma, lam):
    """The GAE sum written out term by term for one unpadded sequence (not the recursion)."""
    n = len(r)
    nxt = np.append(v[1:], boot)
    delta = r + gamma * nxt - v
    return np.array(
        [sum((gamma * lam) ** k * delta[t + k] for k in range(n - t)) for t in range(n)]
    )


@pytest.mark.parametrize("gamma,lam", [(1.0, 0.95), (1.0, 0.0), (1.0, 1.0), (0.9, 0.7)])
def test_advantages_match_compute_gae_one_sequence_at_a_time(gamma, lam):
    _, lengths, scores, kl, values = padded_batch(seed=1)
    r = token_ppo.token_rewards(scores, lengths, kl, beta=0.2)
    adv, ret = token_ppo.token_advantages(r, values, lengths, gamma=gamma, lam=lam)
    for b, n in enumerate(lengths):
        term = np.zeros(n, bool)
        term[-1] = True  # EOS: terminated, no bootstrap after it
        nv = np.append(values[b, 1:n], 123.0)  # ignored because terminated
        want = compute_gae(r[b, :n], values[b, :n], nv, term, gamma=gamma, lam=lam)
        np.testing.assert_allclose(adv[b, :n], want, atol=1e-12)
        np.testing.assert_allclose(
            adv[b, :n], literal_gae(r[b, :n], values[b, :n], 0.0, gamma, lam)
        )
        np.testing.assert_allclose(ret[b, :n], want + values[b, :n], atol=1e-12)
        assert np.all(adv[b, n:] == 0.0) and np.all(ret[b, n:] == 0.0)


def test_truncated_sequences_bootstrap_from_the_critic():
    _, lengths, scores, kl, values = padded_batch(seed=2)
    truncated = np.zeros(len(lengths), bool)
    truncated[0] = True  # the full-length row was cut, its text goes on
    truncated[3] = True
    boot = np.arange(len(lengths)) - 2.5
    r = token_ppo.token_rewards(scores, lengths, kl, beta=0.1)
    adv, _ = token_ppo.token_advantages(
        r, values, lengths, lam=0.9, truncated=truncated, bootstrap_values=boot
    )
    for b, n in enumerate(lengths):
        flag = np.zeros(n, bool)
        flag[-1] = True
        nv = np.append(values[b, 1:n], boot[b])
        kw = (
            {"truncated": flag, "terminated": np.zeros(n, bool)}
            if truncated[b]
            else {"terminated": flag}
        )
        want = compute_gae(r[b, :n], values[b, :n], nv, gamma=1.0, lam=0.9, **kw)
        np.testing.assert_allclose(adv[b, :n], want, atol=1e-12)
        oracle = literal_gae(r[b, :n], values[b, :n], boot[b] if truncated[b] else 0.0, 1.0, 0.9)
        np.testing.assert_allclose(adv[b, :n], oracle, atol=1e-12)
    assert not np.allclose(adv[3], token_ppo.token_advantages(r, values, lengths, lam=0.9)[0][3])


def test_advantages_zero_on_padding_whatever_values_hold_there():
    _, lengths, scores, _, values = padded_batch(seed=3)
    mask = lm_task.token_mask(lengths, 6)
    garbage = values.copy()
    garbage[~mask] = 1e3
    r = token_ppo.token_rewards(scores, lengths, max_len=6)
    a1, _ = token_ppo.token_advantages(r, values, lengths)
    a2, _ = token_ppo.token_advantages(r, garbage, lengths)
    np.testing.assert_array_equal(a1, a2)
    assert np.all(a1[~mask] == 0.0)


def test_advantages_torch_detached():
    v = torch.randn(2, 3, requires_grad=True)
    adv, ret = token_ppo.token_advantages(torch.zeros(2, 3), v, torch.tensor([3, 2]))
    assert isinstance(adv, torch.Tensor) and not adv.requires_grad and not ret.requires_grad


# ----------------------------------------------------- group-relative advantages


def test_group_relative_advantages_properties():
    rng = np.random.default_rng(4)
    scores = rng.normal(size=12)
    scores[4:8] = 0.3  # a constant group
    lengths = rng.integers(1, 7, 12)
    a = grpo.group_relative_advantages(scores, 4, lengths, max_len=6)
    seq = grpo.group_relative_advantages(scores, 4)
    assert np.all(np.isfinite(a))
    np.testing.assert_array_equal(seq[4:8], 0.0)  # constant group → zeros, not NaN
    np.testing.assert_allclose(seq.reshape(3, 4).mean(1), 0.0, atol=1e-12)  # zero mean
    for b in range(12):
        np.testing.assert_array_equal(a[b, : lengths[b]], seq[b])  # same value on every token
        assert np.all(a[b, lengths[b] :] == 0.0)  # zero on padding
    g = scores[:4]
    np.testing.assert_allclose(seq[:4], (g - g.mean()) / (g.std() + 1e-4))
    # unit std within a non-constant group (up to ε)
    np.testing.assert_allclose(seq[:4].std(), 1.0, rtol=1e-3)


def test_group_advantages_do_not_depend_on_other_groups():
    s = np.array([0.0, 1.0, 100.0, 300.0])
    np.testing.assert_allclose(grpo.group_relative_advantages(s, 2), [-1, 1, -1, 1], atol=1e-3)


# ------------------------------------------------------------------ validation


@pytest.mark.parametrize(
    "call,name",
    [
        (lambda: token_ppo.token_rewards([1.0, 2.0], [1, 5], np.zeros((2, 4))), "lengths"),
        (lambda: token_ppo.token_rewards([1.0, 2.0], [0, 2], np.zeros((2, 4))), "lengths"),
        (lambda: token_ppo.token_rewards([1.0, 2.0], [1, 2, 3], np.zeros((2, 4))), "lengths"),
        (lambda: token_ppo.token_rewards([1.0, 2.0], [1.5, 2], np.zeros((2, 4))), "lengths"),
        (lambda: token_ppo.token_rewards([1.0, np.nan], [1, 2], np.zeros((2, 4))), "scores"),
        (lambda: token_ppo.token_rewards([[1.0, 2.0]], [1, 2], np.zeros((2, 4))), "scores"),
        (lambda: token_ppo.token_rewards([1.0, 2.0], [1, 2], np.zeros((3, 4))), "kl"),
        (lambda: token_ppo.token_rewards([1.0, 2.0], [1, 2], np.zeros(4)), "kl"),
        (lambda: token_ppo.token_rewards([1.0, 2.0], [1, 2], np.zeros((2, 4)), beta=-1), "beta"),
        (lambda: token_ppo.token_advantages(np.zeros((2, 3)), np.zeros((2, 4)), [1, 2]), "values"),
        (
            lambda: token_ppo.token_advantages(np.zeros((2, 3)), np.zeros((2, 3)), [1, 2], lam=2),
            "lam",
        ),
        (
            lambda: token_ppo.token_advantages(
                np.zeros((2, 3)), np.zeros((2, 3)), [1, 2], gamma=-1
            ),
            "gamma",
        ),
        (
            lambda: token_ppo.token_advantages(
                np.zeros((2, 3)), np.zeros((2, 3)), [1, 2], truncated=[1, 0]
            ),
            "bootstrap_values",
        ),
        (
            lambda: token_ppo.token_advantages(
                np.zeros((2, 3)), np.zeros((2, 3)), [1, 2], truncated=[2, 0]
            ),
            "truncated",
        ),
        (lambda: grpo.group_relative_advantages([1.0, 2.0, 3.0], 2), "group_size"),
        (lambda: grpo.group_relative_advantages([1.0, 2.0], 1), "group_size"),
        (lambda: grpo.group_relative_advantages([1.0, 2.0], 2, eps=0.0), "eps"),
        (lambda: grpo.group_relative_advantages([1.0, np.inf], 2), "scores"),
        (lambda: lm_task.token_mask([1, 2], 0), "max_len"),
        (lambda: lm_lockstep.train_lm("a2c", None, lm_task.CountingTask()), "method"),
    ],
)
def test_value_errors_name_the_argument(call, name):
    with pytest.raises(ValueError, match=name):
        call()


# ------------------------------------------------------------------- the toy task


def test_sequence_lengths_and_task_score():
    task = lm_task.CountingTask()
    c = 4  # the letter 'c'
    perfect = task.perfect(c)
    assert task.decode(c, perfect) == "c|defab."
    L = task.max_len
    rows = np.full((4, L), PAD)
    rows[0, : len(perfect)] = perfect
    wrong = perfect.copy()
    wrong[2] = task.next_letter(wrong[2])  # one wrong letter, the count continues from it
    for i in (3, 4):
        wrong[i] = task.next_letter(wrong[i - 1])
    rows[1, : len(wrong)] = wrong
    rows[2, :2] = [task.next_letter(c), EOS]  # 1 letter: 4 too short
    rows[3] = 2 + (np.arange(L) + 3) % 6  # 8 correct letters, no EOS: cut at max_len
    np.testing.assert_array_equal(lm_task.sequence_lengths(rows), [6, 6, 2, L])
    np.testing.assert_allclose(
        task.score(np.full(4, c), rows), [1.0, 0.8, (1 - 8) / 5, (8 - 6) / 5]
    )
    p, t = task.noisy_corpus(50, np.random.default_rng(0))
    n = lm_task.sequence_lengths(t)
    assert np.all((n >= 4) & (n <= 8)) and np.all(t[np.arange(50), n - 1] == EOS)


# ------------------------------------------------------------ the credit figure


def credit():
    return ch09.CreditAssignment(
        ("d", "e", "a", "b", "c", "EOS"),
        np.array([0.0, 0, 0, 0, 0, 0.8]),
        np.array([0.86, 0.9, 0.9, 0.76, 0.83, 0.82]),
        np.full(6, -2.6),
        2,
    )


def test_credit_figure_draws_the_gae_advantages():
    c = credit()
    fig = ch09.credit_assignment_figure(c, 0.0)
    heights = [p.get_height() for p in fig.axes[0].patches]
    want = np.append(np.diff(c.values), 0.8 - c.values[-1])  # λ=0: δ_t, γ=1
    np.testing.assert_allclose(heights, want, atol=1e-12)
    assert "wrong token" in fig.axes[0].get_title()
    np.testing.assert_allclose([p.get_height() for p in fig.axes[1].patches], -2.6)
    plt.close(fig)
    fig = ch09.credit_assignment_grid(c)
    assert len(fig.axes) == 5 and fig._suptitle is None
    plt.close(fig)
    fig = ch09.credit_assignment_grid(c, title="which critic")
    assert fig._suptitle.get_text() == "which critic"
    plt.close(fig)
    with pytest.raises(ValueError, match="title"):
        ch09.credit_assignment_grid(c, title=3)
    with pytest.raises(ValueError, match="lam"):
        ch09.credit_assignment_figure(c, 1.5)


def test_credit_explorer_redraws():
    pytest.importorskip("ipywidgets")
    ex = ch09.credit_assignment_explorer(credit(), lam=0.95)
    slider = ex.kwargs_widgets[0]
    slider.value = 0.0
    slider.value = 1.0
    with pytest.raises(ValueError, match="lam"):
        ch09.credit_assignment_explorer(credit(), lam=0.3)


# ------------------------------------------------- the stacked GRU and the lockstep


def test_gru_stack_computes_what_each_token_gru_computes_forward_and_backward():
    torch.manual_seed(0)
    for n_out in (8, 1):
        nets = [lm_model.TokenGRU(8, n_out) for _ in range(3)]
        stack = lm_model.GRUStack(nets)
        x = torch.randint(1, 8, (3, 5, 7))
        h0 = torch.randn(3, 5, 32)
        y, h = stack(x, h0)
        weights = torch.randn(y.shape)
        weights[y < -1e8] = 0  # the PAD logits are -1e9 in both
        (y * weights).sum().backward()
        for r, net in enumerate(nets):
            y_r, h_r = net(x[r], h0[r][None])
            (y_r * weights[r]).sum().backward()
            torch.testing.assert_close(y[r], y_r, atol=1e-5, rtol=1e-5)
            torch.testing.assert_close(h[r], h_r[0], atol=1e-5, rtol=1e-5)
            grads = {
                "emb": net.emb.weight.grad,
                "w_ih": net.gru.weight_ih_l0.grad,
                "w_hh": net.gru.weight_hh_l0.grad,
                "b_ih": net.gru.bias_ih_l0.grad,
                "b_hh": net.gru.bias_hh_l0.grad,
                "w_head": net.head.weight.grad,
                "b_head": net.head.bias.grad,
            }
            for name, g in grads.items():
                torch.testing.assert_close(getattr(stack, name).grad[r], g, atol=1e-4, rtol=1e-4)


def test_hand_written_backward_of_the_recurrence_passes_gradcheck():
    from gaelib.worlds.lm_model import _GRURecurrence

    gen = torch.Generator().manual_seed(1)
    R, B, T, H = 2, 3, 4, 5
    args = [
        torch.randn(R, B, T, 3 * H, generator=gen, dtype=torch.float64),
        torch.randn(R, B, H, generator=gen, dtype=torch.float64),
        torch.randn(R, 3 * H, H, generator=gen, dtype=torch.float64),
        torch.randn(R, 3 * H, generator=gen, dtype=torch.float64),
    ]
    assert torch.autograd.gradcheck(_GRURecurrence.apply, [a.requires_grad_() for a in args])


def test_gru_stack_round_trip_and_errors():
    torch.manual_seed(2)
    nets = [lm_model.TokenGRU(8, 8) for _ in range(2)]
    back = lm_model.GRUStack(nets).to_modules()
    for a, b in zip(nets, back, strict=True):
        for (k, v), w in zip(a.state_dict().items(), b.state_dict().values(), strict=True):
            assert torch.equal(v, w), k
    with pytest.raises(ValueError, match="nets"):
        lm_model.GRUStack([])
    with pytest.raises(ValueError, match="nets"):
        lm_model.GRUStack([lm_model.TokenGRU(8, 8), lm_model.TokenGRU(8, 1)])
    with pytest.raises(ValueError, match="inputs"):
        lm_model.GRUStack(nets)(torch.ones(3, 4, 5, dtype=torch.long))  # 3 runs for a stack of 2


def test_per_run_gradient_clipping_is_torchs_clip_grad_norm_run_by_run():
    from gaelib.algorithms.lm_lockstep import _clip_grad_norms

    torch.manual_seed(3)
    pols, vals = (
        [lm_model.TokenGRU(8, 8) for _ in range(3)],
        [lm_model.TokenGRU(8, 1) for _ in range(2)],
    )
    policy, value = lm_model.GRUStack(pols), lm_model.GRUStack(vals)
    ppo = torch.tensor([0, 2])  # runs 0 and 2 have critics, run 1 (GRPO) has none
    for net in (policy, value):
        for k, p in enumerate(net.parameters()):
            p.grad = torch.randn(p.shape) * (0.01 if k % 2 else 0.5)
    policy.w_hh.grad[1] *= 1e-4  # run 1's gradient is small: left alone
    want = []
    for r in range(3):
        grads = [p.grad[r].clone() for p in policy.parameters()]
        if r in (0, 2):
            grads += [p.grad[[0, 2].index(r)].clone() for p in value.parameters()]
        total = torch.sqrt(sum((g * g).sum() for g in grads))
        coef = min(1.0, 1.0 / (float(total) + 1e-6))
        want.append([g * coef for g in grads])
    _clip_grad_norms(policy, value, ppo)
    for r in range(3):
        got = [p.grad[r] for p in policy.parameters()]
        if r in (0, 2):
            got += [p.grad[[0, 2].index(r)] for p in value.parameters()]
        for g, w in zip(got, want[r], strict=True):
            torch.testing.assert_close(g, w, atol=1e-6, rtol=1e-5)


def test_lockstep_runs_are_the_single_runs():
    task = lm_task.CountingTask()
    ref = lm_model.pretrain_reference(task, seed=0, steps=30)
    kw = {"iterations": 3, "value_warmup": 5}
    both = lm_lockstep.train_lm_lockstep(ref, task, methods=("ppo", "grpo"), seeds=(0, 1), **kw)
    assert list(both) == ["ppo", "grpo"] and all(len(v) == 2 for v in both.values())
    # the budgets: the same sampled texts for both; only PPO's critic sees warm-up texts
    for m, warm in (("ppo", 5 * lm_lockstep.WARMUP_BATCH), ("grpo", 0)):
        for h in both[m]:
            assert h.sequences[-1] == 3 * 8 * 8 and h.config["warmup_texts"] == warm
    assert both["grpo"][0].value is None and isinstance(both["ppo"][1].value, lm_model.TokenGRU)
    for m in ("ppo", "grpo"):
        for i, seed in enumerate((0, 1)):
            one, h = lm_lockstep.train_lm(m, ref, task, seed=seed, **kw), both[m][i]
            assert h.config["seed"] == seed and h.method == m
            np.testing.assert_allclose(one.mean_score, h.mean_score, atol=0.05)
            np.testing.assert_allclose(one.kl, h.kl, atol=1e-3)
            for a, b in zip(one.policy.parameters(), h.policy.parameters(), strict=True):
                torch.testing.assert_close(a, b, atol=1e-3, rtol=1e-3)
    # different seeds are different runs
    assert not np.array_equal(both["grpo"][0].kl, both["grpo"][1].kl)


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"methods": ("ppo", "a2c")}, "methods"),
        ({"methods": ("ppo", "ppo")}, "methods"),
        ({"methods": ()}, "methods"),
        ({"seeds": (0, 0)}, "seeds"),
        ({"seeds": (-1,)}, "seeds"),
        ({"seeds": (1.5,)}, "seeds"),
        ({"iterations": 0}, "iterations"),
        ({"minibatches": 65}, "minibatches"),
        ({"lam": 1.5}, "lam"),
        ({"value_warmup": -1}, "value_warmup"),
        ({"value_warmup": 2.5}, "value_warmup"),
    ],
)
def test_lockstep_value_errors_name_the_argument(kwargs, name):
    task = lm_task.CountingTask()
    with pytest.raises(ValueError, match=name):
        lm_lockstep.train_lm_lockstep(
            lm_model.TokenGRU(task.vocab_size, task.vocab_size), task, **kwargs
        )
    with pytest.raises(ValueError, match="reference"):
        lm_lockstep.train_lm_lockstep(None, task)


def test_clipped_surrogate_is_a_token_mean_not_a_sequence_mean():
    """Every real token weighs 1 / (real tokens in the minibatch), whatever its text's length
    (DeepSeekMath's GRPO objective would weigh a token of text i by 1 / (G |o_i|))."""
    mask = torch.tensor([[[1.0, 1, 1, 1, 1, 1], [1, 1, 0, 0, 0, 0]]])  # texts of 6 and 2 tokens
    adv = torch.tensor([[[-1.0] * 6, [-1.0] * 6]]) * mask  # the same advantage on both
    ratio = torch.ones_like(adv, requires_grad=True)
    loss = token_ppo.clipped_surrogate(ratio, adv, mask, 0.2)
    loss.sum().backward()
    np.testing.assert_allclose(loss.detach().numpy(), [1.0])
    np.testing.assert_allclose(ratio.grad.numpy(), (-adv * mask / mask.sum()).numpy())
    long_tok, short_tok = ratio.grad[0, 0, 0], ratio.grad[0, 1, 0]
    assert long_tok == short_tok  # a per-sequence mean would make the long text's token 3x lighter
    # outside the clip range on the side the advantage pushes, no gradient
    ratio = torch.full_like(adv, 0.5, requires_grad=True)
    token_ppo.clipped_surrogate(ratio, adv, mask, 0.2).sum().backward()
    assert torch.all(ratio.grad == 0)


# --------------------------------------------------------------- learning test


def test_ppo_gae_and_grpo_each_clearly_improve_the_mean_score():
    task = lm_task.CountingTask()
    ref = lm_model.pretrain_reference(task, seed=0, steps=100)
    before, _ = lm_model.evaluate_score(ref, task, n=1024, seed=5)
    runs = lm_lockstep.train_lm_lockstep(
        ref, task, methods=("ppo", "grpo"), seeds=(0,), iterations=25
    )
    for method, (h,) in runs.items():
        after, _ = lm_model.evaluate_score(h.policy, task, n=1024, seed=5)
        assert after > before + 0.3, (method, before, after)
        assert np.all(np.isfinite(h.kl)) and h.sequences[-1] == 25 * 64

r"""Chapter 9: training the tiny language model — PPO with GAE over token positions, or GRPO.

The task is :mod:`gaelib.worlds.lm_task` and the networks :mod:`gaelib.worlds.lm_model`;
PPO's per-token rewards and advantages are :mod:`gaelib.algorithms.token_ppo`, GRPO's
:mod:`gaelib.algorithms.grpo`.

:func:`train_lm_lockstep` trains several runs (methods × seeds) at once: every run keeps its
own weights, optimiser state, random stream and data, but their networks are stacked
(:class:`gaelib.worlds.lm_model.GRUStack`) so that one batched matrix product per token step serves
all of them, and the GRU recurrence has a hand-written backward pass. :func:`train_lm` is one run of
it.

**Budgets.** Every run samples ``iterations × prompts_per_batch × group_size`` texts from its
policy (``LMHistory.sequences``). A PPO run's critic is also fitted, before training, to the
scores of ``WARMUP_BATCH × value_warmup`` offline texts (``LMHistory.config["warmup_texts"]``;
0 for GRPO).

**The objective.** Both methods take PPO-clip steps on the token mean over the real tokens
(mask :math:`m`) of :func:`gaelib.algorithms.token_ppo.clipped_surrogate`,

.. math::
    -\frac{1}{\sum_{b,t} m_{b,t}}\sum_{b,t} m_{b,t}\,
    \min\big(\rho_{b,t}\hat A_{b,t},\ \operatorname{clip}(\rho_{b,t}, 1 \pm \epsilon)
    \hat A_{b,t}\big),

with PPO's GAE advantages over token positions plus a critic loss, or GRPO's
group-relative advantages plus a KL penalty to the reference (:func:`train_lm_lockstep`
writes out both).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
import torch

from ..core._validate import check_positive_int, check_unit_interval
from ..core.seeding import seed_everything
from ..worlds.lm_model import GRUStack, TokenGRU, model_inputs, sample_stack, stack_log_probs
from ..worlds.lm_task import CountingTask, sequence_lengths, token_mask
from .grpo import group_relative_advantages
from .token_ppo import clipped_surrogate, token_advantages, token_rewards

__all__ = ["WARMUP_BATCH", "LMHistory", "train_lm_lockstep", "train_lm"]


WARMUP_BATCH = 256  # texts per warm-up step of a PPO critic


@dataclass
class LMHistory:
    """One run of :func:`train_lm`: per iteration, the batch's mean score and mean KL
    :math:`\\sum_t \\log\\pi(y_t) - \\log\\pi_{\\text{ref}}(y_t)` per sequence."""

    method: str
    mean_score: np.ndarray
    kl: np.ndarray
    sequences: np.ndarray
    wall_time: float  # seconds of the training call (the whole lockstep, shared by its runs)
    policy: TokenGRU
    value: TokenGRU | None = None
    config: dict = field(default_factory=dict)

    def final_score(self, n: int = 10) -> float:
        return float(self.mean_score[-n:].mean())


def _warm_up_critics(value: GRUStack, task: CountingTask, steps: int, seeds) -> None:
    """Fit each critic's :math:`V(s_t)` to the score of ``WARMUP_BATCH × steps`` offline texts:
    fresh draws of :meth:`CountingTask.noisy_corpus` (not samples of any policy; critic ``r``
    has its own corpus from ``seeds[r]``), each scored by the task — texts and scores a GRPO
    run never gets. The toy's version of InstructGPT initialising the value model from the
    reward model, so the critic starts out knowing what a mistake costs."""
    R, L = len(seeds), task.max_len
    data = [
        task.noisy_corpus(WARMUP_BATCH * steps, np.random.default_rng(s + 10_000)) for s in seeds
    ]
    prompts = torch.as_tensor(np.stack([p for p, _ in data]))  # [R, N]
    tokens = np.stack([t for _, t in data])  # [R, N, L]
    target = torch.as_tensor(
        np.stack([task.score(p, t) for p, t in data]), dtype=torch.float32
    )  # [R, N]
    mask = torch.as_tensor(
        token_mask(sequence_lengths(tokens.reshape(-1, L)), L).reshape(R, -1, L),
        dtype=torch.float32,
    )
    inputs = model_inputs(prompts.reshape(-1), torch.as_tensor(tokens).reshape(-1, L)).reshape(
        R, -1, L + 1
    )
    opt = torch.optim.Adam(value.parameters(), lr=1e-2, fused=True)
    for k in range(steps):
        b = slice(WARMUP_BATCH * k, WARMUP_BATCH * (k + 1))
        v, _ = value(inputs[:, b, :-1])
        m = mask[:, b]
        loss = ((((v - target[:, b, None]) ** 2) * m).sum((1, 2)) / m.sum((1, 2))).sum()
        opt.zero_grad()
        loss.backward()
        opt.step()


def _clip_grad_norms(policy: GRUStack, value: GRUStack | None, ppo: torch.Tensor) -> None:
    """``torch.nn.utils.clip_grad_norm_(params_r, 1.0)`` for every run ``r`` separately: its
    policy's gradients and, for a PPO run (``ppo`` indexes them), its critic's."""

    def sq_norms(net: GRUStack) -> torch.Tensor:
        g = torch.cat([p.grad.flatten(1) for p in net.parameters()], 1)
        return (g * g).sum(1)

    sq = sq_norms(policy)
    if value is not None:
        sq = sq.index_add(0, ppo, sq_norms(value))
    coef = (1.0 / (sq.sqrt() + 1e-6)).clamp(max=1.0)
    for net, c in ((policy, coef), (value, coef[ppo])):
        for p in net.parameters() if net is not None else ():
            p.grad.mul_(c.view(-1, *[1] * (p.dim() - 1)))


def train_lm_lockstep(
    reference: TokenGRU,
    task: CountingTask,
    *,
    methods=("ppo", "grpo"),
    seeds=(0, 1, 2),
    iterations: int = 60,
    prompts_per_batch: int = 8,
    group_size: int = 8,
    beta: float = 0.05,
    lam: float = 0.95,
    gamma: float = 1.0,
    epochs: int = 4,
    minibatches: int = 2,
    lr: float = 3e-3,
    clip: float = 0.2,
    vf_coef: float = 0.5,
    value_hidden: int = 32,
    value_warmup: int = 100,
    progress: bool = False,
) -> dict[str, list[LMHistory]]:
    r"""Chapter 9: fine-tune copies of ``reference``, one run per (method, seed), in lockstep.

    Each run is what :func:`train_lm` describes — its own policy (and critic), Adam state,
    gradient clipping, ``torch.Generator(seed)`` for prompts, samples and minibatches, and its
    own data — but the runs' networks are stacked (:class:`gaelib.worlds.lm_model.GRUStack`) and
    step together. Per iteration and run: ``group_size`` texts for each of ``prompts_per_batch``
    random prompts, then ``epochs`` × ``minibatches`` PPO-clip steps on the token-mean loss
    :func:`clipped_surrogate`,

    .. math::
        -\frac{1}{\sum_{b,t} m_{b,t}}\sum_{b,t} m_{b,t}\,
        \min\big(\rho_{b,t}\hat A_{b,t},\ \operatorname{clip}(\rho_{b,t}, 1 \pm \epsilon)
        \hat A_{b,t}\big), \qquad \rho_{b,t} = \frac{\pi_\theta(y_{b,t})}{\pi_{\text{old}}
        (y_{b,t})},

    with, for ``"ppo"``, GAE(γ, λ) advantages of :func:`token_rewards` (whitened over the
    batch's real tokens) plus ``vf_coef`` × the token mean of
    :math:`(V_\phi(s_t) - G_t)^2`, :math:`G_t = \hat A_t + V_{\phi_{\text{old}}}(s_t)` (the
    λ-return, from the critic's values when the batch was sampled, before whitening), and
    for ``"grpo"`` :func:`group_relative_advantages` plus
    :math:`\beta\,\mathbb{E}[\rho_{\text{ref}} - \log\rho_{\text{ref}} - 1]`,
    :math:`\rho_{\text{ref}} = \pi_{\text{ref}}/\pi_\theta` (also a token mean). Before
    training, the PPO runs' critics are fitted to the scores of ``WARMUP_BATCH × value_warmup``
    offline texts (``config["warmup_texts"]``).

    Args:
        reference: the frozen :math:`\pi_{\text{ref}}` every policy starts from.
        task: the :class:`CountingTask`.
        methods: a non-empty sequence of distinct ``"ppo"`` / ``"grpo"``.
        seeds: a non-empty sequence of distinct integers ≥ 0 (each method runs every seed).
        iterations, prompts_per_batch, group_size, epochs, minibatches: positive integers
            (``minibatches`` ≤ ``prompts_per_batch × group_size``).
        beta, lam, gamma, lr, clip, vf_coef, value_hidden, value_warmup: as in
            :func:`train_lm`.
        progress: show a ``tqdm`` bar over iterations.

    Returns:
        ``{method: [LMHistory per seed, in the order of seeds]}``; the returned policies and
        critics are separate :class:`TokenGRU` modules.
    """
    methods = list(methods) if not isinstance(methods, str) else [methods]
    if (
        not methods
        or any(m not in ("ppo", "grpo") for m in methods)
        or len(set(methods)) < len(methods)
    ):
        raise ValueError(f"methods must be distinct 'ppo' / 'grpo', got {methods!r}")
    seeds = list(seeds) if not isinstance(seeds, str) else [seeds]
    if (
        not seeds
        or any(isinstance(s, bool) or not isinstance(s, int | np.integer) or s < 0 for s in seeds)
        or len(set(seeds)) < len(seeds)
    ):
        raise ValueError(f"seeds must be distinct integers >= 0, got {seeds!r}")
    iterations = check_positive_int("iterations", iterations)
    P = check_positive_int("prompts_per_batch", prompts_per_batch)
    G = check_positive_int("group_size", group_size)
    epochs = check_positive_int("epochs", epochs)
    minibatches = check_positive_int("minibatches", minibatches)
    if minibatches > P * G:
        raise ValueError(
            f"minibatches must be <= prompts_per_batch × group_size, got {minibatches}"
        )
    lam, gamma = check_unit_interval("lam", lam), check_unit_interval("gamma", gamma)
    if isinstance(value_warmup, bool) or not isinstance(value_warmup, int) or value_warmup < 0:
        raise ValueError(f"value_warmup must be an integer >= 0, got {value_warmup!r}")
    if not isinstance(reference, TokenGRU):
        raise ValueError(f"reference must be a TokenGRU, got {type(reference).__name__}")

    runs = [(m, int(s)) for m in methods for s in seeds]
    R, V, B, L = len(runs), task.vocab_size, P * G, task.max_len
    ppo_runs = [i for i, (m, _) in enumerate(runs) if m == "ppo"]
    grpo_runs = [i for i, (m, _) in enumerate(runs) if m == "grpo"]
    ppo = torch.as_tensor(ppo_runs, dtype=torch.long)
    gens = [torch.Generator().manual_seed(s) for _, s in runs]
    policies, critics = [], []
    for m, s in runs:  # each run's networks made as a run on its own would make them
        seed_everything(s)
        policies.append(TokenGRU(V, V))
        policies[-1].load_state_dict(reference.state_dict())
        if m == "ppo":
            critics.append(TokenGRU(V, 1, hidden=value_hidden))
    policy = GRUStack(policies)
    value = GRUStack(critics) if critics else None
    ref = GRUStack([reference]).requires_grad_(False)
    if value is not None and value_warmup:
        _warm_up_critics(value, task, value_warmup, [s for m, s in runs if m == "ppo"])
    params = [*policy.parameters(), *(value.parameters() if value is not None else [])]
    opt = torch.optim.Adam(params, lr=lr, fused=True)
    scores_hist, kl_hist = np.zeros((R, iterations)), np.zeros((R, iterations))
    ar = torch.arange(R)[:, None]
    bar = range(iterations)
    if progress:
        from tqdm.auto import tqdm

        names = " and ".join({"ppo": "PPO+GAE", "grpo": "GRPO"}[m] for m in methods)
        bar = tqdm(bar, desc=f"{names} × {len(seeds)} seeds, in lockstep")
    start = time.perf_counter()
    for it in bar:
        prompts = torch.stack(
            [torch.randint(2, V, (P,), generator=g).repeat_interleave(G) for g in gens]
        )  # [R, B]
        tok = torch.as_tensor(sample_stack(policy, prompts, L, gens))  # [R, B, L]
        lengths = sequence_lengths(tok.reshape(R * B, L).numpy())
        scores = task.score(prompts.reshape(-1).numpy(), tok.reshape(R * B, L).numpy())
        mask = torch.as_tensor(token_mask(lengths, L), dtype=torch.float32).reshape(R, B, L)
        inputs = model_inputs(prompts.reshape(-1), tok.reshape(R * B, L)).reshape(R, B, L + 1)
        with torch.no_grad():
            old_logp = stack_log_probs(policy, inputs, tok)
            ref_logp = stack_log_probs(
                ref, inputs.reshape(1, R * B, L + 1), tok.reshape(1, R * B, L)
            ).reshape(R, B, L)
        kl = (old_logp - ref_logp) * mask
        scores_hist[:, it] = scores.reshape(R, B).mean(1)
        kl_hist[:, it] = kl.sum(2).mean(1).numpy()
        adv = torch.zeros(R, B, L)
        if ppo_runs:
            rows = (ppo[:, None] * B + torch.arange(B)).reshape(-1).numpy()
            with torch.no_grad():
                v, _ = value(inputs[ppo, :, :-1])
            r = token_rewards(
                scores[rows], lengths[rows], kl[ppo].reshape(-1, L).numpy(), beta=beta
            )
            a, ret = token_advantages(
                r, v.reshape(-1, L).numpy(), lengths[rows], gamma=gamma, lam=lam
            )
            a = torch.as_tensor(a, dtype=torch.float32).reshape(-1, B, L)
            ret = torch.as_tensor(ret, dtype=torch.float32).reshape(-1, B, L)
            m = mask[ppo]
            n = m.sum((1, 2), keepdim=True)
            mean = (a * m).sum((1, 2), keepdim=True) / n
            std = ((((a - mean) ** 2) * m).sum((1, 2), keepdim=True) / (n - 1)).sqrt()
            adv[ppo] = (a - mean) / (std + 1e-8) * m  # whitened over each run's real tokens
        if grpo_runs:
            rows = (torch.as_tensor(grpo_runs)[:, None] * B + torch.arange(B)).reshape(-1).numpy()
            g_adv = group_relative_advantages(scores[rows], G, lengths[rows], max_len=L)
            adv[grpo_runs] = torch.as_tensor(g_adv, dtype=torch.float32).reshape(-1, B, L)
        for _ in range(epochs):
            perm = torch.stack([torch.randperm(B, generator=g) for g in gens])  # [R, B]
            for idx in perm.chunk(minibatches, dim=1):
                x, mk = inputs[ar, idx], mask[ar, idx]
                n = mk.sum((1, 2))
                logp = stack_log_probs(policy, x, tok[ar, idx])
                ratio = torch.exp(logp - old_logp[ar, idx])
                loss = clipped_surrogate(ratio, adv[ar, idx], mk, clip)  # [R], one per run
                if ppo_runs:
                    v_new, _ = value(x[ppo, :, :-1])
                    err = (v_new - ret[torch.arange(len(ppo_runs))[:, None], idx[ppo]]) ** 2
                    vf = (err * mk[ppo]).sum((1, 2)) / n[ppo]
                    loss = loss.index_add(0, ppo, vf_coef * vf)
                if grpo_runs:
                    gi = torch.as_tensor(grpo_runs)
                    log_rho = ref_logp[ar, idx][gi] - logp[gi]
                    k3 = torch.exp(log_rho) - log_rho - 1
                    loss = loss.index_add(0, gi, beta * (k3 * mk[gi]).sum((1, 2)) / n[gi])
                opt.zero_grad()
                loss.sum().backward()  # the runs' weights are disjoint: each gets its own gradient
                _clip_grad_norms(policy, value, ppo)
                opt.step()
        if progress:
            bar.set_postfix(score=f"{scores_hist[:, it].mean():.2f}")
    wall = time.perf_counter() - start
    pols = policy.to_modules()
    vals = value.to_modules() if value is not None else []
    config = {"iterations": iterations, "batch": B, "group_size": G, "beta": beta, "lam": lam,
              "gamma": gamma, "epochs": epochs, "minibatches": minibatches, "lr": lr,
              "clip": clip}  # fmt: skip
    warmup_texts = WARMUP_BATCH * value_warmup
    out: dict[str, list[LMHistory]] = {m: [] for m in methods}
    for i, (m, s) in enumerate(runs):
        out[m].append(
            LMHistory(
                method=m,
                mean_score=scores_hist[i].copy(),
                kl=kl_hist[i].copy(),
                sequences=B * np.arange(1, iterations + 1),
                wall_time=wall,
                policy=pols[i],
                value=vals[ppo_runs.index(i)] if m == "ppo" else None,
                config={"seed": s, **config, "warmup_texts": warmup_texts if m == "ppo" else 0},
            )
        )
    return out


def train_lm(
    method: str,
    reference: TokenGRU,
    task: CountingTask,
    *,
    seed: int = 0,
    iterations: int = 60,
    prompts_per_batch: int = 8,
    group_size: int = 8,
    beta: float = 0.05,
    lam: float = 0.95,
    gamma: float = 1.0,
    epochs: int = 4,
    minibatches: int = 2,
    lr: float = 3e-3,
    clip: float = 0.2,
    vf_coef: float = 0.5,
    value_hidden: int = 32,
    value_warmup: int = 100,
    progress: bool = False,
) -> LMHistory:
    r"""Chapter 9: fine-tune a copy of ``reference`` with ``method`` = ``"ppo"`` or ``"grpo"``
    (one run of :func:`train_lm_lockstep`).

    Each iteration samples ``group_size`` texts for each of ``prompts_per_batch`` random
    prompts (the same number of sampled texts for both methods), then runs ``epochs`` ×
    ``minibatches`` PPO-clip steps (:func:`clipped_surrogate`, a token mean over the real
    tokens of the minibatch), Adam (``lr``) with the gradient norm clipped at 1:

    * ``"ppo"`` (RLHF): per-token rewards :func:`token_rewards` with
      :math:`\text{kl}_t = \log\pi_{\text{old}} - \log\pi_{\text{ref}}`, a GRU critic (hidden
      ``value_hidden``, first fitted for ``value_warmup`` steps to the scores of
      ``WARMUP_BATCH × value_warmup`` offline noisy texts — texts a GRPO run does not get),
      :func:`token_advantages` (γ, λ), advantages whitened over the batch's real tokens, and
      ``vf_coef`` × a value loss towards the λ-returns;
    * ``"grpo"``: :func:`group_relative_advantages` on every token, no critic, and the KL
      penalty in the loss, :math:`\beta\,\mathbb{E}[\rho - \log\rho - 1]` with
      :math:`\rho = \pi_{\text{ref}}/\pi_\theta` (Shao et al. 2024, §4.1.1, eq. 4).
    """
    if method not in ("ppo", "grpo"):
        raise ValueError(f"method must be 'ppo' or 'grpo', got {method!r}")
    runs = train_lm_lockstep(
        reference, task, methods=(method,), seeds=(seed,), iterations=iterations,
        prompts_per_batch=prompts_per_batch, group_size=group_size, beta=beta, lam=lam,
        gamma=gamma, epochs=epochs, minibatches=minibatches, lr=lr, clip=clip,
        vf_coef=vf_coef, value_hidden=value_hidden, value_warmup=value_warmup,
        progress=progress,
    )  # fmt: skip
    return runs[method][0]

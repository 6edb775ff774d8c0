r"""Chapter 7: training the tiny language model — PPO with GAE over token positions, or GRPO.

Split from :mod:`gaelib.lm` (the task, the networks, per-token rewards and advantages), which
re-exports everything here: ``gaelib.lm.train_lm`` is this module's :func:`train_lm`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
import torch

from ._validate import check_positive_int, check_unit_interval
from .lm import (
    CountingTask,
    TokenGRU,
    _inputs,
    group_relative_advantages,
    sample,
    sequence_lengths,
    token_advantages,
    token_log_probs,
    token_mask,
    token_rewards,
    token_values,
)
from .seeding import seed_everything

__all__ = ["LMHistory", "train_lm", "evaluate_score"]


@dataclass
class LMHistory:
    """One run of :func:`train_lm`: per iteration, the batch's mean score and mean KL
    :math:`\\sum_t \\log\\pi(y_t) - \\log\\pi_{\\text{ref}}(y_t)` per sequence."""

    method: str
    mean_score: np.ndarray
    kl: np.ndarray
    sequences: np.ndarray
    wall_time: float
    policy: TokenGRU
    value: TokenGRU | None = None
    config: dict = field(default_factory=dict)

    def final_score(self, n: int = 10) -> float:
        return float(self.mean_score[-n:].mean())


def evaluate_score(policy: TokenGRU, task: CountingTask, *, n: int = 2048, seed: int = 0):
    """Mean score of ``n`` sampled texts (prompts uniform) and their scores."""
    gen = torch.Generator().manual_seed(seed)
    prompts = torch.randint(2, task.vocab_size, (n,), generator=gen)
    tokens, _ = sample(policy, prompts, task.max_len, gen)
    scores = task.score(prompts.numpy(), tokens)
    return float(scores.mean()), scores


def _warm_up_critic(value: TokenGRU, task: CountingTask, steps: int, seed: int) -> None:
    """Fit :math:`V(s_t)` to the score of offline texts (the reference's noisy corpus, no new
    samples): the toy's version of InstructGPT initialising the value model from the reward
    model, so the critic starts out knowing what a mistake costs."""
    rng = np.random.default_rng(seed + 10_000)
    prompts, tokens = task.noisy_corpus(256 * steps, rng)
    lengths = sequence_lengths(tokens)
    target = torch.as_tensor(task.score(prompts, tokens), dtype=torch.float32)
    mask = torch.as_tensor(token_mask(lengths, task.max_len), dtype=torch.float32)
    prompts, tokens = torch.as_tensor(prompts), torch.as_tensor(tokens)
    opt = torch.optim.Adam(value.parameters(), lr=1e-2)
    for k in range(steps):
        b = slice(256 * k, 256 * (k + 1))
        v, _ = value(_inputs(prompts[b], tokens[b])[:, :-1])
        loss = (((v - target[b, None]) ** 2) * mask[b]).sum() / mask[b].sum()
        opt.zero_grad()
        loss.backward()
        opt.step()


def _clip_loss(logp, old_logp, adv, mask, clip: float):
    ratio = torch.exp(logp - old_logp)
    surr = torch.min(ratio * adv, torch.clamp(ratio, 1 - clip, 1 + clip) * adv)
    return -(surr * mask).sum() / mask.sum()


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
    r"""Chapter 7: fine-tune a copy of ``reference`` with ``method`` = ``"ppo"`` or ``"grpo"``.

    Each iteration samples ``group_size`` texts for each of ``prompts_per_batch`` random
    prompts (the same budget for both methods), then runs ``epochs`` × ``minibatches``
    PPO-clip steps (token-mean surrogate over real tokens):

    * ``"ppo"`` (RLHF): per-token rewards :func:`token_rewards` with
      :math:`\text{kl}_t = \log\pi_{\text{old}} - \log\pi_{\text{ref}}`, a GRU critic,
      :func:`token_advantages` (γ, λ), advantages whitened over the batch's real tokens, and a
      value loss towards the λ-returns;
    * ``"grpo"``: :func:`group_relative_advantages` on every token, no critic, and the KL
      penalty in the loss, :math:`\beta\,\mathbb{E}[\rho - \log\rho - 1]` with
      :math:`\rho = \pi_{\text{ref}}/\pi_\theta` (Shao et al. 2024, eq. 4).
    """
    if method not in ("ppo", "grpo"):
        raise ValueError(f"method must be 'ppo' or 'grpo', got {method!r}")
    iterations = check_positive_int("iterations", iterations)
    P = check_positive_int("prompts_per_batch", prompts_per_batch)
    G = check_positive_int("group_size", group_size)
    epochs = check_positive_int("epochs", epochs)
    minibatches = check_positive_int("minibatches", minibatches)
    lam, gamma = check_unit_interval("lam", lam), check_unit_interval("gamma", gamma)
    seed_everything(seed)
    gen = torch.Generator().manual_seed(seed)
    policy = TokenGRU(task.vocab_size, task.vocab_size)
    policy.load_state_dict(reference.state_dict())
    value = TokenGRU(task.vocab_size, 1, hidden=value_hidden) if method == "ppo" else None
    if value is not None and value_warmup:
        _warm_up_critic(value, task, value_warmup, seed)
    params = [*policy.parameters(), *(value.parameters() if value is not None else [])]
    opt = torch.optim.Adam(params, lr=lr)
    B, L = P * G, task.max_len
    scores_hist, kl_hist = [], []
    bar = range(iterations)
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(bar, desc=f"{'PPO+GAE' if method == 'ppo' else 'GRPO'} seed {seed}")
    start = time.perf_counter()
    for _ in bar:
        prompts = torch.randint(2, task.vocab_size, (P,), generator=gen).repeat_interleave(G)
        tokens, lengths = sample(policy, prompts, L, gen)
        scores = task.score(prompts.numpy(), tokens)
        tok = torch.as_tensor(tokens)
        mask = torch.as_tensor(token_mask(lengths, L), dtype=torch.float32)
        with torch.no_grad():
            old_logp = token_log_probs(policy, prompts, tok)
            ref_logp = token_log_probs(reference, prompts, tok)
        kl = (old_logp - ref_logp) * mask
        scores_hist.append(float(scores.mean()))
        kl_hist.append(float(kl.sum(1).mean()))
        if method == "ppo":
            with torch.no_grad():
                v = token_values(value, prompts, tok)
            r = token_rewards(scores, lengths, kl.numpy(), beta=beta)
            adv, ret = token_advantages(r, v.numpy(), lengths, gamma=gamma, lam=lam)
            adv, ret = torch.as_tensor(adv).float(), torch.as_tensor(ret).float()
            m = mask.bool()
            adv = (adv - adv[m].mean()) / (adv[m].std() + 1e-8) * mask
        else:
            adv = torch.as_tensor(group_relative_advantages(scores, G, lengths, max_len=L))
            adv = adv.float()
        for _ in range(epochs):
            perm = torch.randperm(B, generator=gen)
            for idx in perm.chunk(minibatches):
                logp = token_log_probs(policy, prompts[idx], tok[idx])
                loss = _clip_loss(logp, old_logp[idx], adv[idx], mask[idx], clip)
                if method == "ppo":
                    v_new = token_values(value, prompts[idx], tok[idx])
                    loss = (
                        loss
                        + vf_coef * (((v_new - ret[idx]) ** 2) * mask[idx]).sum() / mask[idx].sum()
                    )
                else:
                    log_rho = ref_logp[idx] - logp
                    k3 = torch.exp(log_rho) - log_rho - 1
                    loss = loss + beta * (k3 * mask[idx]).sum() / mask[idx].sum()
                opt.zero_grad()
                loss.backward()
                torch.nn.utils.clip_grad_norm_(params, 1.0)
                opt.step()
        if progress:
            bar.set_postfix(score=f"{scores.mean():.2f}")
    policy.eval()
    return LMHistory(
        method=method,
        mean_score=np.asarray(scores_hist),
        kl=np.asarray(kl_hist),
        sequences=B * np.arange(1, iterations + 1),
        wall_time=time.perf_counter() - start,
        policy=policy,
        value=value,
        config={"seed": seed, "iterations": iterations, "batch": B, "group_size": G,
                "beta": beta, "lam": lam, "gamma": gamma, "epochs": epochs, "lr": lr},
    )  # fmt: skip

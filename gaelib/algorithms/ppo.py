r"""PPO-clip (Schulman et al. 2017) with GAE advantages on CartPole — chapter 6 (the plain
actor-critic, its ``clip=None`` case, is chapter 5's).

Each iteration collects ``n_steps`` steps from ``num_envs`` environments
(:class:`gaelib.core.rollouts.RolloutCollector`), computes GAE(γ, λ)
(:func:`gaelib.core.advantages.compute_gae`) and the critic's targets
:math:`G_t = \hat A_t + V(s_t)`, then takes ``epochs`` passes of minibatch steps on

.. math::
    L = -\frac1B\sum_i \min\big(\rho_i \hat A_i,\ \mathrm{clip}(\rho_i, 1\pm\epsilon)
        \hat A_i\big) + c_v \frac1B\sum_i (V_\phi(s_i) - G_i)^2 - c_e \bar H,
    \qquad \rho_i = \frac{\pi_\theta(a_i|s_i)}{\pi_{old}(a_i|s_i)}.

With ``clip=None`` the policy term is the actor-critic's
:math:`-\frac1B\sum_i \hat A_i \log\pi_\theta(a_i|s_i)` (:mod:`gaelib.algorithms.actor_critic`).
``backend="numpy"`` (the default) takes the same steps through
:class:`gaelib.algorithms.numpy_ppo.NumpyPPOUpdate`, several times faster. Each update's
diagnostics — approximate KL, clip fraction, entropy, losses, the critic's explained variance —
are recorded in the returned ``History.diagnostics``.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np
import torch

from ..core._validate import check_number, check_positive_int, check_unit_interval
from ..core.advantages import compute_gae
from ..core.history import History
from ..core.policies import MLPPolicy, ValueNet
from ..core.rollouts import RolloutCollector, make_vector_env
from ..core.seeding import seed_everything
from .numpy_ppo import NumpyPPOUpdate, ratio_diagnostics, record_update

__all__ = ["ppo_loss", "ppo"]


def ppo_loss(
    policy: MLPPolicy,
    value: ValueNet,
    obs: torch.Tensor,
    actions: torch.Tensor,
    old_logp: torch.Tensor,
    advantages: torch.Tensor,
    returns: torch.Tensor,
    *,
    clip: float | None,
    vf_coef: float = 0.5,
    ent_coef: float = 0.0,
    normalize: bool = True,
    stats: dict | None = None,
) -> torch.Tensor:
    r"""Chapter 6: the loss of one minibatch — PPO-clip, or the actor-critic's when ``clip=None``.

    .. math::
        L = -\frac1B\sum_i \min\big(\rho_i \hat A_i,\ \mathrm{clip}(\rho_i, 1\pm\epsilon)
            \hat A_i\big) + c_v \frac1B\sum_i (V_\phi(s_i) - G_i)^2 - c_e \bar H,
        \qquad \rho_i = \frac{\pi_\theta(a_i|s_i)}{\pi_{old}(a_i|s_i)},

    with :math:`-\frac1B\sum_i \hat A_i \log\pi_\theta(a_i|s_i)` as the policy term when
    ``clip`` is None. ``advantages`` (detached: plain data) are standardised within the
    minibatch when ``normalize`` and B > 1; ``returns`` are the critic's targets
    :math:`G_i`. A dict passed as ``stats`` receives the minibatch's diagnostics (floats):
    ``policy_loss``, ``value_loss``, ``entropy``, and ``approx_kl`` and ``clip_fraction`` of
    :func:`gaelib.algorithms.numpy_ppo.ratio_diagnostics`.
    """
    B = len(actions)
    if actions.ndim != 1 or B < 1 or actions.dtype not in (torch.int64, torch.int32):
        raise ValueError(f"actions must be a non-empty 1-D integer tensor, got {actions.shape}")
    if obs.ndim != 2 or obs.shape[0] != B:
        raise ValueError(f"obs must have shape [{B}, obs_dim], got {tuple(obs.shape)}")
    for name, x in (("old_logp", old_logp), ("advantages", advantages), ("returns", returns)):
        if x.shape != (B,):  # a [B, 1] tensor would broadcast to [B, B]: refuse it
            raise ValueError(f"{name} must have shape [{B}], got {tuple(x.shape)}")
    if clip is not None:
        check_number("clip", clip, 1e-6, 10.0)
    a = advantages
    if normalize and len(a) > 1:
        a = (a - a.mean()) / (a.std() + 1e-8)
    log_probs = policy(obs).log_softmax(-1)  # [B, A]; cheaper than a Categorical
    logp = log_probs.gather(1, actions[:, None]).squeeze(1)
    log_ratio = logp - old_logp
    ratio = torch.exp(log_ratio)
    if clip is None:
        pg_loss = -(logp * a).mean()
    else:
        pg_loss = -torch.min(ratio * a, torch.clamp(ratio, 1 - clip, 1 + clip) * a).mean()
    value_loss = ((value(obs) - returns) ** 2).mean()
    loss = pg_loss + vf_coef * value_loss
    entropy = -(log_probs.exp() * log_probs).sum(-1).mean()
    if ent_coef > 0:
        loss = loss - ent_coef * entropy
    if stats is not None:
        stats.update(
            policy_loss=float(pg_loss.detach()),
            value_loss=float(value_loss.detach()),
            entropy=float(entropy.detach()),
            **ratio_diagnostics(ratio.detach().numpy(), log_ratio.detach().numpy(), clip),
        )
    return loss


def ppo(
    env_id: str = "CartPole-v1",
    *,
    seed: int = 0,
    total_steps: int = 100_000,
    num_envs: int = 8,
    n_steps: int = 32,
    epochs: int = 20,
    minibatch_size: int = 256,
    lr: float = 1e-3,
    lr_decay: bool = True,
    clip: float | None = 0.2,
    gamma: float = 0.98,
    lam: float = 0.8,
    vf_coef: float = 0.5,
    ent_coef: float = 0.0,
    max_grad_norm: float = 0.5,
    hidden: int | tuple[int, ...] = (64, 64),
    orthogonal_init: bool = True,
    progress: bool = False,
    stop_at: float | None = None,
    callback: Callable[[int, int, MLPPolicy], bool | None] | None = None,
    on_iteration: Callable[[int, float], None] | None = None,
    backend: str = "numpy",
    env_kwargs: dict | None = None,
) -> History:
    r"""Chapters 5–6: the actor-critic loop with GAE; PPO-clip (Schulman et al. 2017) when ``clip``.

    Each iteration (the GAE article's §3.1 loop, done right):

    1. collect ``n_steps`` steps from each of ``num_envs`` environments (next-step autoreset;
       reset steps masked out: :class:`~gaelib.core.rollouts.RolloutCollector`);
    2. :math:`\hat V(s_t)` and :math:`\hat V(s_{t+1})` of the real next observations, then
       :func:`~gaelib.core.advantages.compute_gae` with ``terminated`` (no bootstrap) and
       ``truncated`` (bootstrap) kept apart; value targets are the λ-returns
       :math:`\hat A_t + \hat V(s_t)` — all detached, so no gradient leaks from the critic into
       the policy's weights :math:`\hat A`;
    3. ``epochs`` passes over the batch in minibatches: advantages normalised per minibatch;
       policy loss :math:`-\hat A \log\pi` (plain actor-critic, ``clip=None``) or PPO's
       :math:`-\min(\rho \hat A, \mathrm{clip}(\rho, 1\pm\epsilon)\hat A)`; value loss
       :math:`(V - G^\lambda)^2`; minus ``ent_coef`` × entropy; one Adam for both networks.

    ``lr_decay`` anneals the learning rate (and the clip range) linearly to 0, as in
    rl-baselines3-zoo's CartPole settings (which are this function's defaults, with
    Stable-Baselines3's network: two tanh layers of 64 for the policy and for the critic,
    orthogonal initialisation, Adam with ε = 1e-5). ``stop_at``
    ends training once the mean of the last 20 finished episodes reaches it;
    ``callback(iteration, env_steps, policy)`` runs after every update and stops training by
    returning True; ``on_iteration(env_steps, mean_return)`` reports progress (live plots),
    with the mean return of the last 20 finished episodes (NaN before the first one ends).

    ``env_kwargs`` go to the environment (:func:`make_vector_env`).
    ``backend="torch"`` takes each step with autograd on :func:`ppo_loss` and
    ``torch.optim.Adam``; ``backend="numpy"`` (the default) takes the same step with the
    gradient written out by hand (:class:`~gaelib.algorithms.numpy_ppo.NumpyPPOUpdate`), several
    times faster at this network size. The two agree to float32 rounding
    (``tests/test_numpy_ppo.py``); a whole run drifts apart only as chaotic dynamics amplify that
    rounding.
    """
    if backend not in ("numpy", "torch"):
        raise ValueError(f"backend must be 'numpy' or 'torch', got {backend!r}")
    gamma = check_unit_interval("gamma", gamma)
    lam = check_unit_interval("lam", lam)
    total_steps = check_positive_int("total_steps", total_steps)
    num_envs = check_positive_int("num_envs", num_envs)
    n_steps = check_positive_int("n_steps", n_steps)
    epochs = check_positive_int("epochs", epochs)
    minibatch_size = check_positive_int("minibatch_size", minibatch_size)
    lr = check_number("lr", lr, 1e-12, 1.0)
    if clip is not None:
        clip = check_number("clip", clip, 1e-6, 10.0)
    for name, x in (("vf_coef", vf_coef), ("ent_coef", ent_coef), ("max_grad_norm", max_grad_norm)):
        check_number(name, x, 0.0, 1e6)
    rng = seed_everything(seed)
    envs = make_vector_env(env_id, num_envs, env_kwargs)
    collector = RolloutCollector(envs, seed=seed)
    obs_dim = int(np.prod(envs.single_observation_space.shape))
    policy = MLPPolicy(obs_dim, int(envs.single_action_space.n), hidden, orthogonal=orthogonal_init)
    value = ValueNet(obs_dim, hidden, orthogonal=orthogonal_init)
    if backend == "numpy":
        updater = NumpyPPOUpdate(policy, value, max_grad_norm=max_grad_norm, vf_coef=vf_coef,
                                 ent_coef=ent_coef, eps=1e-5)  # fmt: skip
    else:
        updater = None
        params = [*policy.parameters(), *value.parameters()]
        opt = torch.optim.Adam(params, lr=lr, eps=1e-5, fused=True)
    iterations = max(1, total_steps // (num_envs * n_steps))
    it_mean, it_steps = [], []
    diag: dict[str, list[float]] = {}
    start = time.perf_counter()
    bar = range(iterations)
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(bar, desc=f"{'PPO' if clip else 'actor-critic'} λ={lam:g} seed {seed}")
    for it in bar:
        frac = 1.0 - it / iterations if lr_decay else 1.0
        if updater is None:
            for group in opt.param_groups:
                group["lr"] = lr * frac
        eps = None if clip is None else clip * frac
        ro = collector.collect(lambda o: policy.act(o, rng), n_steps)
        T, N = ro.mask.shape
        v = value.values_numpy(ro.obs.reshape(T * N, -1)).reshape(T, N).astype(np.float64)
        nv = value.values_numpy(ro.next_obs.reshape(T * N, -1)).reshape(T, N).astype(np.float64)
        adv = compute_gae(ro.rewards, v, nv, ro.cut, ro.truncated, gamma=gamma, lam=lam)
        ret = adv + v
        m = ro.mask
        n = int(m.sum())
        steps_stats: list[dict] = []  # one dict of diagnostics per minibatch step
        if updater is not None:  # the same step as below, with the gradient written out
            obs, act = ro.obs[m], ro.actions[m]
            adv_m, ret_m = adv[m].astype(np.float32), ret[m].astype(np.float32)
            old_logp = updater.log_prob(obs, act)
            for _ in range(epochs):
                perm = rng.permutation(n)
                for lo in range(0, n, minibatch_size):
                    idx = perm[lo : lo + minibatch_size]
                    parts = updater.step(obs[idx], act[idx], old_logp[idx], adv_m[idx],
                                         ret_m[idx], clip=eps, lr=lr * frac)  # fmt: skip
                    steps_stats.append(parts)
        else:
            obs = torch.as_tensor(ro.obs[m])
            act = torch.as_tensor(ro.actions[m])
            adv_t = torch.as_tensor(adv[m], dtype=torch.float32)
            ret_t = torch.as_tensor(ret[m], dtype=torch.float32)
            with torch.no_grad():
                old_logp = policy.dist(obs).log_prob(act)
            for _ in range(epochs):
                perm = torch.as_tensor(rng.permutation(n))
                for lo in range(0, n, minibatch_size):
                    idx = perm[lo : lo + minibatch_size]
                    steps_stats.append({})
                    loss = ppo_loss(policy, value, obs[idx], act[idx], old_logp[idx],
                                    adv_t[idx], ret_t[idx], clip=eps, vf_coef=vf_coef,
                                    ent_coef=ent_coef, stats=steps_stats[-1])  # fmt: skip
                    opt.zero_grad()
                    loss.backward()
                    torch.nn.utils.clip_grad_norm_(params, max_grad_norm, foreach=True)
                    opt.step()
        per_epoch = -(-n // minibatch_size)  # ceil(n / minibatch_size) minibatch steps
        record_update(diag, steps_stats, per_epoch, ret[m], v[m])
        recent = collector.episode_returns[-20:]
        it_mean.append(float(np.mean(recent)) if recent else float("nan"))
        it_steps.append(collector.steps)
        if progress and recent:
            bar.set_postfix(mean_return=f"{it_mean[-1]:.0f}")
        if stop_at is not None and len(recent) == 20 and it_mean[-1] >= stop_at:
            break
        if on_iteration is not None:
            on_iteration(collector.steps, it_mean[-1])
        if callback is not None and callback(it, collector.steps, policy):
            break
    envs.close()
    return History(
        episode_returns=np.asarray(collector.episode_returns),
        episode_env_steps=np.asarray(collector.episode_end_steps),
        iteration_mean_return=np.asarray(it_mean),
        iteration_env_steps=np.asarray(it_steps),
        wall_time=time.perf_counter() - start,
        policy=policy,
        value=value,
        diagnostics={key: np.asarray(x) for key, x in diag.items()},
        config={
            "env_id": env_id,
            "seed": seed,
            "algo": "ppo" if clip else "actor-critic",
            "total_steps": total_steps,
            "num_envs": num_envs,
            "n_steps": n_steps,
            "epochs": epochs,
            "minibatch_size": minibatch_size,
            "lr": lr,
            "clip": clip,
            "gamma": gamma,
            "lam": lam,
            "hidden": hidden,
            "backend": backend,
        },
    )

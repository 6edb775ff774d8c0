r"""PPO-clip with GAE for continuous actions: a Gaussian policy on ``Pendulum-v1`` — chapter 7.

The policy is :class:`gaelib.core.policies.GaussianMLPPolicy`,
:math:`\pi_\theta(\cdot|s) = \mathcal N(\mu_\theta(s), \mathrm{diag}\,\sigma^2)` with a learned,
state-independent :math:`\log\sigma`, so that

.. math::
    \log\pi_\theta(a|s) = -\frac12\sum_j \Big(\frac{a_j - \mu_{\theta,j}(s)}{\sigma_j}\Big)^2
        - \sum_j \log\sigma_j - \frac d2\log 2\pi .

Everything else is PPO as in :mod:`gaelib.algorithms.ppo`: GAE(γ, λ) advantages, λ-return
targets for the critic, and ``epochs`` passes of minibatch steps on

.. math::
    L = -\frac1B\sum_i \min\big(\rho_i \hat A_i,\ \mathrm{clip}(\rho_i, 1\pm\epsilon)
        \hat A_i\big) + c_v \frac1B\sum_i (V_\phi(s_i) - G_i)^2 - c_e H[\pi_\theta],
    \qquad \rho_i = \frac{\pi_\theta(a_i|s_i)}{\pi_{old}(a_i|s_i)} .

**Truncation.** A pendulum episode never terminates: it is cut after 200 steps. The state
there still has a future, so GAE bootstraps from :math:`V(s_{200})`, the real last observation
(``next_obs``), never from the next episode's first one.

**Action bounds.** Actions are sampled unbounded from :math:`\mathcal N(\mu, \sigma^2)` and
clipped to the action space's bounds only when sent to the environment; the rollout stores
and scores the *unclipped* sample (its log-probability under the Gaussian), as
Stable-Baselines3 does.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np
import torch
from torch import nn

from ..core._validate import check_number, check_positive_int, check_unit_interval
from ..core.advantages import compute_gae
from ..core.history import History
from ..core.numpy_mlp import clip_and_adam, mlp_backward, mlp_forward
from ..core.policies import GaussianMLPPolicy, ValueNet
from ..core.rollouts import RolloutCollector, make_vector_env
from ..core.seeding import seed_everything
from ..worlds.pendulum import make_pendulum_env
from .numpy_ppo import ratio_diagnostics, record_update

__all__ = ["gaussian_ppo_loss", "gaussian_ppo"]

LOG_2PI = float(np.log(2 * np.pi))


def gaussian_ppo_loss(
    policy: GaussianMLPPolicy, value: ValueNet, obs: torch.Tensor, actions: torch.Tensor,
    old_logp: torch.Tensor, advantages: torch.Tensor, returns: torch.Tensor, *,
    clip: float | None, vf_coef: float = 0.5, ent_coef: float = 0.0, normalize: bool = True,
    stats: dict | None = None,
) -> torch.Tensor:  # fmt: skip
    r"""Chapter 7: the loss of one minibatch for a Gaussian policy — PPO-clip, or the
    actor-critic's when ``clip=None``.

    .. math::
        L = -\frac1B\sum_i \min\big(\rho_i \hat A_i,\ \mathrm{clip}(\rho_i, 1\pm\epsilon)
            \hat A_i\big) + c_v \frac1B\sum_i (V_\phi(s_i) - G_i)^2 - c_e H,
        \qquad \rho_i = e^{\log\pi_\theta(a_i|s_i) - \log\pi_{old}(a_i|s_i)},

    :math:`H = \sum_j (\log\sigma_j + \frac12 + \frac12\log 2\pi)` (the same in every state).
    With ``clip=None`` the policy term is :math:`-\frac1B\sum_i \hat A_i\log\pi_\theta(a_i|s_i)`.
    ``actions [B, act_dim]`` are the unclipped samples; ``old_logp``, ``advantages``
    (detached, standardised within the minibatch when ``normalize`` and B > 1) and ``returns``
    :math:`G_i` are ``[B]``. A dict passed as ``stats`` receives the diagnostics (floats)
    ``policy_loss``, ``value_loss``, ``entropy``, ``approx_kl``, ``clip_fraction``, as
    :func:`gaelib.algorithms.ppo.ppo_loss` reports them.
    """
    B = len(actions)
    d = policy.act_dim
    if actions.ndim != 2 or B < 1 or actions.shape[1] != d or not actions.is_floating_point():
        raise ValueError(f"actions must be a float tensor of shape [B, {d}], got {actions.shape}")
    if obs.ndim != 2 or obs.shape != (B, policy.obs_dim):
        raise ValueError(f"obs must have shape [{B}, {policy.obs_dim}], got {tuple(obs.shape)}")
    for name, x in (("old_logp", old_logp), ("advantages", advantages), ("returns", returns)):
        if x.shape != (B,):  # a [B, 1] tensor would broadcast to [B, B]: refuse it
            raise ValueError(f"{name} must have shape [{B}], got {tuple(x.shape)}")
    if clip is not None:
        check_number("clip", clip, 1e-6, 10.0)
    a = advantages
    if normalize and B > 1:
        a = (a - a.mean()) / (a.std() + 1e-8)
    log_std = policy.log_std
    z = (actions - policy(obs)) * torch.exp(-log_std)
    logp = -0.5 * (z * z).sum(1) - log_std.sum() - 0.5 * d * LOG_2PI
    log_ratio = logp - old_logp
    ratio = torch.exp(log_ratio)
    if clip is None:
        pg_loss = -(logp * a).mean()
    else:
        pg_loss = -torch.min(ratio * a, torch.clamp(ratio, 1 - clip, 1 + clip) * a).mean()
    value_loss = ((value(obs) - returns) ** 2).mean()
    loss = pg_loss + vf_coef * value_loss
    entropy = log_std.sum() + 0.5 * d * (1.0 + LOG_2PI)
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


class _NumpyGaussianStep:
    r"""The step of :func:`gaussian_ppo_loss` + global-norm clipping + Adam (ε = 1e-5) with the
    gradient written out in NumPy, as :class:`gaelib.algorithms.numpy_ppo.NumpyPPOUpdate` does
    for the categorical policy: :math:`\partial L/\partial\mu_i = g_i (a_i-\mu_i)/\sigma^2`,
    :math:`\partial L/\partial\log\sigma = \sum_i g_i ((a_i-\mu_i)^2/\sigma^2 - 1) - c_e`,
    with :math:`g_i = \partial L/\partial\log\pi_i` (:func:`gaelib.core.policies.gaussian_score`),
    then back through the tanh layers. The parameters move into one float32 buffer that the
    torch modules keep viewing (``tests/test_gaussian_ppo.py`` holds it to autograd)."""

    def __init__(self, policy: GaussianMLPPolicy, value: ValueNet, *, max_grad_norm: float,
                 vf_coef: float, ent_coef: float):  # fmt: skip
        lins = [[m for m in net.net if isinstance(m, nn.Linear)] for net in (policy, value)]
        params = [q for lin in lins[0] for q in (lin.weight, lin.bias)] + [policy.log_std]
        params += [q for lin in lins[1] for q in (lin.weight, lin.bias)]
        self._flat_t = torch.empty(sum(q.numel() for q in params))
        self.flat = self._flat_t.numpy()
        self.grad = np.zeros_like(self.flat)
        self._m, self._v, self._tmp = (np.zeros_like(self.flat) for _ in range(3))
        views, o = [], 0
        with torch.no_grad():
            for q in params:
                k = q.numel()
                self._flat_t[o : o + k].copy_(q.reshape(-1))
                q.data = self._flat_t[o : o + k].view(q.shape)
                views.append((slice(o, o + k), tuple(q.shape)))
                o += k
        cut = 2 * len(lins[0])

        def pairs(buf, vs):
            return [(buf[w].reshape(sw), buf[b].reshape(sb)) for (w, sw), (b, sb) in zip(vs[::2], vs[1::2], strict=True)]  # noqa: E501  # fmt: skip

        self.pw, self.pg = pairs(self.flat, views[:cut]), pairs(self.grad, views[:cut])
        self.vw, self.vg = pairs(self.flat, views[cut + 1 :]), pairs(self.grad, views[cut + 1 :])
        self.log_std, self.g_log_std = self.flat[views[cut][0]], self.grad[views[cut][0]]
        self.max_grad_norm, self.vf_coef, self.ent_coef = max_grad_norm, vf_coef, ent_coef
        self.t = 0

    def log_prob(self, obs: np.ndarray, actions: np.ndarray) -> np.ndarray:
        z = (actions - mlp_forward(self.pw, obs)[1]) * np.exp(-self.log_std)
        return -0.5 * (z * z).sum(1) - self.log_std.sum() - np.float32(0.5 * z.shape[1] * LOG_2PI)

    def step(self, obs, actions, old_logp, adv, returns, *, clip: float | None, lr: float) -> dict:
        B, d = actions.shape
        if B > 1:
            adv = (adv - adv.mean()) / (adv.std(ddof=1) + 1e-8)
        hs, mu = mlp_forward(self.pw, obs)
        inv_std = np.exp(-self.log_std)
        z = (actions - mu) * inv_std
        logp = -0.5 * (z * z).sum(1) - self.log_std.sum() - np.float32(0.5 * d * LOG_2PI)
        log_ratio = logp - old_logp
        ratio = np.exp(log_ratio)
        if clip is None:
            g, pg_loss = adv * np.float32(-1.0 / B), -float(np.dot(logp, adv)) / B
        else:
            surr1, surr2 = ratio * adv, np.clip(ratio, 1 - clip, 1 + clip) * adv
            g = np.where(surr1 <= surr2, surr1 * np.float32(-1.0 / B), np.float32(0.0))
            pg_loss = -float(np.minimum(surr1, surr2).mean())
        self.g_log_std[:] = g @ (z * z - 1.0) - np.float32(self.ent_coef)
        mlp_backward(self.pw, self.pg, hs, g[:, None] * z * inv_std)
        hv, v = mlp_forward(self.vw, obs)
        err = v[:, 0] - returns
        mlp_backward(self.vw, self.vg, hv, (np.float32(2 * self.vf_coef / B) * err)[:, None])
        entropy = float(self.log_std.sum()) + 0.5 * d * (1.0 + LOG_2PI)  # before the step
        self.t += 1
        clip_and_adam(self.flat, self.grad, self._m, self._v, self._tmp, t=self.t, lr=lr,
                      max_grad_norm=self.max_grad_norm, betas=(0.9, 0.999), eps=1e-5)  # fmt: skip
        return {"policy_loss": pg_loss, "value_loss": float(np.dot(err, err)) / B,
                "entropy": entropy, **ratio_diagnostics(ratio, log_ratio, clip)}  # fmt: skip


def gaussian_ppo(
    env_id: str = "Pendulum-v1",
    *,
    seed: int = 0,
    total_steps: int = 100_000,
    num_envs: int = 16,
    n_steps: int = 256,
    epochs: int = 6,
    minibatch_size: int = 256,
    lr: float = 2e-3,
    lr_decay: bool = False,
    clip: float | None = 0.2,
    gamma: float = 0.9,
    lam: float = 0.95,
    vf_coef: float = 0.5,
    ent_coef: float = 0.0,
    max_grad_norm: float = 0.5,
    hidden: int | tuple[int, ...] = (32, 32),
    log_std_init: float = 0.0,
    reward_scale: float = 0.1,
    batched_env: bool = True,
    backend: str = "numpy",
    progress: bool = False,
    stop_at: float | None = None,
    callback: Callable[[int, int, GaussianMLPPolicy], bool | None] | None = None,
) -> History:
    r"""Chapter 7: PPO-clip (or the actor-critic, ``clip=None``) with GAE and a Gaussian policy.

    Each iteration: (1) collect ``n_steps`` steps from each of ``num_envs`` environments
    (:class:`~gaelib.core.rollouts.RolloutCollector`):
    :math:`a \sim \mathcal N(\mu_\theta(s), \sigma^2)`
    unbounded, stored and scored as sampled, **clipped to the action bounds only when sent to
    the environment** (as Stable-Baselines3 does); (2) :math:`\hat V(s_t)`, :math:`\hat V(s_{t+1})`
    of the real next observations and :func:`~gaelib.core.advantages.compute_gae` with
    ``truncated`` kept apart from ``terminated``, so that Pendulum's 200-step time limit
    **bootstraps**, :math:`\delta_t = r_t + \gamma \hat V(s_{t+1}) - \hat V(s_t)`; critic targets
    are the λ-returns :math:`\hat A_t + \hat V(s_t)`, of rewards multiplied by ``reward_scale``
    (the recorded returns are unscaled); (3) ``epochs`` passes of :func:`gaussian_ppo_loss` in
    shuffled minibatches, one Adam (ε = 1e-5) for both networks, the gradient's global norm
    clipped to ``max_grad_norm``. ``lr_decay`` anneals learning rate and clip range to 0.

    The defaults are the course's settings (chapter 7: they swing the pendulum up and hold it
    after 1e5 steps, a few seconds a seed); rl-baselines3-zoo's for Pendulum-v1 differ in
    ``num_envs=4, n_steps=1024, minibatch_size=64, epochs=10, lr=1e-3, hidden=(64, 64),
    reward_scale=1`` and
    gSDE exploration (not here). ``batched_env`` steps ``Pendulum-v1`` as
    :class:`gaelib.worlds.pendulum.PendulumVectorEnv`, not gymnasium's ``SyncVectorEnv``;
    ``backend="numpy"`` takes each step with the gradient written out (the same step as
    ``"torch"``'s autograd, faster). ``stop_at`` ends training once the mean of the last 20
    episodes reaches it; ``callback(iteration, env_steps, policy)`` runs after every update and
    stops training by returning True. The returned :class:`~gaelib.core.history.History` holds
    :func:`gaelib.algorithms.ppo.ppo`'s ``diagnostics`` (``approx_kl`` over the last epoch,
    ``clip_fraction``, ``entropy``, ``policy_loss``, ``value_loss``, ``explained_variance``).
    """
    if backend not in ("numpy", "torch"):
        raise ValueError(f"backend must be 'numpy' or 'torch', got {backend!r}")
    if not isinstance(env_id, str):
        raise ValueError(f"env_id must be a gymnasium id, got {env_id!r}")
    gamma = check_unit_interval("gamma", gamma)
    lam = check_unit_interval("lam", lam)
    total_steps = check_positive_int("total_steps", total_steps)
    num_envs = check_positive_int("num_envs", num_envs)
    n_steps = check_positive_int("n_steps", n_steps)
    epochs = check_positive_int("epochs", epochs)
    minibatch_size = check_positive_int("minibatch_size", minibatch_size)
    lr = check_number("lr", lr, 1e-12, 1.0)
    clip = None if clip is None else check_number("clip", clip, 1e-6, 10.0)
    for name, x in (("vf_coef", vf_coef), ("ent_coef", ent_coef), ("max_grad_norm", max_grad_norm)):
        check_number(name, x, 0.0, 1e6)
    check_number("log_std_init", log_std_init, -20.0, 5.0)
    reward_scale = check_number("reward_scale", reward_scale, 1e-6, 1e6)
    if stop_at is not None:
        check_number("stop_at", stop_at, -np.inf, np.inf)
    rng = seed_everything(seed)
    if batched_env and env_id == "Pendulum-v1":
        envs = make_pendulum_env(num_envs)
    else:
        envs = make_vector_env(env_id, num_envs)
    collector = RolloutCollector(envs, seed=seed)
    obs_dim = int(np.prod(envs.single_observation_space.shape))
    act_dim = int(envs.single_action_space.shape[0])
    policy = GaussianMLPPolicy(obs_dim, act_dim, hidden, log_std_init=log_std_init)
    value = ValueNet(obs_dim, hidden, orthogonal=True)
    if backend == "numpy":
        updater = _NumpyGaussianStep(policy, value, max_grad_norm=max_grad_norm, vf_coef=vf_coef,
                                     ent_coef=ent_coef)  # fmt: skip
    else:
        params = [*policy.parameters(), *value.parameters()]
        opt = torch.optim.Adam(params, lr=lr, eps=1e-5, fused=True)
    iterations = max(1, total_steps // (num_envs * n_steps))
    it_mean, it_steps = [], []
    diag: dict[str, list[float]] = {}
    start = time.perf_counter()
    bar = range(iterations)
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(bar, desc=f"Gaussian {'PPO' if clip else 'actor-critic'} λ={lam:g} seed {seed}")
    for it in bar:
        frac = 1.0 - it / iterations if lr_decay else 1.0
        if backend == "torch":
            for group in opt.param_groups:
                group["lr"] = lr * frac
        eps = None if clip is None else clip * frac
        ro = collector.collect(lambda o: policy.act(o, rng), n_steps)
        T, N = ro.mask.shape
        v = value.values_numpy(ro.obs.reshape(T * N, -1)).reshape(T, N).astype(np.float64)
        nv = value.values_numpy(ro.next_obs.reshape(T * N, -1)).reshape(T, N).astype(np.float64)
        r = ro.rewards * reward_scale
        adv = compute_gae(r, v, nv, ro.cut, ro.truncated, gamma=gamma, lam=lam)
        ret = adv + v
        m = ro.mask
        n = int(m.sum())
        obs, act = ro.obs[m], ro.actions[m]
        adv_m, ret_m = adv[m].astype(np.float32), ret[m].astype(np.float32)
        steps_stats: list[dict] = []  # one dict of diagnostics per minibatch step
        if backend == "numpy":  # the same step as below, with the gradient written out
            old_logp = updater.log_prob(obs, act)
        else:
            obs, act, adv_m, ret_m = (torch.as_tensor(x) for x in (obs, act, adv_m, ret_m))
            with torch.no_grad():
                old_logp = policy.dist(obs).log_prob(act).sum(-1)
        for _ in range(epochs):
            perm = rng.permutation(n)
            for lo in range(0, n, minibatch_size):
                idx = perm[lo : lo + minibatch_size]
                batch = (obs[idx], act[idx], old_logp[idx], adv_m[idx], ret_m[idx])
                if backend == "numpy":
                    steps_stats.append(updater.step(*batch, clip=eps, lr=lr * frac))
                    continue
                steps_stats.append({})
                loss = gaussian_ppo_loss(policy, value, *batch, clip=eps, vf_coef=vf_coef,
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
        if callback is not None and callback(it, collector.steps, policy):
            break
    envs.close()
    return History(
        episode_returns=np.asarray(collector.episode_returns),
        episode_env_steps=np.asarray(collector.episode_end_steps),
        iteration_mean_return=np.asarray(it_mean), iteration_env_steps=np.asarray(it_steps),
        wall_time=time.perf_counter() - start, policy=policy, value=value,
        diagnostics={key: np.asarray(x) for key, x in diag.items()},
        config={"env_id": env_id, "seed": seed, "algo": "gaussian_ppo" if clip else "actor-critic",
                "total_steps": total_steps, "num_envs": num_envs, "n_steps": n_steps,
                "epochs": epochs, "minibatch_size": minibatch_size, "lr": lr, "clip": clip,
                "gamma": gamma, "lam": lam, "hidden": hidden, "log_std_init": log_std_init,
                "reward_scale": reward_scale, "batched_env": batched_env, "backend": backend},
    )  # fmt: skip

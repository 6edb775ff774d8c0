r"""Chapter 7: GAE for language models — a tiny token-level policy, per-token rewards, PPO
with GAE over token positions, and GRPO's group-relative advantages.

The toy "language" (:class:`CountingTask`): a prompt is one letter of a circular alphabet; a
good continuation counts up from it (each letter is the one after the previous letter) and
stops after ``target_len`` letters with the end-of-sequence token ``EOS``. Generation stops
at ``EOS`` or after ``max_len`` tokens. A scalar score is given for the whole text.

Batches are **batch-first** ``[B, L]`` (one row per sequence, padded with ``PAD`` after its
end), as language-model code stores them; :func:`token_advantages` transposes to the course's
**time-first** ``[L, B]`` to call :func:`gaelib.compute_gae`, and back. Sequence ``b`` holds
``lengths[b]`` real tokens (its ``EOS`` included); positions ``t >= lengths[b]`` are padding.

RLHF's per-token reward (Ziegler et al. 2019; Stiennon et al. 2020; Ouyang et al. 2022):

.. math::
    r_t = -\beta\,\big(\log\pi_\theta(y_t \mid x, y_{<t}) - \log\pi_{\text{ref}}(y_t \mid x,
    y_{<t})\big) + \mathbb{1}[t = n-1]\;\text{score}(x, y),

with the score on the last real token :math:`n-1` (the ``EOS``), GAE over positions with
:math:`\gamma = 1`. GRPO (Shao et al. 2024) drops the critic:
:math:`\hat A_{i,t} = (s_i - \text{mean}(s_{\text{group}})) / (\text{std}(s_{\text{group}}) +
\epsilon)` on every token of sample :math:`i`.
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from ._validate import check_positive_int, check_unit_interval
from .advantages import compute_gae
from .seeding import seed_everything

__all__ = [
    "PAD",
    "EOS",
    "CountingTask",
    "TokenGRU",
    "sample",
    "token_log_probs",
    "token_values",
    "pretrain_reference",
    "sequence_lengths",
    "token_mask",
    "token_rewards",
    "token_advantages",
    "group_relative_advantages",
]

PAD, EOS = 0, 1  # letters are tokens 2 .. 2 + n_letters - 1


# ----------------------------------------------------------------------- the toy task


@dataclass(frozen=True)
class CountingTask:
    """The toy language: count up a circular alphabet from the prompt letter, then ``EOS``.

    .. math::
        \\text{score} = \\frac{\\#\\{i < n : y_i = \\text{next}(y_{i-1})\\} - 2\\,|n - n^*|}{n^*},
        \\qquad y_{-1} = \\text{prompt},

    with :math:`n` the number of letters before ``EOS`` (or before the cut at ``max_len``) and
    :math:`n^* =` ``target_len``. The perfect text scores 1; each wrong letter costs
    :math:`1/n^*`, each letter too many or too few :math:`2/n^*`.
    """

    n_letters: int = 6
    target_len: int = 5
    max_len: int = 8

    @property
    def vocab_size(self) -> int:
        return 2 + self.n_letters

    def next_letter(self, tok):
        return 2 + (np.asarray(tok) - 2 + 1) % self.n_letters

    def decode(self, prompt: int, tokens) -> str:
        """``'c|defg.'``: prompt, bar, letters, ``.`` for EOS (padding dropped)."""
        chars = {PAD: "", EOS: "."}
        word = "".join(chars.get(int(t), chr(ord("a") + int(t) - 2)) for t in tokens)
        return f"{chr(ord('a') + int(prompt) - 2)}|{word}"

    def perfect(self, prompt: int) -> np.ndarray:
        """The perfect continuation of ``prompt`` (letters then EOS), unpadded."""
        out, tok = [], prompt
        for _ in range(self.target_len):
            tok = int(self.next_letter(tok))
            out.append(tok)
        return np.array([*out, EOS])

    def score(self, prompts, tokens) -> np.ndarray:
        """Scores ``[B]`` of texts ``tokens [B, L]`` (padded after EOS) for ``prompts [B]``."""
        prompts = np.asarray(prompts)
        tokens = np.asarray(tokens)
        lengths = sequence_lengths(tokens)
        n = lengths - (tokens[np.arange(len(tokens)), lengths - 1] == EOS)
        prev = np.concatenate([prompts[:, None], tokens[:, :-1]], axis=1)
        ok = (tokens == self.next_letter(prev)) & (tokens >= 2)
        ok &= np.arange(tokens.shape[1])[None, :] < n[:, None]
        return (ok.sum(1) - 2.0 * np.abs(n - self.target_len)) / self.target_len

    def noisy_corpus(self, n: int, rng: np.random.Generator, p_follow: float = 0.7):
        """``n`` texts of a noisy version of the language, for pre-training the reference:
        lengths uniform in ``target_len ± 2``; each letter follows the rule with probability
        ``p_follow``, else is uniform. Returns ``prompts [n]``, ``tokens [n, max_len]``."""
        prompts = rng.integers(2, self.vocab_size, n)
        lengths = rng.integers(self.target_len - 2, self.target_len + 3, n)
        tokens = np.full((n, self.max_len), PAD)
        prev = prompts.copy()
        for t in range(self.max_len):
            follow = rng.random(n) < p_follow
            tok = np.where(follow, self.next_letter(prev), rng.integers(2, self.vocab_size, n))
            tokens[:, t] = np.where(t < lengths, tok, np.where(t == lengths, EOS, PAD))
            prev = tok
        return prompts, tokens


# ---------------------------------------------------------------------- the networks


class TokenGRU(nn.Module):
    """A tiny GRU over ``[prompt, y_0, y_1, …]``: ``n_out = vocab`` logits (the policy) or
    ``n_out = 1`` (the critic, :math:`V(s_t)` with :math:`s_t = (x, y_{<t})`)."""

    def __init__(self, vocab_size: int, n_out: int, hidden: int = 32, embed: int = 16):
        super().__init__()
        self.vocab_size = vocab_size
        self.emb = nn.Embedding(vocab_size, embed)
        self.gru = nn.GRU(embed, hidden, batch_first=True)
        self.head = nn.Linear(hidden, n_out)

    def forward(self, inputs: torch.Tensor, h: torch.Tensor | None = None):
        out, h = self.gru(self.emb(inputs), h)
        y = self.head(out)
        if y.shape[-1] == 1:
            return y[..., 0], h
        y = y.clone()
        y[..., PAD] = -1e9  # the policy never writes padding
        return y, h


def _inputs(prompts: torch.Tensor, tokens: torch.Tensor) -> torch.Tensor:
    """``[prompt, y_0 … y_{L-1}]`` with padding replaced by EOS (never read: masked)."""
    x = torch.cat([prompts[:, None], tokens], dim=1)
    return torch.where(x == PAD, torch.full_like(x, EOS), x)


def token_log_probs(policy: TokenGRU, prompts, tokens) -> torch.Tensor:
    r""":math:`\log\pi(y_t \mid x, y_{<t})` for every position, ``[B, L]`` (garbage on padding:
    mask it)."""
    prompts, tokens = torch.as_tensor(prompts), torch.as_tensor(tokens)
    logits, _ = policy(_inputs(prompts, tokens)[:, :-1])
    tok = torch.where(tokens == PAD, torch.full_like(tokens, EOS), tokens)
    return torch.log_softmax(logits, -1).gather(-1, tok[..., None])[..., 0]


def token_values(value: TokenGRU, prompts, tokens) -> torch.Tensor:
    r"""The critic's :math:`V(s_t)`, :math:`s_t = (x, y_{<t})`, for every position, ``[B, L]``
    (garbage on padding: mask it)."""
    v, _ = value(_inputs(torch.as_tensor(prompts), torch.as_tensor(tokens))[:, :-1])
    return v


@torch.no_grad()
def sample(policy: TokenGRU, prompts, max_len: int, generator: torch.Generator):
    """Sample texts for ``prompts [B]``: ``tokens [B, max_len]`` (PAD after EOS), ``lengths``."""
    prompts = torch.as_tensor(prompts)
    B = len(prompts)
    tokens = torch.full((B, max_len), PAD, dtype=torch.long)
    done = torch.zeros(B, dtype=torch.bool)
    x, h = prompts[:, None], None
    for t in range(max_len):
        logits, h = policy(x, h)
        tok = torch.multinomial(torch.softmax(logits[:, 0], -1), 1, generator=generator)[:, 0]
        tokens[:, t] = torch.where(done, PAD, tok)
        done |= tok == EOS
        if bool(done.all()):
            break
        x = tok[:, None]
    return tokens.numpy(), sequence_lengths(tokens.numpy())


def pretrain_reference(
    task: CountingTask, *, seed: int = 0, steps: int = 300, n_texts: int = 4096, lr: float = 1e-2
) -> TokenGRU:
    """The reference policy :math:`\\pi_{\\text{ref}}`: a :class:`TokenGRU` fitted by maximum
    likelihood (``steps`` Adam steps, minibatches of 256) to :meth:`CountingTask.noisy_corpus`."""
    rng = seed_everything(seed)
    prompts, tokens = task.noisy_corpus(n_texts, rng)
    prompts, tokens = torch.as_tensor(prompts), torch.as_tensor(tokens)
    mask = torch.as_tensor(token_mask(sequence_lengths(tokens.numpy()), task.max_len))
    policy = TokenGRU(task.vocab_size, task.vocab_size)
    opt = torch.optim.Adam(policy.parameters(), lr=lr)
    for _ in range(steps):
        idx = torch.as_tensor(rng.integers(0, n_texts, 256))
        logp = token_log_probs(policy, prompts[idx], tokens[idx])
        loss = -(logp * mask[idx]).sum() / mask[idx].sum()
        opt.zero_grad()
        loss.backward()
        opt.step()
    policy.eval()
    return policy


# ------------------------------------------------------ per-token rewards and advantages


def _is_torch(*xs) -> bool:
    return any(isinstance(x, torch.Tensor) for x in xs)


def _np(name: str, x, ndim: int) -> np.ndarray:
    if x is None:
        raise ValueError(f"{name} is required, got None")
    arr = x.detach().cpu().numpy() if isinstance(x, torch.Tensor) else np.asarray(x)
    if arr.dtype == object or not (np.issubdtype(arr.dtype, np.number) or arr.dtype == bool):
        raise ValueError(f"{name} must be a numeric array, got dtype {arr.dtype}")
    if arr.ndim != ndim:
        want = "[B]" if ndim == 1 else "[B, L] (batch-first)"
        raise ValueError(f"{name} must have shape {want}, got shape {tuple(arr.shape)}")
    arr = arr.astype(np.float64)
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must be finite")
    return arr


def _lengths(lengths, B: int | None, max_len: int | None) -> np.ndarray:
    arr = _np("lengths", lengths, 1)
    if np.any(arr != np.round(arr)):
        raise ValueError("lengths must hold integers")
    arr = arr.astype(np.int64)
    if B is not None and len(arr) != B:
        raise ValueError(f"lengths must have one entry per sequence ({B}), got {len(arr)}")
    hi = max_len if max_len is not None else np.inf
    if len(arr) and (arr.min() < 1 or arr.max() > hi):
        raise ValueError(f"lengths must be in [1, {hi}] (a sequence has ≥ 1 token), got {arr}")
    return arr


def _out(arr: np.ndarray, like_torch: bool):
    return torch.from_numpy(np.ascontiguousarray(arr)).float() if like_torch else arr


def sequence_lengths(tokens, eos: int = EOS) -> np.ndarray:
    """Real tokens per row of ``tokens [B, L]``: up to and including the first ``eos``, or
    ``L`` when the row has none (it was cut at the maximum length)."""
    tokens = np.asarray(tokens.numpy() if isinstance(tokens, torch.Tensor) else tokens)
    if tokens.ndim != 2:
        raise ValueError(f"tokens must have shape [B, L], got shape {tokens.shape}")
    is_eos = tokens == eos
    return np.where(is_eos.any(1), is_eos.argmax(1) + 1, tokens.shape[1])


def token_mask(lengths, max_len: int) -> np.ndarray:
    """``mask[b, t] = t < lengths[b]``: True on real tokens, False on padding. ``[B, L]``."""
    max_len = check_positive_int("max_len", max_len)
    lengths = _lengths(lengths, None, max_len)
    return np.arange(max_len)[None, :] < lengths[:, None]


def token_rewards(scores, lengths, kl=None, *, beta: float = 0.0, max_len: int | None = None):
    r"""Chapter 7: RLHF's per-token rewards, batch-first ``[B, L]``.

    .. math::
        r_{b,t} = -\beta\,\text{kl}_{b,t}\,\mathbb{1}[t < n_b]
                  + \text{score}_b\,\mathbb{1}[t = n_b - 1]

    The score lands on the **last real token** :math:`n_b - 1` (the ``EOS``), never on the
    first pad after it; every padded position is exactly 0.

    Args:
        scores: ``[B]`` one score per sequence.
        lengths: ``[B]`` real tokens per sequence (``EOS`` included), in ``[1, L]``.
        kl: ``[B, L]`` per-token :math:`\log\pi - \log\pi_{\text{ref}}` of the sampled tokens
            (values on padding are ignored), or ``None`` (no penalty).
        beta: KL coefficient :math:`\beta \ge 0`.
        max_len: ``L`` when ``kl`` is ``None`` (default: ``max(lengths)``).

    Returns:
        ``[B, L]`` rewards (torch in → torch out, detached).
    """
    torch_out = _is_torch(scores, kl)
    s = _np("scores", scores, 1)
    if isinstance(beta, bool) or not isinstance(beta, numbers.Real) or not 0 <= beta < np.inf:
        raise ValueError(f"beta must be a finite number ≥ 0, got {beta!r}")
    if kl is not None:
        k = _np("kl", kl, 2)
        if k.shape[0] != len(s):
            raise ValueError(f"kl must have shape [B={len(s)}, L], got {k.shape}")
        max_len = k.shape[1]
    n = _lengths(lengths, len(s), max_len)
    if max_len is None:
        max_len = int(n.max()) if len(n) else 1
    mask = token_mask(n, max_len)
    r = np.zeros((len(s), max_len)) if kl is None else -float(beta) * k * mask
    r[np.arange(len(s)), n - 1] += s
    return _out(r, torch_out)


def token_advantages(
    rewards,
    values,
    lengths,
    *,
    gamma: float = 1.0,
    lam: float = 0.95,
    truncated=None,
    bootstrap_values=None,
):
    r"""Chapter 7: GAE over token positions of a padded batch, via :func:`gaelib.compute_gae`.

    The batch is batch-first ``[B, L]``; this transposes it to the course's time-first
    ``[L, B]``, builds ``next_values[t] = values[t+1]`` inside each sequence and sets, at the
    last real token :math:`n_b - 1`: ``terminated`` (the text ended at ``EOS``: no bootstrap)
    or, where ``truncated[b]``, ``truncated`` with ``next_values = bootstrap_values[b]`` (the
    text goes on past the cut: bootstrap from the critic). Padded positions get reward 0,
    value 0 and ``terminated``, so their advantage is exactly 0 and no trace crosses them.

    .. math::
        \delta_t = r_t + \gamma V(s_{t+1}) - V(s_t), \qquad
        \hat A_t = \delta_t + \gamma\lambda\,\hat A_{t+1} \quad (t < n_b - 1)

    Args:
        rewards, values: ``[B, L]`` (values on padding are ignored).
        lengths: ``[B]`` real tokens per sequence.
        gamma, lam: in [0, 1]; RLHF uses :math:`\gamma = 1`, :math:`\lambda = 0.95`.
        truncated: ``[B]`` bools, True where the sequence was cut before its end (default:
            none — every sequence ended).
        bootstrap_values: ``[B]`` :math:`V(s_{n_b})` of the state after the last token;
            required when any sequence is truncated.

    Returns:
        ``(advantages, returns)``, each ``[B, L]``, zero on padding; returns = advantages +
        values (the critic's λ-return targets). Torch in → torch out, detached.
    """
    torch_out = _is_torch(rewards, values)
    gamma = check_unit_interval("gamma", gamma)
    lam = check_unit_interval("lam", lam)
    r = _np("rewards", rewards, 2)
    v = _np("values", values, 2)
    if v.shape != r.shape:
        raise ValueError(f"values must have the same shape as rewards {r.shape}, got {v.shape}")
    B, L = r.shape
    n = _lengths(lengths, B, L)
    mask = token_mask(n, L)
    trunc_b = np.zeros(B, bool) if truncated is None else _np("truncated", truncated, 1)
    if len(trunc_b) != B or not np.all((trunc_b == 0) | (trunc_b == 1)):
        raise ValueError(f"truncated must hold {B} booleans (one per sequence)")
    trunc_b = trunc_b.astype(bool)
    boot = np.zeros(B)
    if bootstrap_values is not None:
        boot = _np("bootstrap_values", bootstrap_values, 1)
        if len(boot) != B:
            raise ValueError(f"bootstrap_values must have shape [B={B}], got {boot.shape}")
    elif trunc_b.any():
        raise ValueError("bootstrap_values is required when a sequence is truncated")
    r, v = r * mask, v * mask
    nv = np.zeros_like(v)
    nv[:, :-1] = v[:, 1:]
    last = np.arange(B), n - 1
    nv[last] = np.where(trunc_b, boot, 0.0)
    end = np.zeros((B, L), bool)
    end[last] = True
    term = (end & ~trunc_b[:, None]) | ~mask
    trunc = end & trunc_b[:, None]
    # batch-first [B, L] → the course's time-first [L, B] and back
    adv = compute_gae(r.T, v.T, nv.T, term.T, trunc.T, gamma=gamma, lam=lam).T * mask
    return _out(adv, torch_out), _out((adv + v) * mask, torch_out)


def group_relative_advantages(
    scores, group_size: int, lengths=None, *, max_len: int | None = None, eps: float = 1e-4
):
    r"""Chapter 7: GRPO's advantages (Shao et al. 2024), no critic.

    Sequences ``[i·G, (i+1)·G)`` are the ``G = group_size`` samples for one prompt:

    .. math::
        \hat A_i = \frac{s_i - \text{mean}(s_{\text{group}})}{\text{std}(s_{\text{group}})
        + \epsilon}

    (``std`` with ``ddof=0``; ``eps`` keeps a group of equal scores at 0 instead of 0/0).

    Args:
        scores: ``[B]``, ``B`` a multiple of ``group_size``.
        group_size: samples per prompt, ≥ 2.
        lengths: optional ``[B]``; then the result is per token, ``[B, L]``: the same
            advantage on every real token of a sequence, 0 on padding.
        max_len: ``L`` (default ``max(lengths)``).
        eps: ε > 0.

    Returns:
        ``[B]`` or ``[B, L]`` (torch in → torch out).
    """
    torch_out = _is_torch(scores)
    s = _np("scores", scores, 1)
    G = check_positive_int("group_size", group_size)
    if G < 2 or len(s) % G:
        raise ValueError(f"group_size must be ≥ 2 and divide len(scores)={len(s)}, got {G}")
    if isinstance(eps, bool) or not isinstance(eps, numbers.Real) or not 0 < eps < np.inf:
        raise ValueError(f"eps must be a finite number > 0, got {eps!r}")
    g = s.reshape(-1, G)
    adv = ((g - g.mean(1, keepdims=True)) / (g.std(1, keepdims=True) + eps)).ravel()
    if lengths is not None:
        n = _lengths(lengths, len(s), max_len)
        adv = adv[:, None] * token_mask(n, max_len or int(n.max()))
    return _out(adv, torch_out)


# Training (PPO + GAE, GRPO) lives in gaelib.lm_train and is re-exported here, so that the
# chapter finds everything under gaelib.lm.
from .lm_train import *  # noqa: E402, F403
from .lm_train import __all__ as _train_all  # noqa: E402

__all__ += [name for name in _train_all if name not in __all__]

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
    "GRUStack",
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


class _GRURecurrence(torch.autograd.Function):
    r"""The GRU's recurrence over ``T`` steps for ``R`` stacked networks, with a hand-written
    backward pass (backpropagation through time). Autograd would record ~12 small ops per step
    and replay ~20 in the backward pass; here the forward runs untracked and the backward
    needs 7 ops per step, the rest vectorised over all steps. ``gi [R, B, T, 3H]`` holds
    :math:`W_i e_t + b_i`, ``h0 [R, B, H]``, ``w_hh [R, 3H, H]``, ``b_hh [R, 3H]``; returns
    :math:`h_1 \dots h_T` as ``[R, B, T, H]``."""

    @staticmethod
    def forward(ctx, gi, h0, w_hh, b_hh):
        R, B, T, H3 = gi.shape
        H = H3 // 3
        gh = gi.new_empty(T, R, B, H3)  # W_h h_{t-1} + b_h
        rz = gi.new_empty(T, R, B, 2 * H)  # the gates r_t, z_t
        n = gi.new_empty(T, R, B, H)  # the candidate n_t
        hs = gi.new_empty(T + 1, R, B, H)  # h_0 … h_T
        hs[0] = h0
        w_t, b = w_hh.transpose(1, 2), b_hh[:, None, :]
        # per-step views, made once (indexing in the loop costs more than the arithmetic)
        gi_rz, gi_n = (x.unbind(2) for x in gi.split([2 * H, H], -1))
        gh_t, gh_rz, gh_n = gh.unbind(0), *(x.unbind(0) for x in gh.split([2 * H, H], -1))
        rz_t, r, z = rz.unbind(0), *(x.unbind(0) for x in rz.chunk(2, -1))
        n_t, h_t = n.unbind(0), hs.unbind(0)
        for t in range(T):
            torch.baddbmm(b, h_t[t], w_t, out=gh_t[t])
            torch.sigmoid(gi_rz[t] + gh_rz[t], out=rz_t[t])
            torch.tanh(torch.addcmul(gi_n[t], r[t], gh_n[t]), out=n_t[t])
            torch.addcmul(n_t[t], z[t], h_t[t] - n_t[t], out=h_t[t + 1])
        ctx.save_for_backward(w_hh, gh, rz, n, hs)
        return hs[1:].permute(1, 2, 0, 3)

    @staticmethod
    def backward(ctx, d_out):
        w_hh, gh, rz, n, hs = ctx.saved_tensors
        T, R, B, H = n.shape
        r, z = rz[..., :H], rz[..., H:]
        # the local derivatives of every step at once: ∂h_t/∂(pre-activations)
        a_n = (1 - z) * (1 - n * n)  # through n_t's tanh
        a_z = (hs[:-1] - n) * z * (1 - z)  # through z_t's sigmoid
        a_r = gh[..., 2 * H :] * r * (1 - r)  # through r_t's sigmoid, inside n_t
        d_gh = torch.empty_like(gh)  # ∂L/∂(W_h h_{t-1} + b_h)
        d_n = torch.empty_like(n)  # ∂L/∂(pre-activation of n_t) = ∂L/∂(W_in e_t + b_in)
        d_out = d_out.permute(2, 0, 1, 3).unbind(0)  # [T] × [R, B, H]
        dg_r, dg_z, dg_n = (x.unbind(0) for x in d_gh.split(H, -1))
        dn_t, dg_t, a_n, a_r, a_z, r_t, z_t = (
            x.unbind(0) for x in (d_n, d_gh, a_n, a_r, a_z, r, z)
        )
        dh = torch.zeros_like(hs[0])
        for t in reversed(range(T)):
            dh = dh + d_out[t]
            torch.mul(dh, a_n[t], out=dn_t[t])
            torch.mul(dn_t[t], a_r[t], out=dg_r[t])
            torch.mul(dh, a_z[t], out=dg_z[t])
            torch.mul(dn_t[t], r_t[t], out=dg_n[t])
            dh = torch.baddbmm(dh * z_t[t], dg_t[t], w_hh)
        d_gi = torch.cat([d_gh[..., : 2 * H], d_n], -1).permute(1, 2, 0, 3)
        flat = d_gh.permute(1, 0, 2, 3).reshape(R, T * B, 3 * H)
        d_w = torch.bmm(flat.transpose(1, 2), hs[:-1].permute(1, 0, 2, 3).reshape(R, T * B, H))
        return d_gi, dh, d_w, flat.sum(1)


class GRUStack(nn.Module):
    r"""Chapter 7: ``R`` :class:`TokenGRU` networks of one shape, their weights stacked on a
    leading run axis and evaluated together — one batched matrix product per step for all ``R``
    (how :func:`gaelib.lm.train_lm_lockstep` trains several seeds and methods at once). Each
    network ``r`` computes exactly what ``torch.nn.GRU`` does, up to float rounding:

    .. math::
        \begin{aligned}
        r_t &= \sigma(W_{ir} e_t + b_{ir} + W_{hr} h_{t-1} + b_{hr}), \quad
        z_t = \sigma(W_{iz} e_t + b_{iz} + W_{hz} h_{t-1} + b_{hz}), \\
        n_t &= \tanh\big(W_{in} e_t + b_{in} + r_t \odot (W_{hn} h_{t-1} + b_{hn})\big), \quad
        h_t = (1 - z_t) \odot n_t + z_t \odot h_{t-1},
        \end{aligned}

    with :math:`e_t` the embedding of input token :math:`t`, then the linear head on
    :math:`h_t`. The input half :math:`W_i e + b_i` is a table over the vocabulary, computed
    once per call and looked up for every token.

    Args:
        nets: ``R ≥ 1`` :class:`TokenGRU` of the same vocabulary, outputs and sizes (copied:
            the stack trains its own weights; :meth:`to_modules` gives them back).
    """

    def __init__(self, nets):
        super().__init__()
        nets = list(nets)
        if not nets or not all(isinstance(n, TokenGRU) for n in nets):
            raise ValueError("nets must be a non-empty sequence of TokenGRU")
        shapes = {tuple((k, tuple(v.shape)) for k, v in n.state_dict().items()) for n in nets}
        if len(shapes) != 1:
            raise ValueError("nets must all have the same vocabulary, outputs and sizes")
        first = nets[0]
        self.vocab_size, self.n_out = first.vocab_size, first.head.out_features
        self.hidden, self.embed = first.gru.hidden_size, first.emb.embedding_dim

        def stack(get) -> nn.Parameter:
            return nn.Parameter(torch.stack([get(n).detach().clone() for n in nets]))

        self.emb = stack(lambda n: n.emb.weight)  # [R, V, E]
        self.w_ih = stack(lambda n: n.gru.weight_ih_l0)  # [R, 3H, E]
        self.w_hh = stack(lambda n: n.gru.weight_hh_l0)  # [R, 3H, H]
        self.b_ih = stack(lambda n: n.gru.bias_ih_l0)  # [R, 3H]
        self.b_hh = stack(lambda n: n.gru.bias_hh_l0)  # [R, 3H]
        self.w_head = stack(lambda n: n.head.weight)  # [R, O, H]
        self.b_head = stack(lambda n: n.head.bias)  # [R, O]

    @property
    def n_runs(self) -> int:
        return self.emb.shape[0]

    def forward(self, inputs: torch.Tensor, h: torch.Tensor | None = None):
        """``inputs [R, B, T]`` tokens → (``[R, B, T, vocab]`` logits, PAD at -1e9 — or
        ``[R, B, T]`` values when ``n_out = 1`` — and the last hidden state ``[R, B, H]``)."""
        if inputs.ndim != 3 or inputs.shape[0] != self.n_runs:
            raise ValueError(
                f"inputs must have shape [R={self.n_runs}, B, T], got {tuple(inputs.shape)}"
            )
        R, B, T = inputs.shape
        H = self.hidden
        table = torch.baddbmm(self.b_ih[:, None, :], self.emb, self.w_ih.transpose(1, 2))
        table = table.reshape(R * self.vocab_size, 3 * H)  # W_i e + b_i per (run, token)
        rows = inputs + self.vocab_size * torch.arange(R)[:, None, None]
        gi = nn.functional.embedding(rows, table)  # [R, B, T, 3H]
        if h is None:
            h = torch.zeros(R, B, H, dtype=gi.dtype)
        out = _GRURecurrence.apply(gi, h, self.w_hh, self.b_hh)  # [R, B, T, H]
        h = out[:, :, -1]
        y = torch.baddbmm(
            self.b_head[:, None, :], out.reshape(R, B * T, H), self.w_head.transpose(1, 2)
        )
        y = y.reshape(R, B, T, self.n_out)
        if self.n_out == 1:
            return y[..., 0], h
        pad = torch.arange(self.n_out) == PAD
        return y.masked_fill(pad, -1e9), h  # the policy never writes padding

    def to_modules(self) -> list[TokenGRU]:
        """The ``R`` networks as separate :class:`TokenGRU` modules (copies of the weights)."""
        out = []
        for r in range(self.n_runs):
            net = TokenGRU(self.vocab_size, self.n_out, hidden=self.hidden, embed=self.embed)
            with torch.no_grad():
                net.emb.weight.copy_(self.emb[r])
                net.gru.weight_ih_l0.copy_(self.w_ih[r])
                net.gru.weight_hh_l0.copy_(self.w_hh[r])
                net.gru.bias_ih_l0.copy_(self.b_ih[r])
                net.gru.bias_hh_l0.copy_(self.b_hh[r])
                net.head.weight.copy_(self.w_head[r])
                net.head.bias.copy_(self.b_head[r])
            out.append(net.eval())
        return out


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

r"""Chapter 9's tiny language model: a GRU over tokens as the policy, the critic and the
reference model.

:class:`TokenGRU` reads the prompt and the tokens so far and gives next-token logits (the
policy :math:`\pi_\theta(y_t \mid x, y_{<t})`) or one value per position (the critic);
:class:`GRUStack` holds K of them stacked, so one batched matrix product per token step
serves K runs, with a hand-written backward pass of the recurrence. :func:`sample` generates
texts, :func:`token_log_probs` and :func:`token_values` score them, :func:`pretrain_reference`
fits the reference policy :math:`\pi_{\text{ref}}` by supervised learning, and
:func:`evaluate_score` measures a policy's mean score on the task of
:mod:`gaelib.worlds.lm_task`.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from ..core.seeding import seed_everything
from .lm_task import EOS, PAD, CountingTask, sequence_lengths, token_mask

__all__ = [
    "model_inputs",
    "sample_stack",
    "stack_log_probs",
    "TokenGRU",
    "GRUStack",
    "token_log_probs",
    "token_values",
    "sample",
    "pretrain_reference",
    "evaluate_score",
]


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
    r"""Chapter 9: ``R`` :class:`TokenGRU` networks of one shape, their weights stacked on a
    leading run axis and evaluated together — one batched matrix product per step for all ``R``
    (how :func:`gaelib.algorithms.lm_lockstep.train_lm_lockstep` trains several seeds and methods at
    once). Each network ``r`` computes exactly what ``torch.nn.GRU`` does, up to float rounding:

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


def model_inputs(prompts: torch.Tensor, tokens: torch.Tensor) -> torch.Tensor:
    """``[prompt, y_0 … y_{L-1}]`` with padding replaced by EOS (never read: masked)."""
    x = torch.cat([prompts[:, None], tokens], dim=1)
    return torch.where(x == PAD, torch.full_like(x, EOS), x)


def token_log_probs(policy: TokenGRU, prompts, tokens) -> torch.Tensor:
    r""":math:`\log\pi(y_t \mid x, y_{<t})` for every position, ``[B, L]`` (garbage on padding:
    mask it)."""
    prompts, tokens = torch.as_tensor(prompts), torch.as_tensor(tokens)
    logits, _ = policy(model_inputs(prompts, tokens)[:, :-1])
    tok = torch.where(tokens == PAD, torch.full_like(tokens, EOS), tokens)
    return torch.log_softmax(logits, -1).gather(-1, tok[..., None])[..., 0]


def token_values(value: TokenGRU, prompts, tokens) -> torch.Tensor:
    r"""The critic's :math:`V(s_t)`, :math:`s_t = (x, y_{<t})`, for every position, ``[B, L]``
    (garbage on padding: mask it)."""
    v, _ = value(model_inputs(torch.as_tensor(prompts), torch.as_tensor(tokens))[:, :-1])
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


def evaluate_score(policy: TokenGRU, task: CountingTask, *, n: int = 2048, seed: int = 0):
    """Mean score of ``n`` sampled texts (prompts uniform) and their scores."""
    gen = torch.Generator().manual_seed(seed)
    prompts = torch.randint(2, task.vocab_size, (n,), generator=gen)
    tokens, _ = sample(policy, prompts, task.max_len, gen)
    scores = task.score(prompts.numpy(), tokens)
    return float(scores.mean()), scores


@torch.no_grad()
def sample_stack(policy: GRUStack, prompts: torch.Tensor, max_len: int, gens) -> np.ndarray:
    """:func:`gaelib.worlds.lm_model.sample` for ``R`` stacked policies at once, ``prompts [R, B]``
    → ``tokens [R, B, max_len]``; run ``r`` draws from ``gens[r]`` exactly as :func:`sample`
    would (one ``multinomial`` per step until all its texts have ended)."""
    R, B = prompts.shape
    tokens = torch.full((R, B, max_len), PAD, dtype=torch.long)
    done = torch.zeros(R, B, dtype=torch.bool)
    x, h = prompts[..., None], None
    live = list(range(R))
    for t in range(max_len):
        logits, h = policy(x, h)
        probs = torch.softmax(logits[:, :, 0], -1)
        tok = torch.full((R, B), EOS, dtype=torch.long)
        for r in live:
            tok[r] = torch.multinomial(probs[r], 1, generator=gens[r])[:, 0]
        tokens[:, :, t] = torch.where(done, PAD, tok)
        done |= tok == EOS
        live = [r for r in live if not bool(done[r].all())]
        if not live:
            break
        x = tok[..., None]
    return tokens.numpy()


def stack_log_probs(policy: GRUStack, inputs: torch.Tensor, tokens: torch.Tensor):
    """:func:`gaelib.worlds.lm_model.token_log_probs` for stacked policies: ``inputs [R, B, L+1]``
    (from :func:`model_inputs`), ``tokens [R, B, L]`` → ``[R, B, L]``."""
    logits, _ = policy(inputs[..., :-1])
    tok = torch.where(tokens == PAD, torch.full_like(tokens, EOS), tokens)
    return torch.log_softmax(logits, -1).gather(-1, tok[..., None])[..., 0]

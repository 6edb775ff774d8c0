r"""Chapter 9's toy "language": the counting task, and how a batch of texts is laid out.

The task (:class:`CountingTask`): a prompt is one letter of a circular alphabet; a good
continuation counts up from it (each letter is the one after the previous letter) and stops
after ``target_len`` letters with the end-of-sequence token ``EOS``. Generation stops at
``EOS`` or after ``max_len`` tokens. A scalar score is given for the whole text.

Batches are **batch-first** ``[B, L]`` (one row per sequence, padded with ``PAD`` after its
end), as language-model code stores them. Sequence ``b`` holds ``lengths[b]`` real tokens
(its ``EOS`` included); positions ``t >= lengths[b]`` are padding (:func:`sequence_lengths`,
:func:`token_mask`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from ..core._validate import as_lengths, check_positive_int

__all__ = ["PAD", "EOS", "CountingTask", "sequence_lengths", "token_mask"]


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


# ------------------------------------------------------------------ batch layout


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
    lengths = as_lengths(lengths, None, max_len)
    return np.arange(max_len)[None, :] < lengths[:, None]

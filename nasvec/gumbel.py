"""The Gumbel-Softmax relaxation (chapter 4, "The Gumbel-Softmax limit theorem"; used by chapter 5).

``gamma(t) = softmax((alpha + g) / t)`` with ``g`` i.i.d. standard Gumbel noise is a random point
of the simplex; as ``t -> 0`` it tends to the one-hot vertex ``e_argmax(alpha + g)`` (Gumbel-max
trick), so ``P(vertex m) = softmax(alpha)_m``.
"""

from __future__ import annotations

import torch


def gumbel_noise(shape, generator: torch.Generator | None = None, dtype=torch.float64, device=None) -> torch.Tensor:
    """Standard Gumbel samples ``-log(-log U)``, ``U ~ Uniform(0, 1)`` (open interval)."""
    u = torch.rand(shape, generator=generator, dtype=dtype, device=device)
    tiny = torch.finfo(dtype).tiny
    return -torch.log(-torch.log(u.clamp(min=tiny, max=1.0 - torch.finfo(dtype).eps)))


def sample(alpha: torch.Tensor, t: float, n: int | None = None, generator: torch.Generator | None = None) -> torch.Tensor:
    """Draw ``gamma ~ GumbelSoftmax(alpha, t)`` along the last axis of ``alpha``.

    ``n`` draws are stacked in a new leading axis when given. Differentiable in ``alpha``
    (reparameterisation), so it serves both the Monte Carlo of chapter 4 and the mixed ops of
    chapter 5.
    """
    if not t > 0:
        raise ValueError(f"temperature t must be > 0, got {t!r}")
    shape = alpha.shape if n is None else (n, *alpha.shape)
    g = gumbel_noise(shape, generator=generator, dtype=alpha.dtype, device=alpha.device)
    return torch.softmax((alpha + g) / t, dim=-1)

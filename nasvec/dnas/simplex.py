"""The simplex of complexity vectors and of Gumbel-Softmax draws (chapters 4 and 5).

A complexity vector ``s`` (one penalty per op) and a relaxed op choice ``gamma`` are both points of
the simplex ``{x >= 0, sum x = 1}``. This module checks such points, draws them uniformly, lays a
grid on the simplex and maps the 2-simplex to the plane for the book's triangle plots.
"""

from __future__ import annotations

import itertools

import numpy as np
import torch

from ..errors import SearchError

#: plane coordinates of the 2-simplex's vertices e1 (left), e2 (right), e3 (top), an equilateral triangle
CORNERS = np.array([[0.0, 0.0], [1.0, 0.0], [0.5, np.sqrt(3) / 2]])


def check_simplex(s, k: int, name: str = "s", atol: float = 1e-4) -> torch.Tensor:
    """``s`` as a float32 tensor ``(k,)`` (or ``(n, k)``) after checking it lies on the simplex."""
    try:
        t = torch.as_tensor(np.asarray(s, dtype=np.float64), dtype=torch.float32)
    except (TypeError, ValueError):
        raise SearchError(f"{name} must be a vector of {k} numbers, got {s!r}") from None
    if t.ndim not in (1, 2) or t.shape[-1] != k:
        raise SearchError(f"{name} must have length {k} (one penalty per op), got shape {tuple(t.shape)}")
    if not torch.isfinite(t).all() or (t < -atol).any():
        raise SearchError(f"{name} must be on the simplex (entries >= 0, sum 1), got {np.asarray(s).tolist()}")
    if ((t.sum(-1) - 1).abs() > atol).any():
        raise SearchError(f"{name} must be on the simplex (entries sum to 1), got sum "
                          f"{np.round(t.sum(-1).numpy(), 6).tolist()}")
    return t.clamp(min=0)


def sample_simplex(k: int, n: int | None = None, generator: torch.Generator | None = None) -> torch.Tensor:
    """Uniform points on the simplex (Dirichlet(1, ..., 1)): normalised exponential variables."""
    shape = (k,) if n is None else (n, k)
    e = -torch.log(torch.rand(shape, generator=generator).clamp(min=1e-12))
    return e / e.sum(-1, keepdim=True)


def simplex_grid(k: int, steps: int) -> np.ndarray:
    """All points of the simplex in ``k`` dimensions whose coordinates are multiples of ``1/steps``."""
    if steps < 1:
        raise SearchError(f"steps must be >= 1, got {steps!r}")
    pts = [c for c in itertools.product(range(steps + 1), repeat=k) if sum(c) == steps]
    return np.array(sorted(pts, reverse=True), dtype=np.float64) / steps


def default_references(k: int) -> np.ndarray:
    """Vertices, edge midpoints and centre of the simplex."""
    return np.vstack([simplex_grid(k, 2), np.full((1, k), 1.0 / k)])


def to_plane(points) -> np.ndarray:
    """Plane coordinates ``(..., 2)`` of points ``(..., 3)`` of the 2-simplex (corners :data:`CORNERS`)."""
    p = np.asarray(points.detach() if isinstance(points, torch.Tensor) else points, dtype=np.float64)
    if p.shape[-1] != 3:
        raise SearchError(f"triangle plots need points of 3 components, got shape {p.shape}")
    return p @ CORNERS

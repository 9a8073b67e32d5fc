"""The Gumbel-Softmax relaxation (chapter 4, "The Gumbel-Softmax limit theorem"; used by chapter 5).

``gamma(t) = softmax((alpha + g) / t)`` with ``g`` i.i.d. standard Gumbel noise is a random point
of the simplex; as ``t -> 0`` it tends to the one-hot vertex ``e_argmax(alpha + g)`` (Gumbel-max
trick), so ``P(vertex m) = softmax(alpha)_m``.

What the chapter needs besides the sampler:

* the three candidate limits of ``E f(gamma(t))``: :func:`expect` (Monte Carlo with a standard
  error), :func:`relaxed_mean` (``Softmax(alpha / t)``, the slides' ``gamma_bar(t)``; ``t = 0`` gives
  the one-hot limit ``gamma_bar(0)``) and :func:`vertex_expectation`
  (``sum_m softmax(alpha)_m f(e_m)``, the corrected limit);
* :func:`exact_mean`: ``E[gamma(t)]`` and its Jacobian in ``alpha`` by one-dimensional numerical
  integration (any ``k``), so that ``E[gamma(t)] != Softmax(alpha / t)`` is shown without sampling
  noise;
* gradient estimators of ``d/d alpha E f(gamma(t))``: :func:`pathwise_grads`
  (reparameterisation), :func:`score_function_grads` (REINFORCE for the discrete limit),
  the exact :func:`discrete_grad` and :func:`relaxed_grad`;
* test functions :func:`linear` and :func:`quadratic`.

The chapter's studies (tables over temperatures, the tiny mixed-op network whose loss is the
theorem's ``f``) are in :mod:`nasvec.experiments.gumbel`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch

# --------------------------------------------------------------------------- validation
def check_temperature(t, name: str = "t", allow_zero: bool = False) -> float:
    try:
        value = float(t)
    except (TypeError, ValueError):
        raise TypeError(f"temperature {name} must be a number, got {t!r}") from None
    ok = value >= 0 if allow_zero else value > 0
    if not (ok and math.isfinite(value)):
        bound = ">= 0" if allow_zero else "> 0"
        raise ValueError(f"temperature {name} must be finite and {bound}, got {t!r}")
    return value


def check_count(n, name: str = "n") -> int:
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"{name} must be a positive integer, got {n!r}")
    return int(n)


def as_logits(alpha, name: str = "alpha", vector: bool = False) -> torch.Tensor:
    """``alpha`` as a floating tensor (float64 unless it already is a floating tensor)."""
    if not isinstance(alpha, torch.Tensor):
        try:
            alpha = torch.as_tensor(np.asarray(alpha, dtype=np.float64))
        except (TypeError, ValueError):
            raise TypeError(f"{name} must be a tensor or an array of numbers, got {type(alpha).__name__}") from None
    elif not alpha.is_floating_point():
        alpha = alpha.to(torch.float64)
    if alpha.ndim == 0 or alpha.shape[-1] < 2:
        raise ValueError(f"{name} must have at least 2 logits along its last axis, got shape {tuple(alpha.shape)}")
    if vector and alpha.ndim != 1:
        raise ValueError(f"{name} must be a vector of k logits, got shape {tuple(alpha.shape)}")
    if not torch.isfinite(alpha.detach()).all():
        raise ValueError(f"{name} must be finite, got {alpha.detach().tolist()}")
    return alpha


# --------------------------------------------------------------------------- sampling
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
    if not isinstance(alpha, torch.Tensor) or not alpha.is_floating_point() or alpha.ndim == 0:
        raise TypeError(f"alpha must be a floating-point tensor with at least one axis, got {alpha!r}")
    if n is not None:
        n = check_count(n)
    shape = alpha.shape if n is None else (n, *alpha.shape)
    g = gumbel_noise(shape, generator=generator, dtype=alpha.dtype, device=alpha.device)
    return torch.softmax((alpha + g) / t, dim=-1)


def sample_vertices(alpha, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
    """``n`` draws of ``argmax_m (alpha_m + g_m)``: the vertex ``gamma(t)`` tends to as ``t -> 0``."""
    alpha = as_logits(alpha).detach()
    n = check_count(n)
    g = gumbel_noise((n, *alpha.shape), generator=generator, dtype=alpha.dtype, device=alpha.device)
    return torch.argmax(alpha + g, dim=-1)


# --------------------------------------------------------------------------- the candidate limits
def relaxed_mean(alpha, t: float) -> torch.Tensor:
    """The slides' ``gamma_bar(t) = Softmax(alpha / t)``.

    ``t = 0`` gives its limit ``gamma_bar(0)``: the vertex of the largest logit (the uniform
    average of the vertices of the largest logits when several tie).
    """
    alpha = as_logits(alpha)
    t = check_temperature(t, allow_zero=True)
    if t == 0:
        top = alpha == alpha.max(dim=-1, keepdim=True).values
        return top.to(alpha.dtype) / top.sum(dim=-1, keepdim=True)
    return torch.softmax(alpha / t, dim=-1)


def vertex_probabilities(alpha) -> torch.Tensor:
    """``P(argmax_m (alpha_m + g_m) = m) = softmax(alpha)_m`` (the Gumbel-max trick)."""
    return torch.softmax(as_logits(alpha), dim=-1)


def vertices(k: int, dtype=torch.float64) -> torch.Tensor:
    """The ``k`` vertices ``e_1..e_k`` of the simplex as the rows of a ``(k, k)`` matrix."""
    return torch.eye(check_count(k, "k"), dtype=dtype)


def batch_values(f: Callable, gamma: torch.Tensor, name: str = "f") -> torch.Tensor:
    out = f(gamma)
    if not isinstance(out, torch.Tensor) or out.ndim == 0 or out.shape[0] != gamma.shape[0]:
        shape = tuple(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__
        raise ValueError(f"{name} must map a batch of b points of the simplex (b, k) to b values (b, ...), "
                         f"got {shape} for b = {gamma.shape[0]}")
    return out


def vertex_values(f: Callable, k: int) -> torch.Tensor:
    """``f(e_m)`` for the ``k`` vertices (``f`` takes a ``(b, k)`` batch)."""
    return batch_values(f, vertices(k))


def vertex_expectation(f: Callable, alpha) -> torch.Tensor:
    """The corrected limit ``lim_{t->0} E f(gamma(t)) = sum_m softmax(alpha)_m f(e_m)`` (``alpha`` a vector)."""
    alpha = as_logits(alpha, vector=True)
    p = torch.softmax(alpha, dim=-1)
    vals = batch_values(f, vertices(len(alpha), dtype=alpha.dtype))
    return torch.tensordot(p, vals, dims=([0], [0]))


# --------------------------------------------------------------------------- Monte Carlo
@dataclass
class Estimate:
    """A Monte Carlo mean with its standard error, from ``n`` independent draws."""

    mean: torch.Tensor
    se: torch.Tensor
    std: torch.Tensor
    n: int

    def ci(self, z: float = 1.96) -> tuple[torch.Tensor, torch.Tensor]:
        """A normal-approximation confidence band ``mean -/+ z se`` (95 % for ``z = 1.96``)."""
        return self.mean - z * self.se, self.mean + z * self.se

    @property
    def total_variance(self) -> float:
        """Sum of the per-component variances of one draw (``tr Cov``), e.g. of a gradient estimator."""
        return float((self.std ** 2).sum())


def summarize(draws: torch.Tensor) -> Estimate:
    """Mean, standard error and standard deviation of i.i.d. draws stacked along axis 0."""
    if not isinstance(draws, torch.Tensor) or draws.ndim == 0 or draws.shape[0] < 2:
        raise ValueError(f"draws must be a tensor of at least 2 draws along axis 0, got {draws!r}")
    d = draws.detach().to(torch.float64)
    std = d.std(dim=0, unbiased=True)
    return Estimate(d.mean(dim=0), std / math.sqrt(d.shape[0]), std, d.shape[0])


def expect(f: Callable, alpha, t: float, n: int, generator: torch.Generator | None = None,
           batch: int = 65536) -> Estimate:
    """Monte Carlo estimate of ``E f(gamma(t))``, ``gamma(t) ~ GumbelSoftmax(alpha, t)``.

    ``f`` maps a batch ``(b, *alpha.shape)`` of points of the simplex to ``(b,)`` values (or
    ``(b, ...)`` for a vector-valued ``f``; ``f = lambda g: g`` estimates ``E[gamma(t)]``).
    Draws are made ``batch`` at a time; sums are kept in float64.
    """
    alpha = as_logits(alpha).detach()
    t = check_temperature(t)
    n = check_count(n)
    batch = check_count(batch, "batch")
    if n < 2:
        raise ValueError(f"n must be at least 2 to estimate a standard error, got {n}")
    s1 = s2 = shift = None
    done = 0
    with torch.no_grad():
        while done < n:
            b = min(batch, n - done)
            vals = batch_values(f, sample(alpha, t, b, generator)).to(torch.float64)
            if shift is None:  # sums of deviations from a first guess of the mean: no cancellation
                shift = vals.mean(0)
                s1, s2 = torch.zeros_like(shift), torch.zeros_like(shift)
            dev = vals - shift
            s1, s2 = s1 + dev.sum(0), s2 + (dev ** 2).sum(0)
            done += b
    mean = shift + s1 / n
    var = ((s2 - s1 ** 2 / n) / (n - 1)).clamp(min=0.0)
    std = var.sqrt()
    return Estimate(mean, std / math.sqrt(n), std, n)


# --------------------------------------------------------------------------- E[gamma(t)] by quadrature
def _simpson(h: float, n: int) -> np.ndarray:
    """Composite Simpson weights for ``n`` (odd) equally spaced points."""
    w = np.ones(n)
    w[1:-1:2], w[2:-1:2] = 4.0, 2.0
    return w * h / 3.0


def _grid(lo: float, hi: float, h: float) -> tuple[np.ndarray, np.ndarray]:
    m = int(math.ceil((hi - lo) / h / 2.0)) * 2  # even number of intervals
    x = lo + h * np.arange(m + 1)
    return x, _simpson(h, m + 1)


def exact_mean(alpha, t: float, jacobian: bool = False, h: float = 0.1):
    """``E[gamma(t)]`` for ``gamma(t) ~ GumbelSoftmax(alpha, t)`` by numerical integration.

    With ``Y_j = exp((alpha_j + g_j) / t)`` and ``1 / S = int_0^inf exp(-r S) dr``,
    ``E[gamma_m] = E[Y_m / sum_j Y_j]`` becomes one integral over ``tau = t log r``::

        E[gamma_m(t)] = int psi_m(tau) prod_{j != m} phi_j(tau) dtau,
        phi_j(tau) = E exp(-exp((tau + alpha_j + g) / t)),
        psi_j(tau) = E (1/t) exp((tau + alpha_j + g) / t) exp(-exp((tau + alpha_j + g) / t)),

    each of ``phi``, ``psi`` itself a one-dimensional integral over the Gumbel variable ``g``
    (written in ``y = (tau + alpha_j + g) / t`` so it stays accurate for small ``t``). As
    ``phi_j' = -psi_j``, the Jacobian is ``d E[gamma_m] / d alpha_j =
    -int psi_m psi_j prod_{l != m, j} phi_l`` (``m != j``), with rows summing to zero.
    Composite Simpson rules of step ``h`` (scaled with ``t``); with the default step the
    components sum to 1 within 1e-10 for ``1e-4 <= t <= 30`` (the test suite checks the result
    against Monte Carlo, a finer step and finite differences).

    Returns a float64 tensor ``(k,)``, and ``(k, k)`` Jacobian ``J[m, j]`` when ``jacobian``.
    """
    a = as_logits(alpha, vector=True).detach().cpu().numpy().astype(np.float64)
    t = check_temperature(t)
    if not (0 < h <= 0.5):
        raise ValueError(f"quadrature step h must be in (0, 0.5], got {h!r}")
    k = a.size
    hy = min(h, 2.0 * h / t)             # the Gumbel density varies on the scale 1/t in y
    y, wy = _grid(-40.0, 5.0, hy)       # exp(-e^y) ~ 1 below -40 (e^-40 ~ 4e-18), ~ 0 above 5
    tau, wt = _grid(-a.max() - 40.0 - 45.0 * t, -a.min() + 6.0 + 6.0 * t, h * max(1.0, t))
    e1 = np.exp(-np.exp(y))
    e2 = np.exp(y) * e1
    phi = np.empty((k, tau.size))
    psi = np.empty((k, tau.size))
    chunk = max(1, int(4e6 // y.size))
    with np.errstate(over="ignore", under="ignore"):
        for j in range(k):
            for s in range(0, tau.size, chunk):
                tt = tau[s:s + chunk, None]
                g = t * y[None, :] - tt - a[j]
                p = np.exp(-g - np.exp(-g))                       # Gumbel density at g
                tail = np.exp(-np.exp(40.0 * t + tt[:, 0] + a[j]))  # P(y < -40) = F(-40 t - tau - a_j)
                phi[j, s:s + chunk] = tail + t * (p * e1) @ wy
                psi[j, s:s + chunk] = (p * e2) @ wy
    log_phi = np.log(np.clip(phi, 1e-300, None))
    mean = np.empty(k)
    for m in range(k):
        mean[m] = (psi[m] * np.exp(log_phi.sum(0) - log_phi[m])) @ wt
    if not jacobian:
        return torch.as_tensor(mean)
    jac = np.zeros((k, k))
    for m in range(k):
        for j in range(k):
            if j != m:
                rest = log_phi.sum(0) - log_phi[m] - log_phi[j]
                jac[m, j] = -(psi[m] * psi[j] * np.exp(rest)) @ wt
        jac[m, m] = -jac[m].sum()
    return torch.as_tensor(mean), torch.as_tensor(jac)


# --------------------------------------------------------------------------- gradient estimators
def pathwise_grads(f: Callable, alpha, t: float, n: int, generator: torch.Generator | None = None,
                   batch: int = 8192) -> torch.Tensor:
    """``n`` per-draw reparameterised gradients ``d f(softmax((alpha + g) / t)) / d alpha``.

    Their mean is an unbiased estimate of ``d/d alpha E f(gamma(t))`` (the relaxed objective),
    not of the discrete objective's gradient. ``f`` must be differentiable (torch operations)
    and map ``(b, *alpha.shape)`` to ``(b,)``. Returns ``(n, *alpha.shape)``.
    """
    alpha = as_logits(alpha).detach()
    t = check_temperature(t)
    n = check_count(n)
    out = []
    done = 0
    while done < n:
        b = min(check_count(batch, "batch"), n - done)
        rep = alpha.expand(b, *alpha.shape).clone().requires_grad_(True)
        g = gumbel_noise(rep.shape, generator=generator, dtype=alpha.dtype, device=alpha.device)
        vals = batch_values(f, torch.softmax((rep + g) / t, dim=-1))
        if vals.ndim != 1:
            raise ValueError(f"f must return one value per draw, shape (b,), got {tuple(vals.shape)}")
        if not vals.requires_grad:
            raise ValueError("f must be differentiable in gamma (built from torch operations)")
        (grad,) = torch.autograd.grad(vals.sum(), rep)
        out.append(grad)
        done += b
    return torch.cat(out)


def score_function_grads(f: Callable, alpha, n: int, generator: torch.Generator | None = None,
                         baseline: str | float | None = None) -> torch.Tensor:
    """``n`` per-draw REINFORCE gradients of the discrete objective ``J(alpha) = E_m f(e_m)``,
    ``m ~ Categorical(softmax(alpha))`` (drawn by the Gumbel-max trick).

    One draw is ``(f(e_m) - b) (e_m - softmax(alpha))``, the score ``d log p_m / d alpha``
    times the centred value. ``baseline``: ``None`` (b = 0), a number, or ``"loo"`` (the mean
    value of the other ``n - 1`` draws; keeps the estimator unbiased). Returns ``(n, k)``.
    """
    alpha = as_logits(alpha, vector=True).detach()
    n = check_count(n)
    if baseline is not None and baseline != "loo" and not isinstance(baseline, (int, float)):
        raise ValueError(f"baseline must be None, a number or 'loo', got {baseline!r}")
    if baseline == "loo" and n < 2:
        raise ValueError("baseline='loo' needs n >= 2 draws")
    k = len(alpha)
    with torch.no_grad():
        vals = batch_values(f, vertices(k, alpha.dtype)).to(torch.float64)
        if vals.ndim != 1:
            raise ValueError(f"f must return one value per point, shape (b,), got {tuple(vals.shape)}")
        m = sample_vertices(alpha, n, generator)
        fv = vals[m]
        if baseline == "loo":
            b = (fv.sum() - fv) / (n - 1)
        else:
            b = float(baseline or 0.0)
        p = torch.softmax(alpha.to(torch.float64), dim=-1)
        score = torch.nn.functional.one_hot(m, k).to(torch.float64) - p
        return (fv - b)[:, None] * score


def discrete_grad(f: Callable, alpha) -> torch.Tensor:
    """Exact ``d/d alpha sum_m softmax(alpha)_m f(e_m) = p * (F - <p, F>)``, ``F_m = f(e_m)``."""
    alpha = as_logits(alpha, vector=True).detach().to(torch.float64)
    with torch.no_grad():
        vals = batch_values(f, vertices(len(alpha)))
    if vals.ndim != 1:
        raise ValueError(f"f must return one value per point, shape (b,), got {tuple(vals.shape)}")
    p = torch.softmax(alpha, dim=-1)
    return p * (vals.to(torch.float64) - (p * vals).sum())


def relaxed_grad(f: Callable, alpha, t: float) -> torch.Tensor:
    """``d/d alpha f(Softmax(alpha / t))``: the gradient of the deterministic relaxation."""
    alpha = as_logits(alpha, vector=True).detach().clone().requires_grad_(True)
    t = check_temperature(t)
    val = batch_values(f, torch.softmax(alpha / t, dim=-1)[None])
    if val.numel() != 1:
        raise ValueError(f"f must return one value per point, got shape {tuple(val.shape)}")
    if not val.requires_grad:
        raise ValueError("f must be differentiable in gamma (built from torch operations)")
    (grad,) = torch.autograd.grad(val.sum(), alpha)
    return grad


# --------------------------------------------------------------------------- test functions
def linear(values) -> Callable:
    """``f(gamma) = <gamma, values>``: linear, with ``f(e_m) = values[m]``."""
    c = as_logits(values, "values", vector=True).detach().to(torch.float64)
    return lambda gamma: gamma.to(c.dtype) @ c


def quadratic(center) -> Callable:
    """``f(gamma) = ||gamma - center||^2``: a non-linear, bounded, continuous ``f`` on the simplex."""
    q = as_logits(center, "center", vector=True).detach().to(torch.float64)
    return lambda gamma: ((gamma.to(q.dtype) - q) ** 2).sum(-1)

"""Chapter 4 ("The Gumbel-Softmax limit theorem", ``notebooks/gumbel.ipynb``): its studies and tables.

The sampler, the candidate limits, Monte Carlo, quadrature and the gradient estimators are in
:mod:`nasvec.dnas.gumbel_softmax`; this module runs them over temperatures and problems (one row per
temperature), trains the tiny mixed-op network whose loss is the theorem's ``f`` and writes the
chapter's tables. Every study draws from the one generator it is given, in the chapter's order.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
import pandas as pd
import torch

from ..cache import cached
from ..config import Config
from ..data import load_digits, split_indices
from ..errors import ConfigError
from ..dnas.gumbel_softmax import (as_logits, batch_values, check_count, check_temperature, discrete_grad, exact_mean,
                             expect, pathwise_grads, relaxed_grad, relaxed_mean, score_function_grads, summarize,
                             vertex_expectation)
from ..dnas.simplex import sample_simplex
from ..train import run_epochs

OPS = ("max_pool3x3", "identity", "conv3x3")  # the slides' order of s = (pool, ident, conv)


# --------------------------------------------------------------------------- a tiny mixed-op network
class MixedOpNet(torch.nn.Module):
    """A one-edge DARTS-style network on 8x8 images: stem, one mixed op, classifier.

    ``x -> h = ReLU(BN(conv3x3(x)))`` (``channels`` maps), then the mixed op
    ``sum_m gamma_m o_m(h)`` over :data:`OPS` (3x3 max-pool, identity, 3x3 conv + ReLU; stride 1,
    same size), then ReLU, flatten and a linear classifier. ``gamma`` is ``(k,)``, or ``(b, k)``
    with one point of the simplex per image.
    """

    def __init__(self, channels: int = 8, size: int = 8, classes: int = 10):
        super().__init__()
        nn = torch.nn
        self.stem = nn.Sequential(nn.Conv2d(1, channels, 3, padding=1), nn.BatchNorm2d(channels), nn.ReLU())
        self.ops = nn.ModuleList([
            nn.MaxPool2d(3, stride=1, padding=1),
            nn.Identity(),
            nn.Sequential(nn.Conv2d(channels, channels, 3, padding=1), nn.ReLU()),
        ])
        self.head = nn.Linear(channels * size * size, classes)

    def op_outputs(self, x: torch.Tensor) -> torch.Tensor:
        """``(k, b, channels * size * size)``: every op's output on the stem features of ``x``."""
        h = self.stem(x)
        return torch.stack([op(h).flatten(1) for op in self.ops])

    def forward(self, x: torch.Tensor, gamma: torch.Tensor) -> torch.Tensor:
        outs = self.op_outputs(x)
        if gamma.ndim == 2:
            if gamma.shape != (x.shape[0], len(self.ops)):
                raise ConfigError(f"gamma must be ({len(self.ops)},) or (batch, {len(self.ops)}), got {tuple(gamma.shape)}")
            return self.head(torch.relu(torch.einsum("bk,kbd->bd", gamma.to(outs.dtype), outs)))
        if gamma.shape != (len(self.ops),):
            raise ConfigError(f"gamma must be ({len(self.ops)},) or (batch, {len(self.ops)}), got {tuple(gamma.shape)}")
        return self.head(torch.relu(torch.einsum("k,kbd->bd", gamma.to(outs.dtype), outs)))


@dataclass(frozen=True)
class MixedNetConfig(Config):
    """The training of :class:`MixedOpNet`: epochs, Adam's learning rate, batch size, channels, seed."""

    epochs: int = 20
    lr: float = 3e-3
    batch_size: int = 64
    channels: int = 8
    seed: int = 0


def train_mixed_net(x, y, cfg: MixedNetConfig) -> dict:
    """Train :class:`MixedOpNet`'s weights with ``gamma ~ Uniform(simplex)`` (Dirichlet(1)) per image,
    so that every point of the simplex, vertices included, is a trained network (through
    :func:`nasvec.train.run_epochs`; the Dirichlet draws come from the shuffling's generator).

    Returns ``{"state": state_dict, "loss": [mean training loss per epoch], "channels": ...}``.
    """
    x = torch.as_tensor(x, dtype=torch.float32)
    y = torch.as_tensor(y, dtype=torch.int64)
    if x.ndim != 4 or x.shape[1] != 1 or x.shape[0] != y.shape[0]:
        raise ConfigError(f"x must be (n, 1, h, w) images with one label each in y, got {tuple(x.shape)} and {tuple(y.shape)}")
    epochs = check_count(cfg.epochs, "epochs")
    gen = torch.Generator().manual_seed(cfg.seed)
    torch.manual_seed(cfg.seed)
    model = MixedOpNet(channels=cfg.channels, size=x.shape[-1], classes=int(y.max()) + 1)
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr)

    def step(idx, epoch):
        gamma = sample_simplex(len(OPS), len(idx), generator=gen)
        loss = torch.nn.functional.cross_entropy(model(x[idx], gamma), y[idx])
        return loss, {"loss": float(loss.detach()) * len(idx)}

    rows = run_epochs(step, len(y), epochs, cfg.batch_size, gen, [opt], modules=[model])
    return {"state": {k: v.detach().clone() for k, v in model.state_dict().items()},
            "loss": [r["sums"]["loss"] / len(y) for r in rows],
            "channels": cfg.channels, "size": int(x.shape[-1]), "classes": int(y.max()) + 1}


def load_mixed_net(trained: dict) -> MixedOpNet:
    """The :class:`MixedOpNet` of a :func:`train_mixed_net` result, in eval mode."""
    model = MixedOpNet(trained["channels"], trained["size"], trained["classes"])
    model.load_state_dict(trained["state"])
    return model.eval()


def network_objective(model: MixedOpNet, x, y, kappa: float = 0.0, s=None, batch: int = 8) -> Callable:
    """The slides' ``f(gamma) = L_task(w, gamma) + kappa <gamma, s>`` for fixed weights ``w``.

    ``L_task`` is the mean cross-entropy of ``model`` on ``(x, y)``. The op outputs are computed
    once, so ``f`` maps a batch ``(b, k)`` of points of the simplex to ``(b,)`` float64 losses
    cheaply (``batch`` points at a time, in float32 as the model); ``f`` is differentiable in
    ``gamma``.
    """
    k = len(model.ops)
    if s is None:
        s = torch.full((k,), 1.0 / k, dtype=torch.float64)
    s = as_logits(s, "s", vector=True).detach().to(torch.float64)
    if len(s) != k or (s < 0).any() or abs(float(s.sum()) - 1.0) > 1e-6:
        raise ConfigError(f"s must be a point of the simplex with {k} components (non-negative, sum 1), got {s.tolist()}")
    kappa = float(kappa)
    x = torch.as_tensor(x, dtype=torch.float32)
    y = torch.as_tensor(y, dtype=torch.int64)
    batch = check_count(batch, "batch")
    with torch.no_grad():
        outs = model.op_outputs(x)                      # (k, N, d)
    n_img, d = outs.shape[1], outs.shape[2]
    flat = outs.reshape(k, -1)
    w = model.head.weight.detach()
    bias = model.head.bias.detach()

    def f(gamma: torch.Tensor) -> torch.Tensor:
        if gamma.ndim != 2 or gamma.shape[1] != k:
            raise ConfigError(f"gamma must be a batch (b, {k}) of points of the simplex, got {tuple(gamma.shape)}")
        losses = []
        for i in range(0, gamma.shape[0], batch):
            g = gamma[i:i + batch].to(torch.float32)
            logits = torch.relu((g @ flat).view(g.shape[0], n_img, d)) @ w.T + bias
            ce = torch.nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]),
                                                   y.repeat(g.shape[0]), reduction="none")
            losses.append(ce.view(g.shape[0], -1).mean(1))
        return torch.cat(losses).to(torch.float64) + kappa * gamma.to(torch.float64) @ s

    return f


# --------------------------------------------------------------------------- studies for the chapter
def temperature_grid(t_max: float, t_min: float, n: int) -> list[float]:
    """``n`` temperatures from ``t_max`` down to ``t_min``, evenly spaced in log scale."""
    t_max, t_min, n = check_temperature(t_max, "t_max"), check_temperature(t_min, "t_min"), check_count(n, "n_t")
    if t_min >= t_max or n < 2:
        raise ConfigError(f"need t_min < t_max and n_t >= 2, got t_max={t_max}, t_min={t_min}, n_t={n}")
    return [float(v) for v in np.geomspace(t_max, t_min, n)]


def limit_study(f: Callable, alpha, ts, n: int, generator: torch.Generator | None = None,
                linear_values=None, batch: int = 65536) -> list[dict]:
    """One row per temperature: the Monte Carlo ``E f(gamma(t))`` with its standard error, the
    relaxed value ``f(Softmax(alpha / t))``, the slides' claimed limit ``f(gamma_bar(0))`` and
    the corrected limit ``sum_m softmax(alpha)_m f(e_m)``. For a linear ``f`` give its vertex
    values as ``linear_values`` to add the exact ``E f(gamma(t)) = <values, E gamma(t)>``."""
    alpha = as_logits(alpha, vector=True).detach().to(torch.float64)
    with torch.no_grad():
        claimed = float(batch_values(f, relaxed_mean(alpha, 0)[None])[0])
        corrected = float(vertex_expectation(f, alpha))
    rows = []
    for t in ts:
        est = expect(f, alpha, t, n, generator, batch=batch)
        with torch.no_grad():
            relaxed = float(batch_values(f, relaxed_mean(alpha, t)[None])[0])
        row = {"t": float(t), "mc_mean": float(est.mean), "mc_se": float(est.se)}
        if linear_values is not None:
            c = as_logits(linear_values, "linear_values", vector=True).detach().to(torch.float64)
            row["exact"] = float(exact_mean(alpha, t) @ c)
        row.update({"relaxed_f_softmax_alpha_over_t": relaxed, "claimed_f_gamma_bar_0": claimed,
                    "corrected_sum_p_f_vertex": corrected, "n": n})
        rows.append(row)
    return rows


def mean_study(alpha, ts, n: int, generator: torch.Generator | None = None, batch: int = 65536) -> list[dict]:
    """One row per temperature and component ``m``: exact ``E[gamma_m(t)]``, its Monte Carlo estimate
    with standard error, ``Softmax(alpha / t)_m`` and the limit ``softmax(alpha)_m``."""
    alpha = as_logits(alpha, vector=True).detach().to(torch.float64)
    p = torch.softmax(alpha, 0)
    rows = []
    for t in ts:
        est = expect(lambda g: g, alpha, t, n, generator, batch=batch)
        ex = exact_mean(alpha, t)
        soft = relaxed_mean(alpha, t)
        for m in range(len(alpha)):
            rows.append({"t": float(t), "m": m + 1, "exact_E_gamma": float(ex[m]), "mc_mean": float(est.mean[m]),
                         "mc_se": float(est.se[m]), "softmax_alpha_over_t": float(soft[m]),
                         "softmax_alpha": float(p[m])})
    return rows


def gradient_study(f: Callable, alpha, ts, n: int, generator: torch.Generator | None = None,
                   linear_values=None) -> list[dict]:
    """Per temperature: the pathwise estimator of ``d/d alpha E f(gamma(t))`` (its mean, the total
    variance ``tr Cov`` of one draw, its distance to the discrete gradient ``grad J``) and the
    deterministic relaxation's gradient ``d f(Softmax(alpha/t)) / d alpha`` (its distance to
    ``grad J``); and, once, REINFORCE (no baseline, leave-one-out baseline) for ``grad J``.
    For a linear ``f`` give its vertex values as ``linear_values`` to add the exact distance
    ``||grad E f(gamma(t)) - grad J||`` (from the Jacobian of :func:`exact_mean`)."""
    alpha = as_logits(alpha, vector=True).detach().to(torch.float64)
    target = discrete_grad(f, alpha)
    plain = summarize(score_function_grads(f, alpha, n, generator))
    loo = summarize(score_function_grads(f, alpha, n, generator, baseline="loo"))
    rows = []
    for t in ts:
        est = summarize(pathwise_grads(f, alpha, t, n, generator))
        rows.append({
            "t": float(t), "n": n,
            "pathwise_total_var": est.total_variance,
            "pathwise_bias_to_grad_J": float((est.mean - target).norm()),
            "pathwise_bias_se": float(est.se.norm()),
            "relaxed_grad_error": float((relaxed_grad(f, alpha, t) - target).norm()),
            **({"exact_bias_to_grad_J": float((exact_mean(alpha, t, jacobian=True)[1].T
                                               @ as_logits(linear_values, "linear_values", vector=True).to(torch.float64)
                                               - target).norm())} if linear_values is not None else {}),
            "reinforce_total_var": plain.total_variance,
            "reinforce_loo_total_var": loo.total_variance,
            "grad_J_norm": float(target.norm()),
        })
    return rows


def random_problems(n_problems: int, t: float, n: int, generator: torch.Generator | None = None,
                    k_range=(2, 6)) -> list[dict]:
    """Random ``(alpha, f)`` pairs, ``alpha ~ N(0, 1.5^2)``, ``f(gamma) = <gamma, c> + b ||gamma||^2``
    with ``c ~ N(0, 1)``, ``b ~ U(-1, 1)`` (bounded, continuous, non-linear): per problem the Monte
    Carlo ``E f(gamma(t))`` and its standard error beside the claimed and the corrected limit."""
    n_problems = check_count(n_problems, "n_problems")
    rows = []
    for i in range(n_problems):
        k = int(torch.randint(k_range[0], k_range[1] + 1, (1,), generator=generator))
        alpha = 1.5 * torch.randn(k, dtype=torch.float64, generator=generator)
        c = torch.randn(k, dtype=torch.float64, generator=generator)
        b = float(2 * torch.rand(1, dtype=torch.float64, generator=generator) - 1)
        f = (lambda c_, b_: (lambda g: g @ c_ + b_ * (g ** 2).sum(-1)))(c, b)
        est = expect(f, alpha, t, n, generator)
        rows.append({"problem": i, "k": k, "mc_mean": float(est.mean), "mc_se": float(est.se),
                     "claimed": float(f(relaxed_mean(alpha, 0)[None])[0]),
                     "corrected": float(vertex_expectation(f, alpha)),
                     "p_argmax": float(torch.softmax(alpha, 0).max())})
    return rows


# --------------------------------------------------------------------------- the chapter's tables
def mean_table(alpha, ts, n: int, generator) -> pd.DataFrame:
    """:func:`mean_study` with the z-score of the Monte Carlo estimate against the integral."""
    means = pd.DataFrame(mean_study(alpha, ts, n, generator))
    means["z_mc_vs_integral"] = (means.mc_mean - means.exact_E_gamma) / means.mc_se
    return means


def mean_gaps(means: pd.DataFrame) -> str:
    """The largest |E[gamma(t)] - Softmax(alpha/t)| over components per temperature, and the largest |z|."""
    wide = means.pivot(index="t", columns="m", values=["exact_E_gamma", "softmax_alpha_over_t"]).sort_index(ascending=False)
    gaps = (wide["exact_E_gamma"] - wide["softmax_alpha_over_t"]).abs().max(axis=1).round(4).to_string()
    return (f"largest |E[gamma(t)] - Softmax(alpha/t)| over components, per t:\n{gaps}\n"
            f"largest |z| of the Monte Carlo check of the integral: {means.z_mc_vs_integral.abs().max():.2f} "
            f"({len(means)} comparisons)")


@dataclass
class NetworkProblem:
    """The slides' ``f`` for the tiny network: the trained net, ``f``, its logits, and where it came from."""

    net: MixedOpNet
    f: Callable
    alpha: torch.Tensor
    trained: dict
    from_cache: bool
    x_test: np.ndarray
    y_test: np.ndarray


def network_problem(cfg: MixedNetConfig, alpha, kappa: float, s) -> NetworkProblem:
    """Digits split 80/20 (:func:`nasvec.data.split_indices`), :class:`MixedOpNet` trained on the 80 %
    (cached), and ``f = L_task + kappa <gamma, s>`` on the held-out 20 %."""
    x, y = load_digits()
    tr, te = split_indices(len(y), int(0.8 * len(y)), None, cfg.seed)
    key = dict(epochs=cfg.epochs, channels=cfg.channels, seed=cfg.seed, lr=cfg.lr, batch_size=cfg.batch_size,
               n_train=len(tr), data="digits")
    trained, from_cache = cached("gumbel_mixed_net", key, lambda: train_mixed_net(x[tr], y[tr], cfg))
    net = load_mixed_net(trained)
    f = network_objective(net, x[te], y[te], kappa=kappa, s=s)
    return NetworkProblem(net, f, torch.tensor(alpha, dtype=torch.float64), trained, from_cache, x[te], y[te])


def network_vertices(p: NetworkProblem, epochs: int) -> pd.DataFrame:
    """At each vertex of the simplex (one op alone): test accuracy, ``L_task``, ``f`` and ``softmax(alpha)``."""
    eye = torch.eye(3, dtype=torch.float64)
    with torch.no_grad():
        acc = [float((p.net(torch.as_tensor(p.x_test), e.float()).argmax(1) == torch.as_tensor(p.y_test)).float().mean())
               for e in eye]
        task = network_objective(p.net, p.x_test, p.y_test)(eye)
    table = pd.DataFrame({"op": OPS, "test_accuracy": acc, "L_task": task.numpy(), "f_e_m": p.f(eye).numpy(),
                          "softmax_alpha": torch.softmax(p.alpha, 0).numpy()})
    table["epochs"] = epochs
    return table


def limits_summary(studies: dict) -> pd.DataFrame:
    """At the smallest temperature of each study: the Monte Carlo mean, and its distance in standard
    errors to the claimed and to the corrected limit."""
    return pd.DataFrame([
        dict(f=name, t=d.t.iloc[-1], n=int(d.n.iloc[-1]), mc_mean=d.mc_mean.iloc[-1], mc_se=d.mc_se.iloc[-1],
             claimed_f_gamma_bar_0=d.claimed_f_gamma_bar_0[0], corrected=d.corrected_sum_p_f_vertex[0],
             z_vs_claimed=(d.mc_mean.iloc[-1] - d.claimed_f_gamma_bar_0[0]) / d.mc_se.iloc[-1],
             z_vs_corrected=(d.mc_mean.iloc[-1] - d.corrected_sum_p_f_vertex[0]) / d.mc_se.iloc[-1])
        for name, d in studies.items()])


def random_tables(n_problems: int, t: float, n: int, generator) -> tuple[pd.DataFrame, pd.DataFrame]:
    """:func:`random_problems` with each problem's z-scores, and the share within 2 and 3 standard errors
    of each limit."""
    rnd = pd.DataFrame(random_problems(n_problems, t, n, generator))
    rnd["z_vs_corrected"] = (rnd.mc_mean - rnd.corrected) / rnd.mc_se
    rnd["z_vs_claimed"] = (rnd.mc_mean - rnd.claimed) / rnd.mc_se
    check = pd.DataFrame([dict(limit=name, problems=len(rnd), t=t, n=n,
                               within_2_se=float((rnd[col].abs() <= 2).mean()),
                               within_3_se=float((rnd[col].abs() <= 3).mean()),
                               median_abs_z=float(rnd[col].abs().median()))
                          for name, col in [("corrected: Σ softmax(α)ₘ f(eₘ)", "z_vs_corrected"),
                                            ("claimed: f(γ̄(0))", "z_vs_claimed")]])
    return rnd, check


def convergence_exponent(lin: pd.DataFrame) -> float:
    """The fitted exponent ``b`` in ``|E f(gamma(t)) - limit| ~ t^b`` for ``t <= 0.1`` (linear ``f``, exact)."""
    err = (lin.exact - lin.corrected_sum_p_f_vertex).abs()
    keep = (lin.t <= 0.1) & (err > 1e-12)
    return float(np.polyfit(np.log(lin.t[keep]), np.log(err[keep]), 1)[0])


def search_gap(problems: dict, sharpness) -> pd.DataFrame:
    """For logits scaled by each factor: the argmax vertex's value beside the sampled mixture's, and the gap."""
    with torch.no_grad():
        gap = pd.DataFrame([dict(f=name, scale=lam, p_argmax=float(torch.softmax(lam * al, 0).max()),
                                 claimed_f_argmax_vertex=float(fn(relaxed_mean(al, 0)[None])[0]),
                                 corrected_sampled_mixture=float(vertex_expectation(fn, lam * al)))
                            for name, (fn, al) in problems.items() for lam in sharpness])
    gap["gap"] = gap.claimed_f_argmax_vertex - gap.corrected_sampled_mixture
    return gap


def cost_table(alpha, s, kappa: float, ts) -> pd.DataFrame:
    """``kappa <gamma_bar, s>`` per temperature for ``gamma_bar`` = E[gamma(t)], Softmax(alpha/t), softmax(alpha)."""
    s_t = torch.tensor(s, dtype=torch.float64)
    cost = pd.DataFrame([dict(t=t, cost_E_gamma=kappa * float(exact_mean(alpha, t) @ s_t),
                              cost_softmax_alpha_over_t=kappa * float(relaxed_mean(alpha, t) @ s_t))
                         for t in ts])
    cost["limit_cost_softmax_alpha"] = kappa * float(torch.softmax(alpha, 0) @ s_t)
    return cost


def gradient_table(problems: dict, ts, n: int, n_net: int, generator, values) -> pd.DataFrame:
    """:func:`gradient_study` of every problem (``n_net`` draws for the network), one frame."""
    return pd.concat([pd.DataFrame(gradient_study(fn, al, ts, n_net if name == "network" else n, generator,
                                                  linear_values=values if name == "linear" else None)).assign(f=name)
                      for name, (fn, al) in problems.items()], ignore_index=True)


def gradient_findings(grads: pd.DataFrame) -> str:
    """The fitted variance exponents for small ``t``, where pathwise is noisier than REINFORCE, the bias at 0.2."""
    small_t = grads[grads.t <= 0.1]
    slope = {name: np.polyfit(np.log(d.t), np.log(d.pathwise_total_var), 1)[0] for name, d in small_t.groupby("f", sort=False)}
    lines = ["fitted exponent b in Var(pathwise) ~ t^b for t <= 0.1: " + str({k: round(float(v), 2) for k, v in slope.items()})]
    for name, d in grads.groupby("f", sort=False):
        worse = d.t[d.pathwise_total_var > d.reinforce_loo_total_var]
        lines.append(f"{name}: pathwise variance above REINFORCE-with-baseline for t <= {worse.max():g}" if len(worse)
                     else f"{name}: pathwise variance below REINFORCE-with-baseline at every t tested")
    lin_02 = grads[(grads.f == "linear") & np.isclose(grads.t, 0.2)]
    if len(lin_02):
        r = lin_02.iloc[0]
        lines.append(f"linear f at t = 0.2: exact bias of the pathwise gradient {r.exact_bias_to_grad_J:.4f}, "
                     f"|grad J| = {r.grad_J_norm:.4f} ({100 * r.exact_bias_to_grad_J / r.grad_J_norm:.1f} %)")
    return "\n".join(lines)

"""Figures of chapter 4 ("The Gumbel-Softmax limit theorem")."""

from __future__ import annotations

import torch

from ...experiments.gumbel import OPS
from ...dnas import gumbel_softmax as gumbel
from ...dnas.simplex import simplex_grid, to_plane

CORNER = to_plane(torch.eye(3))


def _outline(ax):
    ax.fill(CORNER[:, 0], CORNER[:, 1], fc="none", ec="k", lw=0.8)


def samples_simplex(alpha, generator, ts=(10.0, 1.0, 0.1, 0.01), n: int = 400):
    """Draws of gamma(t) on the triangle at four temperatures, with E[gamma(t)], Softmax(alpha/t) and
    softmax(alpha); ``n`` draws per panel from ``generator``."""
    import matplotlib.pyplot as plt

    p = torch.softmax(alpha, 0)
    fig, axes = plt.subplots(1, 4, figsize=(13, 3.4))
    for ax, t in zip(axes, ts):
        xy = to_plane(gumbel.sample(alpha, t, n, generator))
        _outline(ax)
        ax.scatter(xy[:, 0], xy[:, 1], s=4, alpha=0.35, color="tab:gray", label="draws of γ(t)")
        for point, mark, label in [(gumbel.exact_mean(alpha, t), "o", "E[γ(t)] (integral)"),
                                   (gumbel.relaxed_mean(alpha, t), "s", "Softmax(α/t)"), (p, "*", "softmax(α)")]:
            q = to_plane(point)
            ax.scatter(q[0], q[1], marker=mark, s=70, ec="k", zorder=3, label=label)
        for m in range(3):
            ax.annotate(f"e{m + 1}: {p[m]:.3f}", CORNER[m], textcoords="offset points",
                        xytext=(-18, -12 if m < 2 else 5), fontsize=7)
        ax.set_title(f"t = {t:g}", fontsize=10)
        ax.set_axis_off()
    axes[0].legend(fontsize=7, loc="upper left", bbox_to_anchor=(0, 1.25), ncol=2)
    return fig


def mean_vs_softmax(means, alpha):
    """E[gamma_m(t)] (integral, with the 95 % Monte Carlo band) against Softmax(alpha/t)_m, per component."""
    import matplotlib.pyplot as plt

    p = torch.softmax(alpha, 0)
    fig, ax = plt.subplots(figsize=(6.5, 3.8))
    for m, color in zip(range(1, 4), ["tab:blue", "tab:orange", "tab:green"]):
        d = means[means.m == m]
        ax.plot(d.t, d.exact_E_gamma, color=color, label=f"E[γ{m}(t)] (integral)")
        ax.fill_between(d.t, d.mc_mean - 1.96 * d.mc_se, d.mc_mean + 1.96 * d.mc_se, color=color, alpha=0.25)
        ax.plot(d.t, d.softmax_alpha_over_t, "--", color=color, label=f"Softmax(α/t){m}")
        ax.axhline(p[m - 1], color=color, lw=0.6, ls=":")
    ax.set_xscale("log")
    ax.set_xlabel("temperature t")
    ax.set_ylabel("component")
    ax.set_title("E[γ(t)] (band: 95 % Monte Carlo) vs Softmax(α/t); dotted: softmax(α)", fontsize=9)
    ax.legend(fontsize=7, ncol=2)
    return fig


def network_landscape(f, alpha, ts, resolution: int):
    """The network's ``f`` over the simplex (contours) with the paths of Softmax(alpha/t) and E[gamma(t)]."""
    import matplotlib.pyplot as plt

    grid = torch.as_tensor(simplex_grid(3, resolution))
    eye = torch.eye(3, dtype=torch.float64)
    with torch.no_grad():
        heat = f(grid).numpy()
    gxy = to_plane(grid)
    fig, ax = plt.subplots(figsize=(5.5, 4.6))
    cs = ax.tricontourf(gxy[:, 0], gxy[:, 1], heat, levels=20, cmap="viridis")
    fig.colorbar(cs, ax=ax, label="f(γ) = L_task + κ⟨γ, s⟩")
    for path, style, label in [([gumbel.relaxed_mean(alpha, t) for t in ts], "s--", "Softmax(α/t)"),
                               ([gumbel.exact_mean(alpha, t) for t in ts], "o-", "E[γ(t)]")]:
        q = to_plane(torch.stack(path))
        ax.plot(q[:, 0], q[:, 1], style, ms=3, color="tab:orange" if label.startswith("E") else "tab:red", label=label)
    for m, op in enumerate(OPS):
        with torch.no_grad():
            value = float(f(eye[m:m + 1]))
        ax.annotate(f"{op}\nf = {value:.3f}", CORNER[m], fontsize=7, ha="center",
                    textcoords="offset points", xytext=(0, -24 if m < 2 else 6))
    q = to_plane(torch.softmax(alpha, 0))
    ax.scatter(q[0], q[1], marker="*", s=120, color="w", ec="k", zorder=3, label="softmax(α) = lim E[γ(t)]")
    ax.legend(fontsize=7, loc="upper right")
    ax.set_axis_off()
    return fig


def limits(studies: dict):
    """E f(gamma(t)) (Monte Carlo band, integral where known), f(Softmax(alpha/t)) and the two limits."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(studies), figsize=(14, 3.8))
    for ax, (name, d) in zip(axes, studies.items()):
        ax.fill_between(d.t, d.mc_mean - 1.96 * d.mc_se, d.mc_mean + 1.96 * d.mc_se, color="tab:blue", alpha=0.3)
        ax.plot(d.t, d.mc_mean, color="tab:blue", label="E f(γ(t)) (Monte Carlo)")
        if "exact" in d:
            ax.plot(d.t, d.exact, "k:", label="E f(γ(t)) (integral)")
        ax.plot(d.t, d.relaxed_f_softmax_alpha_over_t, "--", color="tab:red", label="f(Softmax(α/t))")
        ax.axhline(d.claimed_f_gamma_bar_0[0], color="tab:red", lw=0.8, label="claimed: f(γ̄(0))")
        ax.axhline(d.corrected_sum_p_f_vertex[0], color="tab:green", lw=1.2, label="corrected: Σ softmax(α)ₘ f(eₘ)")
        ax.set_xscale("log")
        ax.set_xlabel("temperature t")
        ax.set_title(name, fontsize=10)
    axes[0].legend(fontsize=7)
    return fig


def convergence(panels: dict):
    """|E f(gamma(t)) - limit| for the claimed and the corrected limit, per panel (log-log)."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(panels), figsize=(10, 3.8))
    for ax, (name, d) in zip(axes, panels.items()):
        est = d.exact if "exact" in d else d.mc_mean
        err_c = (est - d.corrected_sum_p_f_vertex).abs()
        err_s = (est - d.claimed_f_gamma_bar_0).abs()
        ax.loglog(d.t, err_s, "s--", color="tab:red", label="|E f(γ(t)) − f(γ̄(0))| (claimed)")
        ax.loglog(d.t, err_c.clip(lower=1e-16), "o-", color="tab:green", label="|E f(γ(t)) − Σ pₘ f(eₘ)| (corrected)")
        if "exact" not in d:
            ax.loglog(d.t, 1.96 * d.mc_se, ":", color="gray", label="1.96 × standard error")
        ax.set_xlabel("temperature t")
        ax.set_title(name, fontsize=10)
        ax.legend(fontsize=7)
    return fig


def gradient_variance(grads):
    """Variance of one gradient draw (pathwise; REINFORCE with and without a baseline) and the distance
    of each estimator's mean to the discrete gradient, against the temperature."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(11, 3.8))
    for (name, d), color in zip(grads.groupby("f", sort=False), ["tab:blue", "tab:orange", "tab:green"]):
        axes[0].loglog(d.t, d.pathwise_total_var, "o-", color=color, label=f"pathwise, {name}")
        axes[0].axhline(d.reinforce_total_var.iloc[0], color=color, ls="--", lw=0.8)
        axes[0].axhline(d.reinforce_loo_total_var.iloc[0], color=color, ls=":", lw=0.8)
        axes[1].loglog(d.t, d.pathwise_bias_to_grad_J, "o-", color=color, label=f"pathwise mean, {name}")
        axes[1].loglog(d.t, d.pathwise_bias_se, ":", color=color, lw=1)
        if d.exact_bias_to_grad_J.notna().all():
            axes[1].loglog(d.t, d.exact_bias_to_grad_J, "k-.", lw=1, label=f"∇E f(γ(t)), exact, {name}")
        axes[1].loglog(d.t, d.relaxed_grad_error.where(d.relaxed_grad_error > 1e-9), "s--", color=color, alpha=0.6,
                       label=f"∇f(Softmax(α/t)), {name}")
    axes[0].set_title("variance of one gradient draw\n(dashed: REINFORCE; dotted: REINFORCE with baseline)", fontsize=9)
    axes[1].set_title("distance to the discrete gradient ∇J\n(dotted: noise level of the pathwise mean)", fontsize=9)
    for ax in axes:
        ax.set_xlabel("temperature t")
    axes[0].legend(fontsize=7)
    axes[1].legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1))
    return fig

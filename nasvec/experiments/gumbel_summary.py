"""Chapter 4 ("The Gumbel-Softmax limit theorem"): the sentences of the page that state a result, computed from the
run's tables, so that they change when the numbers do."""

from __future__ import annotations

import numpy as np
import pandas as pd

#: |z| above which a Monte Carlo mean is called away from a value (below: within noise)
Z = 2.0


def _span(values) -> str:
    v = np.abs(np.asarray(values, dtype=float))
    return f"{v.min():.1f}" if np.isclose(v.min(), v.max(), rtol=0.05) else f"{v.min():.1f}–{v.max():.1f}"


def limits_line(summary: pd.DataFrame) -> str:
    """Where the Monte Carlo mean at the smallest temperature sits: standard errors to the corrected and to the
    claimed limit, and for which functions each limit is within noise."""
    near_corrected = summary.f[summary.z_vs_corrected.abs() <= Z].tolist()
    off_claimed = summary.f[summary.z_vs_claimed.abs() > Z].tolist()
    n = len(summary)
    return (f"At the smallest temperature (t = {summary.t.min():g}) the Monte Carlo mean lies "
            f"{_span(summary.z_vs_corrected)} standard errors from the corrected limit and "
            f"{_span(summary.z_vs_claimed)} from the claimed one (columns `z_vs_corrected`, `z_vs_claimed`). "
            f"The corrected limit is within {Z:g} standard errors for {len(near_corrected)} of {n} functions"
            + (f" (not for {', '.join(sorted(set(summary.f) - set(near_corrected)))})" if len(near_corrected) < n else "")
            + f"; the claimed one is more than {Z:g} away for {len(off_claimed)} of {n}"
            + (f" (within noise for {', '.join(sorted(set(summary.f) - set(off_claimed)))})" if len(off_claimed) < n
               else "") + ".")


def cost_gap_line(cost: pd.DataFrame, schedule=(1.0, 0.2)) -> str:
    """How far the cost term with ``gamma_bar = softmax(alpha)`` is from the actual expected cost over the
    temperatures of the search's schedule."""
    hi, lo = max(schedule), min(schedule)
    rows = cost[(cost.t <= hi + 1e-9) & (cost.t >= lo - 1e-9)]
    if rows.empty:
        return f"(no temperature of this run lies in the schedule's range {hi:g} → {lo:g})"
    rel = (rows.limit_cost_softmax_alpha - rows.cost_E_gamma).abs() / rows.cost_E_gamma.abs()
    worst = rows.t.iloc[int(np.argmax(rel.to_numpy()))]
    return (f"Over the temperatures of the schedule ({hi:g} → {lo:g}: {', '.join(f'{t:.3g}' for t in rows.t)}) the "
            f"limit differs from the actual expected cost by {100 * rel.min():.1f}–{100 * rel.max():.1f} % "
            f"(largest at t = {worst:.3g}).")


def summary_lines(means: pd.DataFrame, limits: pd.DataFrame, gap: pd.DataFrame, cost: pd.DataFrame,
                  grads: pd.DataFrame) -> list[str]:
    """The closing summary of the chapter, one bullet per claim of the slides examined, from this run's tables."""
    wide = means.pivot(index="t", columns="m", values=["exact_E_gamma", "softmax_alpha_over_t"])
    diff = (wide["exact_E_gamma"] - wide["softmax_alpha_over_t"]).abs().max(axis=1)
    false_at = int((diff > 1e-4).sum())
    zmax = float(means.z_mc_vs_integral.abs().max())
    lin = limits[limits.f.str.startswith("linear")]
    limit_false = limits.f[limits.z_vs_claimed.abs() > Z].tolist()
    small = grads[grads.t <= 0.1]
    slopes = [np.polyfit(np.log(d.t), np.log(d.pathwise_total_var), 1)[0] for _, d in small.groupby("f")
              if len(d) > 1]
    lines = [
        f"The slides' identity E[γ(t)] = Softmax(α/t) fails (|difference| > 10⁻⁴ in some component) at {false_at} of "
        f"{len(diff)} temperatures tested (table `mean_vs_softmax`; the largest |z| of the Monte Carlo check of the exact "
        f"integrals is {zmax:.1f}, " + ("within the noise of " if zmax <= 3 else "beyond 3 standard errors for ")
        + f"{len(means)} comparisons).",
        f"The slides' limit lim E f(γ(t)) = f(γ̄(0)) is off by more than {Z:g} standard errors for {len(limit_false)} "
        f"of {len(limits)} functions ({', '.join(limit_false) or 'none'}); the limit is Σₘ softmax(α)ₘ f(eₘ)"
        + (f" ({lin.corrected.iloc[0]:.3f} instead of {lin.claimed_f_gamma_bar_0.iloc[0]:g} in the linear example)"
           if len(lin) else "") + ", proved above and checked on random problems.",
        f"For the search: the relaxed objective at small t is that of a sampled architecture; it differs from that of "
        f"the argmax architecture by {gap.gap.min():.3f}–{gap.gap.max():.3f} (table `search_gap`); the cost term changes meaning with the "
        f"choice of γ̄ (table `cost_term`); " + _variance_clause(slopes)]
    return lines


def _variance_clause(slopes) -> str:
    if not slopes:
        return "the pathwise gradient's variance is not fitted (too few temperatures ≤ 0.1)."
    trend = ("grows as t falls" if max(slopes) < 0 else "does not grow as t falls for every function"
             if min(slopes) < 0 else "does not grow as t falls")
    return (f"the pathwise gradient's variance {trend} (point estimates of the exponent b in Var ∝ t^b: "
            f"{min(slopes):.2f} to {max(slopes):.2f} for t ≤ 0.1, figure `gradient_variance`).")


def convergence_line(limits: pd.DataFrame) -> str:
    """At the smallest temperature: how far each Monte Carlo mean is from the corrected limit, in its own standard
    errors (within noise at most 2), and the gap between the claimed and the corrected limit."""
    parts = [f"{r.f}: {abs(r.z_vs_corrected):.1f} standard errors from the corrected limit "
             f"({'within noise' if abs(r.z_vs_corrected) <= Z else 'not within noise'}), claimed minus corrected "
             f"{r.claimed_f_gamma_bar_0 - r.corrected:+.3f}" for r in limits.itertuples()]
    return f"At t = {limits.t.min():g}: " + "; ".join(parts) + "."


def gradient_noise_line(grads: pd.DataFrame) -> str:
    """At the smallest temperature of each function: whether the pathwise mean's distance to grad J is within 2 of
    its standard errors (below the noise of this many draws) or not."""
    parts = []
    for name, d in grads.groupby("f", sort=False):
        r = d.loc[d.t.idxmin()]
        within = r.pathwise_bias_to_grad_J <= Z * r.pathwise_bias_se
        parts.append(f"{name} at t = {r.t:g}: distance {r.pathwise_bias_to_grad_J:.4f}, standard error "
                     f"{r.pathwise_bias_se:.4f} ({'within' if within else 'beyond'} 2 standard errors)")
    return "Pathwise mean against ∇J, " + "; ".join(parts) + "."

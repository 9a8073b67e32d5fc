"""What a latent space is good for: predicting accuracy from codes, Bayesian optimisation over them (chapter 2).

D-VAE (Zhang et al., 2019) judges a latent space by two uses, and chapter 2 repeats both:

* **prediction** – a sparse Gaussian process (500 inducing points) is fitted to the codes of the
  training architectures and their (standardised) accuracies and predicts the test
  architectures; D-VAE reports the test RMSE on the standardised scale and Pearson's r.
  :class:`SparseGP` (Titsias' collapsed bound, hyperparameters fitted by Adam on minibatches as
  D-VAE does) and :class:`ExactGP`; :func:`gp_prediction` runs the experiment;
* **search** – Bayesian optimisation in the latent space. D-VAE decodes new points and trains
  the networks they describe; we have no CIFAR-10 training budget, so the search here is over a
  *pool*: the codes of the architectures in the ENAS file, each of which has its accuracy in the
  file. :func:`bo_pool` queries, one at a time, the architecture with the largest expected
  improvement under a GP fitted to the queries so far; :func:`random_pool` queries at random;
  :func:`search_experiment` runs both over several seeds.

:func:`synthetic_score` is the transparent stand-in objective of the quick profile, whose
generated architectures have no measured accuracy. Introduced in chapter 2.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from ..data.enas import ENAS_OPS
from ..errors import CompressError
from ..graph.core import ArchGraph

_DT = torch.float64


def _t(x) -> torch.Tensor:
    return torch.as_tensor(np.asarray(x, dtype=np.float64), dtype=_DT)


def _check_xy(X, y, what: str):
    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64).reshape(-1)
    if X.ndim != 2:
        raise CompressError(f"{what}: codes must be a 2-d array [n, latent], got shape {X.shape}")
    if len(X) != len(y):
        raise CompressError(f"{what}: {len(X)} codes but {len(y)} targets")
    if len(X) < 2:
        raise CompressError(f"{what}: need at least 2 points to fit a GP, got {len(X)}")
    if not (np.isfinite(X).all() and np.isfinite(y).all()):
        raise CompressError(f"{what}: codes or targets contain NaN or infinity")
    return X, y


class _Kernel(torch.nn.Module):
    """ARD squared-exponential kernel ``s^2 exp(-|x - x'|^2_l / 2)`` with a Gaussian noise variance."""

    def __init__(self, X: torch.Tensor, noise: float = 0.1):
        super().__init__()
        std = X.std(0).clamp_min(1e-3) if len(X) > 1 else torch.ones(X.shape[1], dtype=_DT)
        self.log_ls = torch.nn.Parameter(torch.log(std * math.sqrt(X.shape[1])))
        self.log_sf2 = torch.nn.Parameter(torch.zeros((), dtype=_DT))
        self.log_sn2 = torch.nn.Parameter(torch.tensor(math.log(noise), dtype=_DT))
        # distances are computed about the data's mean: a dimension that is (nearly) constant far from 0 gets
        # a tiny length scale, and |a|^2 + |b|^2 - 2 a.b would then cancel catastrophically
        self.register_buffer("shift", X.mean(0).detach().clone())

    def forward(self, a, b):
        ls = self.log_ls.exp()
        a, b = (a - self.shift) / ls, (b - self.shift) / ls
        d2 = (a.pow(2).sum(1)[:, None] + b.pow(2).sum(1)[None] - 2 * a @ b.T).clamp_min(0)
        return self.log_sf2.exp() * torch.exp(-0.5 * d2)

    @property
    def sf2(self):
        return self.log_sf2.exp()

    @property
    def sn2(self):
        return self.log_sn2.exp() + 1e-6


class ExactGP:
    """A Gaussian process regressor; hyperparameters maximise the marginal likelihood (Adam).

    ``fit`` standardises ``y``; ``predict`` returns mean and variance (of the latent function)
    on the original scale of ``y``. ``warm`` keeps the kernel of an earlier fit as the start.
    """

    def __init__(self, iters: int = 100, lr: float = 0.05):
        self.iters, self.lr = int(iters), float(lr)
        self.kernel: _Kernel | None = None

    def fit(self, X, y, warm: bool = False) -> "ExactGP":
        X, y = _check_xy(X, y, "ExactGP.fit")
        self.mu_y, self.sd_y = float(y.mean()), float(y.std()) or 1.0
        Xt, yt = _t(X), _t((y - self.mu_y) / self.sd_y)
        if self.kernel is None or not warm or self.kernel.log_ls.shape[0] != X.shape[1]:
            self.kernel = _Kernel(Xt)
        opt = torch.optim.Adam(self.kernel.parameters(), lr=self.lr)
        eye = torch.eye(len(Xt), dtype=_DT)
        for _ in range(self.iters):
            opt.zero_grad()
            K = self.kernel(Xt, Xt) + self.kernel.sn2 * eye
            L = torch.linalg.cholesky(K + 1e-8 * eye)
            alpha = torch.cholesky_solve(yt[:, None], L)
            nll = 0.5 * (yt[:, None] * alpha).sum() + torch.log(torch.diagonal(L)).sum()
            nll.backward()
            opt.step()
        with torch.no_grad():
            K = self.kernel(Xt, Xt) + self.kernel.sn2 * eye
            self._L = torch.linalg.cholesky(K + 1e-8 * eye)
            self._alpha = torch.cholesky_solve(yt[:, None], self._L)
        self._X = Xt
        return self

    @torch.no_grad()
    def predict(self, Xs, chunk: int = 8192):
        Xs = _t(Xs)
        means, variances = [], []
        for k in range(0, len(Xs), chunk):
            Ks = self.kernel(Xs[k:k + chunk], self._X)
            v = torch.cholesky_solve(Ks.T, self._L)
            means.append((Ks @ self._alpha)[:, 0])
            variances.append((self.kernel.sf2 - (Ks * v.T).sum(1)).clamp_min(1e-12))
        m, v = torch.cat(means), torch.cat(variances)
        return (m * self.sd_y + self.mu_y).numpy(), (v * self.sd_y ** 2).numpy()


class SparseGP:
    """Sparse GP regression with ``n_inducing`` inducing points (Titsias 2009, the collapsed bound).

    As in D-VAE, the kernel, the noise and the inducing points are fitted by Adam on random
    minibatches (``batch`` points per step, ``iters`` steps; D-VAE: 500 inducing points,
    minibatches of 1,000, 100 steps); the predictive distribution then uses all training points.
    The inducing points start at a random subset of the training codes. The fit runs on codes
    standardised per dimension (a constant dimension is only centred): Adam moves the inducing points
    by about ``lr`` per step, which in a dimension whose codes barely vary would carry them far off the
    data, where every kernel value is 0 and every prediction the prior mean.
    """

    def __init__(self, n_inducing: int = 500, iters: int = 100, batch: int = 1000, lr: float = 0.01, seed: int = 0):
        self.m, self.iters, self.batch, self.lr, self.seed = int(n_inducing), int(iters), int(batch), float(lr), int(seed)

    def _bound(self, X, y, Z):
        k = self.kernel
        n, m = len(X), len(Z)
        eye = torch.eye(m, dtype=_DT)
        Luu = torch.linalg.cholesky(k(Z, Z) + 1e-6 * eye)
        A = torch.linalg.solve_triangular(Luu, k(Z, X), upper=False) / k.sn2.sqrt()
        B = eye + A @ A.T
        LB = torch.linalg.cholesky(B)
        c = torch.linalg.solve_triangular(LB, A @ y[:, None], upper=False) / k.sn2.sqrt()
        bound = (-0.5 * n * math.log(2 * math.pi) - torch.log(torch.diagonal(LB)).sum()
                 - 0.5 * n * torch.log(k.sn2) - 0.5 * (y ** 2).sum() / k.sn2 + 0.5 * (c ** 2).sum()
                 - 0.5 * n * k.sf2 / k.sn2 + 0.5 * (A ** 2).sum())
        return bound, Luu, LB, c

    def fit(self, X, y) -> "SparseGP":
        X, y = _check_xy(X, y, "SparseGP.fit")
        self.mu_y, self.sd_y = float(y.mean()), float(y.std()) or 1.0
        sd = X.std(0)
        self._x_shift, self._x_scale = X.mean(0), np.where(sd > 0, sd, 1.0)
        Xt, yt = self._x(X), _t((y - self.mu_y) / self.sd_y)
        rng = np.random.default_rng(self.seed)
        m = min(self.m, len(Xt))
        self.kernel = _Kernel(Xt)
        self.Z = torch.nn.Parameter(Xt[torch.as_tensor(rng.choice(len(Xt), m, replace=False))].clone())
        opt = torch.optim.Adam([*self.kernel.parameters(), self.Z], lr=self.lr)
        for _ in range(self.iters):
            idx = torch.as_tensor(rng.choice(len(Xt), min(self.batch, len(Xt)), replace=False))
            opt.zero_grad()
            bound, *_ = self._bound(Xt[idx], yt[idx], self.Z)
            (-bound / len(idx)).backward()
            opt.step()
        with torch.no_grad():
            _, self._Luu, self._LB, self._c = self._bound(Xt, yt, self.Z)
        return self

    def _x(self, X) -> torch.Tensor:
        return _t((np.asarray(X, dtype=np.float64) - self._x_shift) / self._x_scale)

    @torch.no_grad()
    def predict(self, Xs, chunk: int = 8192):
        Xs = self._x(Xs)
        means, variances = [], []
        for k in range(0, len(Xs), chunk):
            Kus = self.kernel(self.Z, Xs[k:k + chunk])
            t1 = torch.linalg.solve_triangular(self._Luu, Kus, upper=False)
            t2 = torch.linalg.solve_triangular(self._LB, t1, upper=False)
            means.append((t2.T @ self._c)[:, 0])
            variances.append((self.kernel.sf2 - (t1 ** 2).sum(0) + (t2 ** 2).sum(0)).clamp_min(1e-12))
        m, v = torch.cat(means), torch.cat(variances)
        return (m * self.sd_y + self.mu_y).numpy(), (v * self.sd_y ** 2).numpy()


def pearson_r(a, b) -> float:
    a, b = np.asarray(a, dtype=np.float64).ravel(), np.asarray(b, dtype=np.float64).ravel()
    if a.std() == 0 or b.std() == 0:
        return float("nan")
    return float(np.corrcoef(a, b)[0, 1])


def gp_prediction(Z_train, y_train, Z_test, y_test, sparse: bool = True, n_inducing: int = 500,
                  iters: int = 100, lr: float = 0.01, batch: int = 1000, seed: int = 0) -> dict:
    """D-VAE's prediction experiment: GP on the training codes, RMSE and Pearson r on the test codes.

    ``rmse`` is on the standardised scale D-VAE reports (targets minus the training mean, over
    the training standard deviation); ``rmse_raw`` is in the units of ``y``.
    """
    Z_train, y_train = _check_xy(Z_train, y_train, "gp_prediction (train)")
    Z_test, y_test = _check_xy(Z_test, y_test, "gp_prediction (test)")
    if Z_train.shape[1] != Z_test.shape[1]:
        raise CompressError(f"gp_prediction: train codes have {Z_train.shape[1]} dimensions, test codes {Z_test.shape[1]}")
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        if sparse:
            gp = SparseGP(n_inducing, iters=iters, batch=batch, lr=lr, seed=seed).fit(Z_train, y_train)
        else:
            gp = ExactGP(iters=iters, lr=lr).fit(Z_train, y_train)
    pred, var = gp.predict(Z_test)
    sd = float(np.std(y_train)) or 1.0
    err = pred - y_test
    return {"rmse": float(np.sqrt(np.mean((err / sd) ** 2))), "rmse_raw": float(np.sqrt(np.mean(err ** 2))),
            "pearson": pearson_r(pred, y_test), "prediction": pred, "variance": var}


# --------------------------------------------------------------------------- search
def expected_improvement(mean, var, best: float, xi: float = 0.0) -> np.ndarray:
    """EI for maximisation: ``E[max(f - best - xi, 0)]`` under ``f ~ N(mean, var)``."""
    from scipy.stats import norm

    mean, sd = np.asarray(mean, dtype=np.float64), np.sqrt(np.maximum(np.asarray(var, dtype=np.float64), 1e-18))
    imp = mean - best - xi
    z = imp / sd
    return imp * norm.cdf(z) + sd * norm.pdf(z)


def _check_pool(codes, values, n_queries, n_init):
    codes = np.asarray(codes, dtype=np.float64)
    values = np.asarray(values, dtype=np.float64).reshape(-1)
    if codes.ndim != 2 or len(codes) != len(values):
        raise CompressError(f"pool: codes of shape {codes.shape} do not match {len(values)} objective values")
    if not 1 <= n_init <= n_queries <= len(values):
        raise CompressError(f"pool search: need 1 <= n_init ({n_init}) <= n_queries ({n_queries}) <= pool size ({len(values)})")
    return codes, values


def random_pool(values, n_queries: int, seed: int = 0) -> np.ndarray:
    """Random search over a pool: the objective values of ``n_queries`` distinct random picks, in order."""
    values = np.asarray(values, dtype=np.float64).reshape(-1)
    if not 1 <= n_queries <= len(values):
        raise CompressError(f"random search: n_queries={n_queries} must be in 1..{len(values)}")
    rng = np.random.default_rng(seed)
    return values[rng.choice(len(values), n_queries, replace=False)]


def bo_pool(codes, values, n_queries: int, n_init: int = 10, seed: int = 0, gp_iters: int = 60,
            refit_every: int = 1, lr: float = 0.05, xi: float = 0.0) -> np.ndarray:
    """Bayesian optimisation over a pool of codes with known objective values (to maximise).

    ``n_init`` random picks, then each query is the unqueried code with the largest expected
    improvement under an exact GP on the queries so far (hyperparameters re-fitted every
    ``refit_every`` queries, warm-started). Only the picked entries of ``values`` are read.
    Returns the objective values in query order.
    """
    codes, values = _check_pool(codes, values, n_queries, n_init)
    rng = np.random.default_rng(seed)
    picked = list(rng.choice(len(values), n_init, replace=False))
    queried = np.zeros(len(values), dtype=bool)
    queried[picked] = True
    gp = ExactGP(iters=gp_iters, lr=lr)
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        for t in range(n_init, n_queries):
            y = values[picked]
            refit = (t - n_init) % refit_every == 0
            gp.iters = gp_iters if refit else 0
            gp.fit(codes[picked], y, warm=True)
            mean, var = gp.predict(codes)
            ei = expected_improvement(mean, var, float(y.max()), xi)
            ei[queried] = -np.inf
            nxt = int(np.argmax(ei))
            picked.append(nxt)
            queried[nxt] = True
    return values[picked]


def best_so_far(trace) -> np.ndarray:
    return np.maximum.accumulate(np.asarray(trace, dtype=np.float64))


def search_experiment(codes: dict, values, n_queries: int = 100, n_init: int = 10, seeds=range(10),
                      progress: bool = False, **bo_kwargs):
    """BO over each model's codes and random search, over ``seeds``: a long table of best-so-far.

    ``codes`` maps a model name to its ``[n, latent]`` codes of the pool (the same architectures,
    in the same order, for every model). Returns a DataFrame with columns ``method``, ``seed``,
    ``query`` (1-based) and ``best`` (best objective value found so far).
    """
    import pandas as pd
    from tqdm.auto import tqdm

    rows = []
    jobs = [("random", None)] + [(f"BO ({name})", z) for name, z in codes.items()]
    for (method, z) in tqdm(jobs, desc="search", disable=not progress):
        for s in seeds:
            trace = random_pool(values, n_queries, seed=s) if z is None else \
                bo_pool(z, values, n_queries, n_init=n_init, seed=s, **bo_kwargs)
            for q, b in enumerate(best_so_far(trace), start=1):
                rows.append({"method": method, "seed": int(s), "query": q, "best": float(b)})
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------- the quick profile's objective
#: per-layer contribution of each ENAS op to :func:`synthetic_score`
SYNTHETIC_OP_WEIGHTS = {"conv3x3": 0.006, "sep_conv3x3": 0.005, "conv5x5": 0.007, "sep_conv5x5": 0.006,
                        "avg_pool3x3": 0.0, "max_pool3x3": 0.001}


def synthetic_score(g: ArchGraph) -> float:
    """A transparent stand-in for an accuracy, for generated ENAS graphs (quick profile only).

    ``0.70 + sum of SYNTHETIC_OP_WEIGHTS over the layers + 0.003 per skip connection up to 5
    - 0.002 per skip beyond 5 + 0.004 if the last layer is a convolution``. It is not a
    measurement of anything; it only gives the search something smooth-but-not-linear to find.
    """
    ops = [n.op for n in g.nodes[1:-1]]
    if any(op not in ENAS_OPS for op in ops):
        bad = next(op for op in ops if op not in ENAS_OPS)
        raise CompressError(f"synthetic_score: op {bad!r} is not an ENAS op")
    skips = len(g.edges) - len(ops) - 1
    score = 0.70 + sum(SYNTHETIC_OP_WEIGHTS[op] for op in ops)
    score += 0.003 * min(skips, 5) - 0.002 * max(skips - 5, 0)
    score += 0.004 * (bool(ops) and "conv" in ops[-1])
    return float(score)

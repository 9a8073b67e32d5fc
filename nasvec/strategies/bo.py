"""Model-based strategies (chapter 7): GP Bayesian optimisation on BoTorch, and a BANANAS-style ensemble.

Both start from ``n_init`` random candidates and then, per round, fit a model on everything queried and
propose the ``batch`` best candidates by an acquisition function (BANANAS's protocol: 10 per round).
The ``S`` seeds move in lockstep, so one *batched* model serves all of them at once: a BoTorch
``SingleTaskGP`` with batch shape ``(S,)`` (one GP per seed, fitted together by ``fit_gpytorch_mll``),
or ``S x ensemble`` small MLPs trained together by batched matrix products.

* :class:`GPBO` — a GP (BoTorch's default ``SingleTaskGP``: Matérn-5/2 / RBF with ARD and its priors,
  standardised outcomes) on any feature matrix of the space's candidates — a one-hot encoding, a path
  encoding, or the latent codes of a trained compressor (the D-VAE route: "BO in the latent space" over
  the candidates' codes); acquisition log expected improvement (``LogExpectedImprovement``).
* :class:`Bananas` — White et al. 2021: an ensemble of 5 feed-forward networks on the path encoding,
  mean absolute error, independent Thompson sampling (a draw from N(mean, ensemble std) per candidate).

Candidates per round: every unqueried id when the space has at most ``max_candidates``; otherwise
``max_candidates`` random unqueried ids plus the unqueried neighbours of the 10 best found so far.
"""

from __future__ import annotations

import warnings

import numpy as np
import torch

from ..errors import SearchError
from .blackbox import Strategy


class _Batched(Strategy):
    """Random start, then rounds of ``batch`` proposals from a model fitted on all seeds' data at once."""

    def __init__(self, space, n_seeds, seed=0, features=None, batch: int = 10, n_init: int = 10,
                 max_candidates: int = 1000):
        super().__init__(space, n_seeds, seed)
        feats = np.asarray(features if features is not None else space.encode("onehot"), dtype=np.float64)
        if feats.ndim != 2 or len(feats) != len(space) or not np.isfinite(feats).all():
            raise SearchError(f"{self.name}: features must be a finite ({len(space)}, d) matrix, got {feats.shape}")
        lo, hi = feats.min(0), feats.max(0)
        keep = hi > lo
        self.features = (feats[:, keep] - lo[keep]) / (hi - lo)[keep]     # the unit cube, constant columns dropped
        self.batch, self.n_init, self.max_candidates = int(batch), min(int(n_init), len(space)), int(max_candidates)
        self.torch_seed = int(np.random.SeedSequence(seed).generate_state(1)[0])

    def ask(self) -> np.ndarray:
        n = len(self.hist_ids[0])
        if n < self.n_init:
            q = min(self.batch, self.n_init - n)
            return self.space.check(np.stack([self.random_unseen(s, q) for s in range(self.S)]))
        cands = self._candidates()
        torch.manual_seed(self.torch_seed + n)
        scores = self.acquisition(cands)                                   # (S, M)
        out = np.empty((self.S, self.batch), dtype=np.int64)
        for s in range(self.S):
            order = np.argsort(-scores[s], kind="stable")
            picked = list(dict.fromkeys(cands[s, order].tolist()))[:self.batch]
            while len(picked) < self.batch:    # too few candidates left: other unseen ids, else repeats
                extra = [i for i in self.random_unseen(s, self.batch).tolist() if i not in picked]
                picked += extra[:self.batch - len(picked)]
                if not extra:
                    picked.append(picked[-1])
            out[s] = picked
        return self.space.check(out)

    def _candidates(self) -> np.ndarray:
        rows = []
        for s in range(self.S):
            free = ~self.seen[s]
            if free.sum() <= self.max_candidates:
                c = np.flatnonzero(free)
            else:
                top = np.asarray(self.hist_ids[s])[np.argsort(self.hist_y[s])[-10:]]
                nb = np.concatenate([self.space.neighbours(i) for i in top])
                c = np.unique(np.concatenate([self.space.sample(self.rngs[s], self.max_candidates, self.seen[s]),
                                              nb[free[nb]]]))
            rows.append(c if len(c) else np.zeros(1, np.int64))
        M = max(len(c) for c in rows)
        return np.stack([np.resize(c, M) for c in rows])   # padded by repetition

    def data(self):
        X = torch.tensor(self.features[np.asarray(self.hist_ids)], dtype=torch.float64)   # (S, n, d)
        y = torch.tensor(np.asarray(self.hist_y), dtype=torch.float64)                     # (S, n)
        return X, y

    def acquisition(self, cands: np.ndarray) -> np.ndarray:
        raise NotImplementedError


class GPBO(_Batched):
    """Bayesian optimisation with one GP per seed and log expected improvement (BoTorch's ``_log_ei_helper``).

    ``engine="batched"`` (default): every seed's GP in one batched closed form — Matérn-5/2 kernel with ARD
    lengthscales, constant mean, Gaussian noise (BoTorch ``SingleTaskGP``'s model), marginal likelihood
    maximised by Adam, outcomes standardised per seed. The hyperparameters are refitted (warm-started, a few
    steps) whenever the number of queries has doubled since the last fit; every round recomputes the posterior.
    ``engine="botorch"``: BoTorch's own ``SingleTaskGP`` + ``fit_gpytorch_mll`` per seed (the reference; at
    S = 100 seeds x 30 rounds it is far too slow on 2 cores, see the chapter's benchmark)."""

    name = "GP-BO"

    def __init__(self, space, n_seeds, seed=0, features=None, label: str | None = None, engine: str = "batched",
                 steps: int = 60, warm_steps: int = 20, **kw):
        super().__init__(space, n_seeds, seed, features, **kw)
        if engine not in ("batched", "botorch"):
            raise SearchError(f"GP-BO: engine must be 'batched' or 'botorch', got {engine!r}")
        self.engine, self.steps, self.warm_steps, self.theta, self.fitted_at = engine, steps, warm_steps, None, 0
        if label:
            self.name = label

    def acquisition(self, cands):
        from botorch.acquisition.analytic import _log_ei_helper

        X, y = self.data()
        mu, sd = y.mean(1, keepdim=True), y.std(1, keepdim=True).clamp_min(1e-9)
        z = (y - mu) / sd
        C = torch.tensor(self.features[cands], dtype=torch.float64)        # (S, M, d)
        mean, var = (self._botorch if self.engine == "botorch" else self._batched)(X, z, C)
        sigma = var.clamp_min(1e-12).sqrt()
        return (_log_ei_helper((mean - z.max(1, keepdim=True).values) / sigma) + sigma.log()).numpy()

    # ------------------------------------------------------------------ the batched closed form
    @staticmethod
    def _kernel(A, B, log_ls, log_sf2):
        a, b = A / log_ls.exp()[:, None, :], B / log_ls.exp()[:, None, :]
        r2 = (a * a).sum(-1)[:, :, None] + (b * b).sum(-1)[:, None, :] - 2 * a @ b.transpose(1, 2)
        r = r2.clamp_min(1e-12).sqrt()    # not torch.cdist: its backward is ~20x slower at these shapes
        s5 = 5.0 ** 0.5 * r
        return log_sf2.exp()[:, None, None] * (1 + s5 + s5 ** 2 / 3) * torch.exp(-s5)

    def _batched(self, X, z, C):
        S, n, d = X.shape
        if self.theta is not None and n < 2 * self.fitted_at:
            steps = 0
        elif self.theta is None:
            self.theta = [torch.full((S, d), float(np.log(0.5 * d ** 0.5))), torch.zeros(S), torch.full((S,), -3.0),
                          torch.zeros(S)]   # log lengthscales, log signal variance, log noise, mean
            steps = self.steps
        else:
            steps = self.warm_steps
        if steps:
            self.fitted_at = n
        theta = [t.detach().double().requires_grad_() for t in self.theta]
        opt = torch.optim.Adam(theta, lr=0.1)
        eye = torch.eye(n, dtype=torch.float64)
        for _ in range(steps):
            opt.zero_grad()
            self._nll(X, z, theta, eye).sum().backward()
            opt.step()
        self.theta = [t.detach() for t in theta]
        with torch.no_grad():
            log_ls, log_sf2, log_sn2, m = self.theta
            K = self._kernel(X, X, log_ls, log_sf2) + (log_sn2.exp() + 1e-6)[:, None, None] * eye
            L = torch.linalg.cholesky(K)
            alpha = torch.cholesky_solve((z - m[:, None])[..., None], L)
            mean, var = [], []
            for j in range(0, C.shape[1], 1024):
                Ks = self._kernel(X, C[:, j:j + 1024], log_ls, log_sf2)          # (S, n, m)
                mean.append(m[:, None] + (Ks * alpha).sum(1))
                var.append(log_sf2.exp()[:, None] - (torch.linalg.solve_triangular(L, Ks, upper=False) ** 2).sum(1))
        return torch.cat(mean, 1), torch.cat(var, 1)

    def _nll(self, X, z, theta, eye):
        log_ls, log_sf2, log_sn2, m = theta
        K = self._kernel(X, X, log_ls.clamp(-6, 6), log_sf2.clamp(-6, 6)) \
            + (log_sn2.clamp(-12, 2).exp() + 1e-6)[:, None, None] * eye
        L = torch.linalg.cholesky(K)
        r = (z - m[:, None])[..., None]
        # BoTorch's SingleTaskGP priors are left out; a weak pull of the noise towards 1e-2 keeps it off 0
        return 0.5 * (r * torch.cholesky_solve(r, L)).sum((1, 2)) + L.diagonal(dim1=1, dim2=2).log().sum(1) \
            + 0.05 * (log_sn2 - np.log(1e-2)) ** 2

    # ------------------------------------------------------------------ BoTorch, one seed at a time
    def _botorch(self, X, z, C):
        from botorch.fit import fit_gpytorch_mll
        from botorch.models import SingleTaskGP
        from gpytorch.mlls import ExactMarginalLogLikelihood

        mean, var = [], []
        for s in range(X.shape[0]):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")   # BoTorch's advice on input scaling and fitting retries
                gp = SingleTaskGP(X[s], z[s][:, None])
                fit_gpytorch_mll(ExactMarginalLogLikelihood(gp.likelihood, gp))
            gp.eval()
            with torch.no_grad():
                post = gp.posterior(C[s])
            mean.append(post.mean[:, 0])
            var.append(post.variance[:, 0])
        return torch.stack(mean), torch.stack(var)


class Bananas(_Batched):
    """BANANAS: an ensemble of ``ensemble`` MLPs (``layers`` x ``width``) on the features (the path encoding
    on NAS-Bench-201), trained by Adam on the mean absolute error; independent Thompson sampling."""

    name = "BANANAS"

    def __init__(self, space, n_seeds, seed=0, features=None, ensemble: int = 5, layers: int = 3, width: int = 20,
                 epochs: int = 100, lr: float = 0.01, **kw):
        if features is None:
            features = space.encode("path" if space.cell == "nb201" else "onehot")   # as the space declares
        super().__init__(space, n_seeds, seed, features, **kw)
        ones = (self.features != 0).sum(1)
        self.sparse = None
        if np.isin(self.features, (0.0, 1.0)).all() and ones.max() <= 16:   # binary: the first layer as a sum of rows
            idx = np.full((len(self.features), max(int(ones.max()), 1)), self.features.shape[1])
            for i, row in enumerate(self.features):
                nz = np.flatnonzero(row)
                idx[i, :len(nz)] = nz
            self.sparse = torch.tensor(idx)
        self.ensemble, self.layers, self.width, self.epochs, self.lr = ensemble, layers, width, epochs, lr

    def _inputs(self, ids) -> torch.Tensor:
        """(S*E, n, d) dense features, or (S*E, n, k) indices of their ones (binary features)."""
        src = self.sparse[torch.as_tensor(ids)] if self.sparse is not None else \
            torch.tensor(self.features[ids], dtype=torch.float32)
        return src.repeat_interleave(self.ensemble, 0)

    def _fit(self, X, y):
        B, d = self.S * self.ensemble, self.features.shape[1]
        X = self._inputs(np.asarray(self.hist_ids))
        mu, sd = y.mean(1, keepdim=True), y.std(1, keepdim=True).clamp_min(1e-6)
        t = ((y - mu) / sd).float().repeat_interleave(self.ensemble, 0)
        dims = [d] + [self.width] * self.layers + [1]
        params = []
        for a, b in zip(dims[:-1], dims[1:]):
            w = torch.randn(B, a, b) * (2.0 / a) ** 0.5
            params += [w.requires_grad_(), torch.zeros(B, 1, b, requires_grad=True)]
        opt = torch.optim.Adam(params, lr=self.lr, foreach=True)
        for _ in range(self.epochs):
            opt.zero_grad()
            loss = (self._forward(params, X).squeeze(-1) - t).abs().mean()
            loss.backward()
            opt.step()
        return params, mu, sd

    def _forward(self, params, X):
        if self.sparse is not None:   # sum of the first layer's rows at the ones (row d of each net is zero)
            B, n, k = X.shape
            W = torch.cat([params[0], torch.zeros_like(params[0][:, :1])], 1)          # (B, d + 1, width)
            flat = (X + (torch.arange(B) * W.shape[1])[:, None, None]).reshape(B * n, k)
            h = torch.nn.functional.embedding_bag(flat, W.reshape(-1, W.shape[2]), mode="sum").view(B, n, -1)
            h, start = torch.relu(h + params[1]), 2
        else:
            h, start = X, 0
        for k in range(start, len(params), 2):
            h = torch.baddbmm(params[k + 1], h, params[k])
            if k + 2 < len(params):
                h = torch.relu(h)
        return h

    def acquisition(self, cands):
        X, y = self.data()
        params, mu, sd = self._fit(X, y)
        with torch.no_grad():
            pred = self._forward(params, self._inputs(cands)).squeeze(-1).view(self.S, self.ensemble, -1)
        mean, std = pred.mean(1), pred.std(1)
        return (mean + std * torch.randn_like(mean)).numpy()               # one Thompson draw per candidate

"""D-VAE's two decoders (chapter 2): teacher-forced for training, free for decoding new codes.

Both take a :class:`~nasvec.compress.dvae.DVAE` (or :class:`~nasvec.compress.dvae.DVAEEMB`) and use its
layers; the module docstring of :mod:`nasvec.compress.dvae` describes the model and the batching.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from ..errors import CompressError
from .base import DagBatch


def teacher_forced_recon(model, z: torch.Tensor, batch: DagBatch) -> torch.Tensor:
    """Sum over the batch of the type NLL and the edge BCE of ``batch`` given codes ``z``.

    Teacher forcing makes every intermediate decoder state a function of the true graph: the
    state of node ``v`` before the decision on edge ``u -> v`` is ``GRU_d(x_v, S)`` with ``S``
    the gated messages of its true predecessors above ``u``. That sum only changes at a true
    edge, so node ``v`` has one state per true edge ``w -> v`` (all predecessors ``>= w``
    added) besides the empty state ``GRU_d(x_v, 0)`` (one per type). Since ``W_hh S`` is the
    sum of ``W_hh m_w``, each predecessor's message is projected once, and a state costs no
    matrix product. Only the node states are sequential; the edge and type logits of all
    positions are computed together at the end.
    """
    b, n = batch.types.shape
    types = batch.types
    n_nodes = batch.n_nodes
    adj = model._forward_adj(batch)
    dev = types.device
    cell = model.gru_decoder
    h0 = torch.tanh(model.fc_z(z))
    pos = torch.arange(n, device=dev)
    # type targets: the true type at real positions, "stop" right after the last node, nothing later
    target = torch.where(pos[None] < n_nodes[:, None], types.clamp_min(0), torch.full_like(types, model.stop))
    scored = pos[None] <= n_nodes[:, None]
    if model.start_type is not None:
        scored = scored & (pos[None] > 0)
    tc = types.clamp(0, model.n_types - 1)
    views = model._gate_views(model.gate_forward, model.mapper_forward)
    gi_tab, s0_tab = model._decoder_tables()
    states = [cell(model.node_input(tc[:, 0]), h0)]
    msgs, projs = [], []                   # per node: gated message m_u and W_hh m_u
    edge_states, n_edge_states = [], 0     # states after each true edge, all positions
    before = []                            # per position v: [B, v] row of the state before deciding u
    for v in range(n):
        if v > 0:
            e = adj[:, :v, v]
            bi, ui = (e > 0.5).nonzero(as_tuple=True)
            incl_m = (e[..., None] * torch.stack(msgs, 1)).flip(1).cumsum(1).flip(1)   # preds >= u
            incl_g = (e[..., None] * torch.stack(projs, 1)).flip(1).cumsum(1).flip(1)
            se = model._gru(gi_tab[tc[bi, v]], incl_g[bi, ui] + cell.bias_hh, incl_m[bi, ui])
            # row ids into [all edge states, then the empty state of each type]
            row = torch.full((b, v + 1), -1, dtype=torch.long, device=dev)
            row[bi, ui] = n_edge_states + torch.arange(len(bi), device=dev)
            row[:, v] = -1 - tc[:, v]                      # empty state of type t: -1 - t, resolved below
            position = torch.where(e > 0.5, pos[None, :v], torch.full_like(e, v, dtype=torch.long))
            above = torch.cat([position[:, 1:], position.new_full((b, 1), v)], 1)
            nearest = above.flip(1).cummin(1).values.flip(1)             # nearest true predecessor > u
            before.append(row.gather(1, nearest))
            first = row.gather(1, position.min(1).values[:, None])[:, 0]  # all predecessors added
            edge_states.append(se)
            n_edge_states += len(bi)
            h = torch.where((first >= 0)[:, None], se[(first - (n_edge_states - len(bi))).clamp_min(0)],
                            s0_tab[(-1 - first).clamp_min(0)]) if len(bi) else s0_tab[tc[:, v]]
            states.append(h)
        if v < n - 1:
            msgs.append(model._gated(states[v], v, views))
            projs.append(F.linear(msgs[-1], cell.weight_hh))
    # edge logits of every pair u < v: the source part of node u plus the state part before deciding u
    w_src, w_new, e_bias = model._edge_views()
    q_rows = F.linear(torch.cat(edge_states + [s0_tab]), w_new, e_bias)         # [E + types, 4 hs]
    idx = torch.cat(before, 1)                                                  # [B, pairs], v-major
    idx = torch.where(idx >= 0, idx, n_edge_states + (-1 - idx))
    src = F.linear(torch.stack(states[:n - 1], 1), w_src)                        # [B, N - 1, 4 hs]
    pu = torch.cat([pos[:v] for v in range(1, n)])
    pv = torch.cat([torch.full((v,), v, device=dev) for v in range(1, n)])
    logits = model._edge_out(src[:, pu] + q_rows[idx])                            # [B, pairs]
    real = (pv[None] < n_nodes[:, None]).float()
    bce = F.binary_cross_entropy_with_logits(logits, adj[:, pu, pv], reduction="none")
    # type decisions: position v is chosen from the state of the graph built so far (H0 for v = 0)
    type_logits = model.add_vertex(torch.stack([h0] + states[:n - 1], 1))          # [B, N, types + 1]
    nll = F.cross_entropy(type_logits.reshape(b * n, -1), target.reshape(-1), reduction="none")
    return (nll * scored.reshape(-1).float()).sum() + (bce * real).sum()



@torch.no_grad()
def free_decode(model, z: torch.Tensor, stochastic: bool = False) -> DagBatch:
    """Codes ``[B, latent]`` -> graphs, node by node and edge by edge as D-VAE decodes.

    ``stochastic``: sample types and edges from the predicted distributions (D-VAE's default);
    otherwise take the most likely type and the edges with probability > 0.5. After each edge
    decision the new node's state is recomputed (for the graphs that added the edge; for the
    others it is unchanged) from the running sums of the gated messages and of their ``W_hh``
    projections, as in :func:`teacher_forced_recon`.
    """
    if z.dim() != 2 or z.shape[1] != model.latent_dim:
        raise CompressError(f"{model.name}: codes must have shape [batch, {model.latent_dim}], got {tuple(z.shape)}")
    b, n = z.shape[0], model.max_nodes
    dev = z.device
    cell = model.gru_decoder
    types = torch.full((b, n), -1, dtype=torch.long, device=dev)
    adj = torch.zeros(b, n, n, device=dev)
    finished = torch.zeros(b, dtype=torch.bool, device=dev)
    views = model._gate_views(model.gate_forward, model.mapper_forward)
    w_src, w_new, e_bias = model._edge_views()
    gi_tab, s0_tab = model._decoder_tables()
    q0_tab = F.linear(s0_tab, w_new, e_bias)
    h0 = torch.tanh(model.fc_z(z))
    graph_state = h0
    msgs, projs, srcs = [], [], []
    for v in range(n):
        if v == 0 and model.start_type is not None:
            t = torch.full((b,), model.start_type, dtype=torch.long, device=dev)
        elif v == n - 1 and model.end_type is not None:
            t = torch.full((b,), model.end_type, dtype=torch.long, device=dev)
        else:
            logits = model.add_vertex(graph_state)
            if v == 0:   # a graph has at least one node
                logits[:, model.stop] = float("-inf")
            if stochastic:
                t = torch.multinomial(torch.softmax(logits, -1), 1)[:, 0]
            else:
                t = logits.argmax(-1)
        active = ~finished & (t != model.stop)
        types[:, v] = torch.where(active, t, torch.full_like(t, -1))
        tc = t.clamp(0, model.n_types - 1)
        if v == 0:
            h = cell(model.node_input(tc), h0)
        else:
            is_end = active & (t == model.end_type) if model.end_type is not None else torch.zeros_like(active)
            loose = adj[:, :v, :v].sum(2) == 0          # nodes without a successor: an end node reads them
            gi = gi_tab[tc]
            acc_m, acc_g = torch.zeros_like(h0), cell.bias_hh.expand(b, -1).clone()
            h, q = s0_tab[tc], q0_tab[tc]                # the new node before any edge
            for u in range(v - 1, -1, -1):
                logit = model._edge_out(srcs[u] + q)
                d = (torch.rand_like(logit) < torch.sigmoid(logit)) if stochastic else logit > 0
                d = torch.where(is_end, loose[:, u], d) & active
                adj[:, u, v] = d.float()
                idx = d.nonzero(as_tuple=True)[0]
                if len(idx):
                    acc_m[idx] += msgs[u][idx]
                    acc_g[idx] += projs[u][idx]
                    h[idx] = model._gru(gi[idx], acc_g[idx], acc_m[idx])
                    q[idx] = F.linear(h[idx], w_new, e_bias)
        finished = finished | ~active
        if model.end_type is not None:
            finished = finished | (t == model.end_type)
        graph_state = h
        if v < n - 1:
            msgs.append(model._gated(h, v, views))
            projs.append(F.linear(msgs[-1], cell.weight_hh))
            srcs.append(F.linear(h, w_src))
    return DagBatch(types, adj)



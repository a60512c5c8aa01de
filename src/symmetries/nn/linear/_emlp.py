"""Equivariant MLP (Finzi, Welling & Wilson 2021): linear, bilinear and gated layers."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from symmetries.reps import Rep, TrivialRep, standard, summand_indices, trivial
from symmetries.nn.linear._equivariant_linear import EquivariantLinear

#: largest d_a * d_b * d_c solved for one bilinear path
BILINEAR_LIMIT = 1024


def gated(rep: Rep) -> Rep:
    """``rep`` plus one trivial gate scalar per non-trivial summand (appended at the end)."""
    n_gates = sum(not isinstance(r, TrivialRep) for r in rep.components())
    return rep + n_gates * trivial(rep.group) if n_gates else rep


class GatedNonlinearity(nn.Module):
    r"""Equivariant nonlinearity on ``gated(rep)`` inputs (``rep`` followed by one trivial
    gate scalar per non-trivial summand), returning ``rep``:

    .. math::
        y_i = \begin{cases} \mathrm{swish}(x_i) & \text{trivial summand} \\
        \sigma(s_i)\, x_i & \text{otherwise,} \end{cases}

    with :math:`s_i` the summand's own invariant gate scalar.

    Args:
        rep: the output rep.

    Shapes:
        - **input:** ``(..., rep.dim + n_gates)``, ``n_gates`` the non-trivial summands of
          ``rep``
        - **output:** ``(..., rep.dim)``
    """

    def __init__(self, rep: Rep):
        super().__init__()
        self.rep = rep
        is_gated, gate_index, n_gates = [], [], 0
        for r in rep.components():
            if isinstance(r, TrivialRep):
                is_gated.append(False)
                gate_index.append(len(gate_index))  # unused: scalars take swish
            else:
                is_gated += [True] * r.dim
                gate_index += [rep.dim + n_gates] * r.dim
                n_gates += 1
        self.register_buffer("_is_gated", torch.tensor(is_gated), persistent=False)
        self.register_buffer("_gate_index", torch.tensor(gate_index), persistent=False)
        self.n_gates = n_gates

    def forward(self, x):
        expected = self.rep.dim + self.n_gates
        if x.shape[-1] != expected:
            raise ValueError(f"GatedNonlinearity expects (..., {expected}) = rep + gates, got {tuple(x.shape)}")
        values = x[..., : self.rep.dim]
        gates = torch.sigmoid(x[..., self._gate_index])
        return torch.where(self._is_gated, values * gates, F.silu(values))


class EquivariantBilinear(nn.Module):
    r"""Equivariant bilinear layer on a rep made of repeated summands.

    For every pair of summand types :math:`(A, B)`, copies are paired channel by channel
    into products :math:`x_A^u \otimes x_B^u` (at most ``max_channels`` of them); these
    features transform by :math:`\bigoplus m_{AB} (A \otimes B)` and an
    :class:`EquivariantLinear` maps them to ``rep_out``:
    :math:`y_C^c = \sum_{u,k} w^{c}_{uk} P_k (x_A^u \otimes x_B^u)` over the equivariant maps
    :math:`P_k: A \otimes B \to C`. This makes invariants (e.g. :math:`x\cdot y`) and higher
    tensors from lower ones, which linear maps and gates alone cannot. No bias.

    Args:
        rep_in: the input rep.
        rep_out: the output rep, of the same group.
        max_channels: at most this many products per pair of summand types (default: 16).
        max_block: pairs of summands :math:`A \otimes B \to C` with more than this many
            unknowns, :math:`d_A d_B d_C`, are left out (their block stays zero)
            (default: 1024).

    Shapes:
        - **input:** ``(..., rep_in.dim)``
        - **output:** ``(..., rep_out.dim)``
    """

    def __init__(self, rep_in: Rep, rep_out: Rep, max_channels: int = 16, max_block: int = BILINEAR_LIMIT):
        super().__init__()
        self.rep_in, self.rep_out = rep_in, rep_out
        slots = summand_indices(rep_in)
        types = list(slots)
        left, right, feature_reps = [], [], []
        for i, A in enumerate(types):
            for B in types[i:]:
                m = min(len(slots[A]), len(slots[B]), max_channels)
                left.append(slots[A][:m])
                right.append(slots[B][:m])
                feature_reps.append(m * (A * B))
        self._n = len(left)
        for n, (a, b) in enumerate(zip(left, right)):
            self.register_buffer(f"_left{n}", a, persistent=False)
            self.register_buffer(f"_right{n}", b, persistent=False)
        self.linear = EquivariantLinear(sum(feature_reps[1:], feature_reps[0]), rep_out, bias=False,
                                        max_block=max_block)

    def forward(self, x):
        if x.shape[-1] != self.rep_in.dim:
            raise ValueError(f"EquivariantBilinear expects (..., {self.rep_in.dim}), got {tuple(x.shape)}")
        features = []
        for n in range(self._n):
            a = x[..., getattr(self, f"_left{n}")]  # (..., m, dA)
            b = x[..., getattr(self, f"_right{n}")]  # (..., m, dB)
            features.append((a[..., :, None] * b[..., None, :]).flatten(-3))
        return self.linear(torch.cat(features, -1))


def uniform_hidden(group, channels: int, max_rank: int = 2) -> Rep:
    r"""A hidden rep :math:`\bigoplus_{r \le R} m_r V^{\otimes r}` with about ``channels``
    dimensions, split evenly over tensor ranks (at least one copy of each)."""
    V = standard(group)
    reps = []
    for r in range(max_rank + 1):
        T = V**r
        m = max(1, channels // ((max_rank + 1) * T.dim))
        reps.append(m * T)
    return sum(reps[1:], reps[0])


class EMLP(nn.Module):
    r"""Equivariant multilayer perceptron (Finzi, Welling & Wilson 2021): ``depth`` blocks of

    .. math::
        x \mapsto \mathrm{gate}\big(L x + 0.1\, \mathrm{Bilinear}(L x)\big)

    (:class:`EquivariantLinear` :math:`L` into ``hidden`` plus its gate scalars,
    :class:`EquivariantBilinear`, :class:`GatedNonlinearity`), then a final linear map to
    ``rep_out``. Works for any group and reps the basis solver handles.

    Args:
        rep_in: the input rep.
        rep_out: the output rep, of the same group.
        hidden: the rep of every hidden layer, or an int number of channels split evenly
            over :math:`V^{\otimes 0..R}`, :math:`V` the standard rep (``uniform_hidden``,
            at least one copy of each) (default: 128).
        depth: the number of blocks (default: 3).
        max_rank: :math:`R` for an int ``hidden`` (default: 2).

    Shapes:
        - **input:** ``(..., rep_in.dim)``
        - **output:** ``(..., rep_out.dim)``
    """

    def __init__(self, rep_in: Rep, rep_out: Rep, hidden: int | Rep = 128, depth: int = 3, max_rank: int = 2):
        super().__init__()
        if isinstance(hidden, int):
            hidden = uniform_hidden(rep_in.group, hidden, max_rank)
        self.rep_in, self.rep_out, self.hidden = rep_in, rep_out, hidden
        layers = []
        current = rep_in
        for _ in range(depth):
            layers.append(EMLPBlock(current, hidden))
            current = hidden
        self.blocks = nn.Sequential(*layers)
        self.head = EquivariantLinear(current, rep_out)

    def forward(self, x):
        if x.dim() == 0 or x.shape[-1] != self.rep_in.dim:
            raise ValueError(f"EMLP expects inputs (..., {self.rep_in.dim}) for {self.rep_in!r}, got {tuple(x.shape)}")
        return self.head(self.blocks(x))


class EMLPBlock(nn.Module):
    """One EMLP layer: equivariant linear, bilinear, gated nonlinearity."""

    def __init__(self, rep_in: Rep, rep_out: Rep):
        super().__init__()
        g = gated(rep_out)
        self.linear = EquivariantLinear(rep_in, g)
        self.bilinear = EquivariantBilinear(g, g)
        self.nonlinearity = GatedNonlinearity(rep_out)

    def forward(self, x):
        h = self.linear(x)
        return self.nonlinearity(h + 0.1 * self.bilinear(h))

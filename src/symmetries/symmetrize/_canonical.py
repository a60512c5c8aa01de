"""Canonicalization (Kaba et al. 2023): bring each input to a learned canonical pose."""

from __future__ import annotations

import torch
from torch import nn

from symmetries.actions import as_action
from symmetries.groups import Euclidean
from symmetries.nn import mlp
from symmetries._internal.tree import get_entry, set_entry
from symmetries.symmetrize._frames import translate_positions


class Canonicalization(nn.Module):
    r"""Symmetrize any model through an equivariant canonicalizer :math:`h`:

    .. math:: f(x) = h(x) \cdot \phi\big(h(x)^{-1} \cdot x\big),
              \qquad h(g \cdot x) = g\, h(x)

    The canonical input :math:`h(x)^{-1} x` is invariant, so :math:`f` is equivariant
    (invariant when ``action_out`` is trivial) for any ``model`` :math:`\phi`, which can be
    pretrained.

    With actions of the Euclidean group (:class:`~symmetries.actions.PointCloudAction` of
    ``Euclidean(d)``), the canonicalizer still predicts the rotation ``(B, d, d)``; it is
    joined with the centroid of ``positions`` into a homogeneous element and the actions do
    the translating.

    Args:
        model: any model :math:`\phi`.
        canonicalizer: maps the input batch ``B`` to ``B`` group elements of
            ``action_in.group`` (e.g. :class:`OrthogonalCanonicalizer`,
            :class:`PointCloudCanonicalizer`); trained with the model.
        action_in: the Action (or Rep) on the input.
        action_out: the Action on the output, of the same group.
        positions: for point clouds, the entry of the input holding the positions
            ``(B, N, d)`` (``None``, the default: the input is the positions).
        translation: remove the centroid of ``positions`` before the rotation (default:
            ``False``).
        output_positions: the outputs that get the centroid added back (``True``: the
            whole output; an int or key: that entry), making the result E(d)-equivariant.
            Needs ``translation``; not with the Euclidean group.

    Shapes:
        - **input:** any structure ``action_in`` acts on, batch ``B``
        - **output:** ``model``'s output
    """

    def __init__(self, model: nn.Module, canonicalizer: nn.Module, action_in, action_out, positions=None,
                 translation: bool = False, output_positions=None):
        super().__init__()
        self.model, self.canonicalizer = model, canonicalizer
        self.action_in, self.action_out = as_action(action_in), as_action(action_out)
        self.group = self.action_in.group
        if self.action_out.group not in (None, self.group):
            raise ValueError(f"action_in acts by {self.group!r} but action_out by {self.action_out.group!r}: "
                             "they must share one group")
        self.euclidean = isinstance(self.group, Euclidean)
        if self.euclidean and output_positions is not None:
            raise ValueError(f"with {self.group!r}, action_out translates the outputs itself: "
                             "leave output_positions unset")
        if output_positions is not None and not translation:
            raise ValueError("output_positions needs translation=True")
        self.positions, self.translation, self.output_positions = positions, bool(translation), output_positions

    def forward(self, x):
        h = self.canonicalizer(x)
        if self.euclidean:  # homogeneous (h, centroid): the actions translate
            t = get_entry(x, self.positions).mean(1)
            g = self.group.from_parts(h, t.to(h.dtype))
            return self.action_out.act(g, self.model(self.action_in.act(self.group.inverse(g), x)))
        if self.translation:
            t = get_entry(x, self.positions).mean(1)
            x = set_entry(x, self.positions, translate_positions(get_entry(x, self.positions), -t))
        y = self.action_out.act(h, self.model(self.action_in.act(self.group.inverse(h), x)))
        if self.translation and self.output_positions is not None:
            key = None if self.output_positions is True else self.output_positions
            y = set_entry(y, key, translate_positions(get_entry(y, key), t))
        return y


def orthogonalize(vectors: torch.Tensor, special: bool = False) -> torch.Tensor:
    r"""Gram-Schmidt of the columns of ``A`` into an orthogonal matrix ``Q``.

    The first ``min(k, d)`` columns of ``Q`` come from :math:`A = Q R` with
    :math:`R_{ii} > 0`, hence are equivariant: :math:`A \mapsto gA` gives
    :math:`Q \mapsto gQ` for orthogonal :math:`g`. With ``k < d`` the frame is completed by
    the standard basis (not equivariant; harmless for inputs inside the span of the
    columns).

    Args:
        vectors: the columns ``A``.
        special: flip the last column where :math:`\det Q < 0` (then equivariant for
            rotations only) (default: ``False``).

    Returns:
        ``Q``.

    Shapes:
        - **input:** vectors ``(B, d, k)``
        - **output:** ``(B, d, d)``
    """
    B, d, k = vectors.shape
    if k < d:
        eye = torch.eye(d, dtype=vectors.dtype, device=vectors.device).expand(B, d, d)
        vectors = torch.cat([vectors, eye], -1)
    Q, R = torch.linalg.qr(vectors)  # (B, d, d), (B, d, max(k, d))
    sign = torch.where(torch.diagonal(R[..., :d, :d], dim1=-2, dim2=-1) < 0, -1.0, 1.0).to(Q.dtype)
    Q = Q * sign[:, None, :]
    if special:
        flip = torch.where(torch.linalg.det(Q) < 0, -1.0, 1.0).to(Q.dtype)
        Q = torch.cat([Q[..., :-1], Q[..., -1:] * flip[:, None, None]], -1)
    return Q


class OrthogonalCanonicalizer(nn.Module):
    r"""Predict an element of O(d) (SO(d) when ``special``) from ``k`` vectors in :math:`R^d`.

    From their Gram matrix :math:`X X^T` (invariant) an MLP gives coefficients :math:`c`,
    the equivariant vectors

    .. math::
        v_j = \sum_i c_{ji}(X X^T)\, x_i, \qquad j = 1..\min(k, d),

    are orthogonalized (:func:`orthogonalize`) into :math:`h(x)`, so that
    :math:`h(g x) = g h(x)`. With :math:`k < d` the vectors span only a subspace and the
    rest of the frame is arbitrary: the canonical input is still invariant, so invariant
    models stay exact, but equivariant outputs outside that span are not.

    Args:
        n_vectors: ``k``.
        dim: ``d``.
        hidden: the width of the MLP's two hidden layers (default: 32).
        special: predict rotations, SO(d) (default: ``False``).

    Shapes:
        - **input:** ``(B, k d)``, the vectors concatenated (the rep ``k * standard(O(d))``)
        - **output:** ``(B, d, d)``
    """

    def __init__(self, n_vectors: int, dim: int, hidden: int = 32, special: bool = False):
        super().__init__()
        self.k, self.d, self.special = int(n_vectors), int(dim), bool(special)
        self.m = min(self.k, self.d)
        self.net = mlp([self.k * self.k, hidden, hidden, self.m * self.k])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 2 or x.shape[1] != self.k * self.d:
            raise ValueError(f"expected {self.k} vectors of dim {self.d} as (batch, {self.k * self.d}), "
                             f"got shape {tuple(x.shape)}")
        X = x.reshape(-1, self.k, self.d)
        gram = (X @ X.transpose(1, 2)).flatten(1)
        c = self.net(gram).reshape(-1, self.m, self.k)
        return orthogonalize((c @ X).transpose(1, 2), self.special)


class PointCloudCanonicalizer(nn.Module):
    r"""Predict an element of O(d) (SO(d)) from a point cloud.

    Centred points :math:`y_i = x_i - \bar x` give

    .. math::
        v_j = \frac1N \sum_i w_j(|y_i|^2)\, y_i, \qquad j = 1..d,

    with an MLP :math:`w`: equivariant under rotations and reflections, invariant under
    translations and relabelling of the points. :func:`orthogonalize` of the :math:`v_j` is
    :math:`h(x)`.

    Args:
        dim: ``d``.
        hidden: the width of the MLP's two hidden layers (default: 32).
        special: predict rotations, SO(d) (default: ``False``).
        positions: picks the positions out of a tuple or dict input (default: ``None``,
            the input is the positions).

    Shapes:
        - **input:** positions ``(B, N, d)``
        - **output:** ``(B, d, d)``
    """

    def __init__(self, dim: int, hidden: int = 32, special: bool = False, positions=None):
        super().__init__()
        self.d, self.special, self.positions = int(dim), bool(special), positions
        self.net = mlp([1, hidden, hidden, self.d])

    def forward(self, x) -> torch.Tensor:
        pos = get_entry(x, self.positions)
        if pos.dim() != 3 or pos.shape[-1] != self.d:
            raise ValueError(f"positions must be (batch, points, {self.d}), got shape {tuple(pos.shape)}")
        y = pos - pos.mean(1, keepdim=True)
        w = self.net((y * y).sum(-1, keepdim=True))  # (B, N, d): one weight per point and output vector
        v = w.transpose(1, 2) @ y / y.shape[1]  # (B, d, d): row j is v_j
        return orthogonalize(v.transpose(1, 2), self.special)

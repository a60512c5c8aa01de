"""Frame averaging for point clouds under E(d) / O(d) / SO(d) (Puny et al. 2022)."""

from __future__ import annotations

import itertools
import warnings

import torch
from torch import nn

from symmetries.actions import as_action
from symmetries.groups import O, Euclidean
from symmetries._internal.tree import get_entry, mean_over_copies, set_entry, take


def pca_frames(positions: torch.Tensor, special: bool = False, center: bool = True, tol: float = 1e-6):
    r"""PCA frames of point clouds.

    With :math:`t = \frac1N \sum_i x_i` (or :math:`0` when ``center=False``) and
    :math:`C = \frac1N \sum_i (x_i - t)(x_i - t)^T = U \Lambda U^T`, the frame is
    :math:`F(x) = \{(U S, t) : S = \mathrm{diag}(\pm 1)\}`: :math:`2^d` elements
    (:math:`2^{d-1}` with :math:`\det U S = 1` when ``special``). It is equivariant,
    :math:`F(Q x + a) = (Q, a) F(x)`, when the eigenvalues are distinct.

    Args:
        positions: the clouds :math:`x`.
        special: keep only the frames with :math:`\det = 1` (default: ``False``).
        center: subtract the centroid (default: ``True``).
        tol: the relative eigenvalue gap below which a cloud counts as degenerate
            (default: 1e-6).

    Returns:
        ``(R, t, degenerate)``: rotations ``(B, K, d, d)``, centroids ``(B, d)`` and a bool
        ``(B,)`` marking clouds whose closest eigenvalues differ by less than ``tol`` times
        the largest one (their frame, and hence the average, is not well defined).

    Shapes:
        - **input:** positions ``(B, N, d)``
    """
    if positions.dim() != 3:
        raise ValueError(f"positions must be (batch, points, dim), got shape {tuple(positions.shape)}")
    B, N, d = positions.shape
    t = positions.mean(1) if center else positions.new_zeros(B, d)
    x = positions - t[:, None]
    C = x.transpose(1, 2) @ x / N
    lam, U = torch.linalg.eigh(C)
    gaps = (lam[:, 1:] - lam[:, :-1]).amin(1) if d > 1 else lam.new_full((B,), float("inf"))
    degenerate = gaps <= tol * lam[:, -1].abs().clamp_min(torch.finfo(lam.dtype).tiny)
    signs = torch.tensor(list(itertools.product([1.0, -1.0], repeat=d)), dtype=x.dtype, device=x.device)
    if special:
        det = torch.linalg.det(U).sign()
        keep = signs.prod(1)[None, :] == det[:, None]  # (B, 2^d), 2^(d-1) True per row
        idx = keep.nonzero()[:, 1].reshape(B, -1)
        S = signs[idx]  # (B, K, d)
    else:
        S = signs.expand(B, -1, -1)
    return U[:, None] * S[:, :, None, :], t, degenerate


class FrameAveraging(nn.Module):
    r"""Exact E(d)- (or O(d)-, SO(d)-) equivariance of any point-cloud model:

    .. math:: \langle f \rangle_F(x) = \frac{1}{|F(x)|} \sum_{(R, t) \in F(x)}
              (R, t) \cdot f\big((R, t)^{-1} \cdot x\big)

    over the PCA frame :math:`F(x)` of :func:`pca_frames`: 8 forward passes in 3D for O(3)
    (4 for SO(3)), 4 (2) in 2D.

    Clouds whose covariance has two eigenvalues closer than ``tol`` times the largest have
    no well-defined frame (Puny et al.: a measure-zero set, but reached by symmetric
    inputs). The average is still computed and invariant to relabelling of points, but its
    equivariance is only approximate for those inputs.

    Args:
        model: any point-cloud model.
        action_in, action_out: actions of ``O(d)`` / ``SO(d)`` (matrices ``(B, d, d)``) on
            the input and output (a Rep such as ``standard(O3())`` for positions
            ``(B, N, d)``, or an action on a tuple: positions, velocities, charges), or of
            the Euclidean group (:class:`~symmetries.actions.PointCloudAction` of
            ``Euclidean(d)``, whose homogeneous elements translate positions themselves);
            the group decides 2^d or 2^(d-1) frames.
        positions: picks the positions out of the input (``None``, the default: the input
            is the positions tensor; an int or key: that entry of a tuple or dict).
        translation: the frame also holds the centroid: inputs are centred before the
            rotation (default: ``True``; required for the Euclidean group).
        output_positions: the outputs that get the centroid added back, so predicted
            positions translate with the input (``True``: the whole output; an int or key:
            that entry; default ``None``: none, outputs are translation invariant). Needs
            ``translation``; not with the Euclidean group.
        tol: the relative eigenvalue gap of a degenerate cloud (default: 1e-6).
        on_degenerate: ``"warn"`` (default), ``"raise"`` or ``"ignore"``: what happens when
            a cloud is degenerate.

    Shapes:
        - **input:** any structure ``action_in`` acts on; its positions ``(B, N, d)``
        - **output:** ``model``'s output
    """

    def __init__(self, model: nn.Module, action_in, action_out, positions=None, translation: bool = True,
                 output_positions=None, tol: float = 1e-6, on_degenerate: str = "warn"):
        super().__init__()
        self.model = model
        self.action_in, self.action_out = as_action(action_in), as_action(action_out)
        G = self.action_in.group
        self.euclidean = isinstance(G, Euclidean)
        if not (isinstance(G, O) or self.euclidean):
            raise ValueError(f"FrameAveraging needs an action of O(d), SO(d) or E(d), got one of {G!r}")
        if self.euclidean and not translation:
            raise ValueError(f"{G!r} includes translations: FrameAveraging of it needs translation=True")
        if self.euclidean and output_positions is not None:
            raise ValueError(f"with {G!r}, action_out translates the outputs itself: leave output_positions unset")
        if self.action_out.group not in (None, G):
            raise ValueError(f"action_in acts by {G!r} but action_out by {self.action_out.group!r}: "
                             "they must share one group")
        if on_degenerate not in ("warn", "raise", "ignore"):
            raise ValueError(f"on_degenerate must be 'warn', 'raise' or 'ignore', got {on_degenerate!r}")
        if output_positions is not None and not translation:
            raise ValueError("output_positions needs translation=True")
        self.group = G
        self.d, self.special = (G.n, bool(G.special)) if self.euclidean else (G.d, bool(G.special))
        self.positions, self.translation, self.output_positions = positions, bool(translation), output_positions
        self.tol, self.on_degenerate = float(tol), on_degenerate

    @property
    def n_frames(self) -> int:
        """:math:`|F(x)|`, the forward passes per input: :math:`2^d`, or :math:`2^{d-1}` for
        rotations only."""
        return 2 ** (self.d - 1) if self.special else 2**self.d

    def forward(self, x):
        pos = get_entry(x, self.positions)
        if pos.dim() != 3 or pos.shape[-1] != self.d:
            raise ValueError(f"positions must be (batch, points, {self.d}), got shape {tuple(pos.shape)}")
        R, t, degenerate = pca_frames(pos, self.special, self.translation, self.tol)
        if self.on_degenerate != "ignore" and bool(degenerate.any()):
            msg = (f"{int(degenerate.sum())} of {len(degenerate)} point clouds have (near-)degenerate covariance "
                   f"eigenvalues (relative gap <= {self.tol:g}): their frames are ambiguous")
            if self.on_degenerate == "raise":
                raise ValueError(msg)
            warnings.warn(msg, stacklevel=2)
        B, K = R.shape[:2]
        Rk = R.transpose(0, 1).reshape(K * B, self.d, self.d)  # copy-major: index k * B + i
        tk = t.repeat(K, 1)
        xs = take(x, torch.arange(B).repeat(K))
        if self.euclidean:  # homogeneous elements (R, t): the actions translate
            g = self.group.from_parts(Rk, tk)
            y = self.model(self.action_in.act(self.group.inverse(g), xs))
            return mean_over_copies(self.action_out.act(g, y), K)
        if self.translation:
            xs = set_entry(xs, self.positions, translate_positions(get_entry(xs, self.positions), -tk))
        y = self.model(self.action_in.act(Rk.transpose(1, 2), xs))
        y = self.action_out.act(Rk, y)
        if self.output_positions is not None:
            key = None if self.output_positions is True else self.output_positions
            y = set_entry(y, key, translate_positions(get_entry(y, key), tk))
        return mean_over_copies(y, K)

    def extra_repr(self):
        return f"group={self.group!r}, frames={self.n_frames}, translation={self.translation}"


def translate_positions(v, t):
    """``v (n, ..., d) + t (n, d)`` broadcast over the middle axes."""
    if v.shape[0] != t.shape[0] or v.shape[-1] != t.shape[-1]:
        raise ValueError(f"cannot translate positions of shape {tuple(v.shape)} by centroids {tuple(t.shape)}")
    return v + t.to(v.dtype).reshape(t.shape[0], *([1] * (v.dim() - 2)), t.shape[-1])

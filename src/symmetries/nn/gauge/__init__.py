r"""Lattice gauge equivariant CNNs (L-CNN; Favoni, Ipp, Mueller, Schuh, Phys. Rev. Lett. 128,
032003, 2022).

Link variables ``U`` are complex ``(B, D, L_0, ..., L_{D-1}, N, N)`` tensors on a periodic
lattice, ``U[b, mu, x]`` the transporter :math:`U_\mu(x)` from :math:`x + \hat\mu` back to
:math:`x` (U(1): ``N = 1``, SU(2): ``N = 2``, SU(3): ``N = 3``). A gauge transformation
:math:`\Omega(x)` maps :math:`U_\mu(x) \to \Omega(x) U_\mu(x) \Omega(x+\hat\mu)^\dagger`;
the layers carry covariant site features ``W``, ``(B, C, L_0, ..., L_{D-1}, N, N)``, with
:math:`W(x) \to \Omega(x) W(x) \Omega(x)^\dagger`, and end in gauge-invariant traces::

    import torch
    from symmetries.nn.gauge import LCNN, Plaq, LConv, LBilin, LAct, Trace

    net = LCNN(dim=2, out_features=1, channels=(4, 4), kernel_size=1)
    y = net(U)              # U: (B, 2, 8, 8, 2, 2) complex64 SU(2) links -> (B, 1)

    W = Plaq()(U)                                  # (B, 2, 8, 8, 2, 2): both orientations
    W = LAct()(LBilin(4, 2)(LConv(2, 4, 1, dim=2)(U, W), W))
    t = Trace()(W)                                 # (B, 8, 8, 8) real, gauge invariant

Layers take and return plain tensors: ``Plaq(U) -> W``, ``LConv(U, W) -> W``,
``LBilin(W, W2) -> W``, ``LAct(W) -> W``, ``Trace(W) -> real``. :func:`transport` and
:func:`transport_path` move features along straight lines and paths.
"""

from symmetries.nn.gauge._field import check_features, check_links, transport, transport_path
from symmetries.nn.gauge._layers import LAct, LBilin, LConv, Plaq, Trace
from symmetries.nn.gauge._lcnn import LCNN

__all__ = ["LCNN", "Plaq", "LConv", "LBilin", "LAct", "Trace", "transport", "transport_path", "check_links",
           "check_features"]

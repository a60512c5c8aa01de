"""Learned canonicalization of images (Kaba et al. 2023) for the finite point groups of the plane."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from symmetries.actions import disk_mask
from symmetries.groups import Cyclic, Dihedral
from symmetries.nn.images import FieldType, GroupConv2d, PointwiseNonlinearity2d, R2Conv


class ImageCanonicalizer(nn.Module):
    r"""Predict an element of ``Cyclic(n)`` or ``Dihedral(n)`` from images, equivariantly.

    A small group CNN maps an image :math:`x` to one regular field; its mean over the
    inscribed disk is a score :math:`s_h(x)` per group element :math:`h` that transforms by
    the regular representation, :math:`s_{gh}(g \cdot x) = s_h(x)`. The canonical element

    .. math:: h(x) = \arg\max_h s_h(x) \qquad\text{so}\qquad h(g \cdot x) = g\, h(x),

    exactly when the network is exactly equivariant: rotations by 90 degrees and flips of
    square images with :class:`~symmetries.nn.images.GroupConv2d` (C1, C2, C4, D1, D2, D4),
    up to interpolation for the other groups (steerable :class:`~symmetries.nn.images.R2Conv`).
    Use it in :class:`~symmetries.symmetrize.Canonicalization` with
    :func:`~symmetries.actions.rotate_image` of the same group.

    The arg max passes no gradient: train the network with :meth:`prior_loss` on upright
    training images (canonicalization prior, Mondal et al. 2023), so that the canonical pose
    of upright data is the identity and a pretrained or plainly trained model sees the
    inputs it knows.

    Args:
        group: ``Cyclic(n)`` or ``Dihedral(n)``.
        in_channels: channels of the images (trivial fields).
        channels: regular fields of the hidden layers (default: 8).
        kernel_size: odd filter size (default: 5).
        layers: convolutions, >= 1, the last one to the single regular field of scores
            (default: 2).

    Shapes:
        - **input:** ``(B, in_channels, H, W)``
        - **output:** ``B`` elements of ``group`` in its encoding (``(B,)`` long for
          Cyclic, ``(B, 2)`` for Dihedral)
        - **scores:** ``(B, group.order)``, in the order of ``group.elements()``
    """

    def __init__(self, group, in_channels: int, channels: int = 8, kernel_size: int = 5, layers: int = 2):
        super().__init__()
        if not isinstance(group, (Cyclic, Dihedral)):
            raise TypeError(f"ImageCanonicalizer needs Cyclic(n) or Dihedral(n), got {group!r}")
        if int(layers) < 1:
            raise ValueError(f"layers must be >= 1, got {layers}")
        self.group, self.in_channels = group, int(in_channels)
        on_grid = group.n in (1, 2, 4)
        conv = GroupConv2d if on_grid else R2Conv
        types = [FieldType.trivial(group, self.in_channels)] + [FieldType.regular(group, channels)] * (layers - 1)
        types.append(FieldType.regular(group, 1))
        body: list[nn.Module] = []
        for i, (t_in, t_out) in enumerate(zip(types[:-1], types[1:])):
            body.append(conv(t_in, t_out, kernel_size))
            if i < layers - 1:
                body.append(PointwiseNonlinearity2d(t_out))
        self.net = nn.Sequential(*body)
        self.register_buffer("_elements", group.elements(), persistent=False)

    def scores(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, order)`` scores :math:`s_h(x)`, the disk mean of the regular output field."""
        if not torch.is_tensor(x) or x.dim() != 4 or x.shape[1] != self.in_channels:
            raise ValueError(f"ImageCanonicalizer expects images (B, {self.in_channels}, H, W), got "
                             f"{tuple(x.shape) if torch.is_tensor(x) else type(x).__name__}")
        y = self.net(x)
        mask = disk_mask(y.shape[-2], y.shape[-1], device=y.device).to(y.dtype)
        return (y * mask).sum((-2, -1)) / mask.sum()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self._elements[self.scores(x).argmax(-1)]

    def prior_loss(self, x: torch.Tensor) -> torch.Tensor:
        """Cross entropy of the scores against the identity: small when upright images ``x``
        are their own canonical pose."""
        s = self.scores(x)
        identity = torch.zeros(s.shape[0], dtype=torch.long, device=s.device)  # elements()[0] is the identity
        return F.cross_entropy(s, identity)

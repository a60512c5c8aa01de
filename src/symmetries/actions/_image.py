r"""Rotations and reflections of images and feature maps on a square pixel grid.

A planar group element :math:`g = r_\theta f^s` (the reflection :math:`f` across the x
axis, then the rotation by :math:`\theta`) moves a feature map :math:`f: \mathbb{Z}^2 \to
\mathbb{R}^C` whose channels transform by a rep :math:`\rho` as

.. math::  (g \cdot f)(x) = \rho(g)\, f(g^{-1} x).

Pixel coordinates: ``x`` points right (columns), ``y`` points up (rows, reversed), the
origin is the image centre, so positive angles turn the picture counter-clockwise.
Rotations by multiples of 90 degrees and the flips are exact permutations of the pixels
(``torch.rot90`` / ``torch.flip``); other angles are resampled by interpolation
(``grid_sample``), exact only inside the smooth, band-limited regime.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from symmetries.groups import O, SO, Cyclic, Dihedral, Group
from symmetries.actions._action import Action, flat_distance

#: tolerance (radians) under which an angle counts as an exact multiple of 90 degrees
EXACT_ATOL = 1e-9


def is_planar_group(group) -> bool:
    """``True`` for the point groups of the plane: ``Cyclic``, ``Dihedral``, ``SO2``, ``O2``
    (``SO(2)``, ``O(2)``).

    Args:
        group: any object.

    Returns:
        ``bool``.
    """
    return isinstance(group, (Cyclic, Dihedral)) or (isinstance(group, O) and group.n == 2)


def planar_angle(group: Group, g) -> tuple[torch.Tensor, torch.Tensor]:
    r"""Write each element of a planar group as :math:`r_\theta f^s`.

    Args:
        group: ``Cyclic``, ``Dihedral``, ``SO2`` or ``O2`` (else ``TypeError``).
        g: a batch of ``n`` elements of ``group``.

    Returns:
        ``(theta, s)``: ``theta`` float64 ``(n,)``, radians, and ``s`` long ``(n,)``, 1 for
        a reflection across the x axis applied first.
    """
    if isinstance(group, Cyclic):
        return group.angle(g), torch.zeros_like(g)
    if isinstance(group, Dihedral):
        return g[:, 0].double() * (2 * math.pi / group.n), g[:, 1].clone()
    if isinstance(group, O) and group.n == 2:
        g = g.double()
        s = (torch.linalg.det(g) < 0).long() if not isinstance(group, SO) else torch.zeros(len(g), dtype=torch.long)
        r = g.clone()
        r[:, :, 1] = torch.where(s.bool()[:, None], -g[:, :, 1], g[:, :, 1])  # g F^s = r_theta
        return torch.atan2(r[:, 1, 0], r[:, 0, 0]), s.to(g.device)
    raise TypeError(f"images are acted on by planar groups (Cyclic, Dihedral, SO2, O2), got {group!r}")


def _quarter_turns(theta: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """``(k, exact)``: nearest number of quarter turns and whether theta is one exactly."""
    q = theta / (math.pi / 2)
    k = torch.round(q)
    return k.long() % 4, (q - k).abs() * (math.pi / 2) <= EXACT_ATOL


def _exact(x: torch.Tensor, k: int, s: int) -> torch.Tensor:
    if s:
        x = torch.flip(x, (-2,))  # y -> -y
    return torch.rot90(x, k, (-2, -1)) if k else x


def _interpolate(x: torch.Tensor, theta: torch.Tensor, s: torch.Tensor, mode: str) -> torch.Tensor:
    r"""Resample ``x`` (B, C, H, W) at :math:`g^{-1} p` for every pixel ``p``; theta, s: (B,) or (1,)."""
    H, W = x.shape[-2:]
    cy, cx = (H - 1) / 2, (W - 1) / 2
    dev = x.device
    yy, xx = torch.meshgrid(torch.arange(H, dtype=torch.float64, device=dev),
                            torch.arange(W, dtype=torch.float64, device=dev), indexing="ij")
    px, py = xx - cx, cy - yy  # (H, W) centred coordinates, y up
    c, si = torch.cos(theta.to(dev))[:, None, None], torch.sin(theta.to(dev))[:, None, None]
    qx = c * px + si * py  # g^{-1} p = F^s R(-theta) p
    qy = -si * px + c * py
    qy = torch.where(s.to(dev).bool()[:, None, None], -qy, qy)
    gx = (qx + cx) / max(W - 1, 1) * 2 - 1
    gy = (cy - qy) / max(H - 1, 1) * 2 - 1
    grid = torch.stack([gx, gy], -1).to(x.dtype).expand(x.shape[0], H, W, 2)
    return F.grid_sample(x, grid, mode=mode, padding_mode="zeros", align_corners=True)


def transform_grid(x: torch.Tensor, theta: torch.Tensor, s: torch.Tensor, mode: str = "bilinear") -> torch.Tensor:
    r"""Move the pixels of ``x`` ``(B, C, H, W)``: :math:`x'(p) = x(g^{-1} p)` for
    :math:`g = r_\theta f^s`; ``theta``/``s`` of size 1 or ``B``. Quarter turns and flips are
    exact (square images for odd quarter turns); other angles use ``grid_sample(mode)``."""
    theta, s = theta.reshape(-1), s.reshape(-1)
    n = theta.shape[0]
    k, exact = _quarter_turns(theta)
    square = x.shape[-2] == x.shape[-1]
    if not square and bool(((k % 2 == 1) & exact).any()):
        raise ValueError(f"rotating by 90 or 270 degrees needs a square image, got {tuple(x.shape[-2:])}")
    if n == 1:
        if bool(exact[0]):
            return _exact(x, int(k[0]), int(s[0]))
        return _interpolate(x, theta, s, mode)
    out = torch.empty_like(x)
    if bool((~exact).any()):
        idx = torch.nonzero(~exact).flatten()
        out[idx.to(x.device)] = _interpolate(x[idx.to(x.device)], theta[idx], s[idx], mode)
    code = torch.where(exact, k + 4 * s, torch.full_like(k, -1))
    for c in torch.unique(code).tolist():
        if c < 0:
            continue
        idx = torch.nonzero(code == c).flatten().to(x.device)
        out[idx] = _exact(x[idx], c % 4, c // 4)
    return out


class ImageAction(Action):
    r"""A planar point group acting on feature maps,

    .. math::
        (g \cdot f)(x) = \rho(g) f(g^{-1} x).

    ``g`` holds one element (applied to every image) or ``B`` (one per image, for
    augmentation). Quarter turns and flips are exact pixel permutations; other angles are
    interpolated, zeros outside.

    Args:
        group: ``Cyclic``, ``Dihedral``, ``SO2`` or ``O2``.
        rep: how the ``C`` channels transform (a :class:`~symmetries.reps.Rep` of ``group``
            with ``dim == C``); ``None`` (default) means every channel is a scalar
            (``rho = 1``, any ``C``).
        mode: interpolation for angles that are not multiples of 90 degrees:
            ``"bilinear"`` (default), ``"nearest"`` or ``"bicubic"``.
        disk: compare outputs only inside the inscribed disk (``distance``), where a
            rotation by an arbitrary angle keeps the image content (default: ``False``).

    Shapes:
        - **x:** ``(B, C, H, W)`` (``H == W`` for odd quarter turns)
        - **output:** ``(B, C, H, W)``
    """

    def __init__(self, group: Group, rep=None, mode: str = "bilinear", disk: bool = False):
        if not is_planar_group(group):
            raise TypeError(f"images are acted on by planar groups (Cyclic, Dihedral, SO2, O2), got {group!r}")
        if rep is not None and rep.group != group:
            raise ValueError(f"the channel rep {rep!r} belongs to {rep.group!r}, expected a rep of {group!r}")
        if mode not in ("bilinear", "nearest", "bicubic"):
            raise ValueError(f"mode must be 'bilinear', 'nearest' or 'bicubic', got {mode!r}")
        self.group, self.rep, self.mode, self.disk = group, rep, mode, bool(disk)
        self._all = None  # rho of every element of a finite group, built on first use

    def __repr__(self):
        rep = "" if self.rep is None else f", {self.rep!r}"
        return f"ImageAction({self.group!r}{rep})"

    def _channel_matrices(self, g) -> torch.Tensor:
        G = self.group
        if G.order is None:
            return self.rep(g)
        if self._all is None:
            self._all = self.rep(G.elements().to("cpu"))
        index = g[:, 0] + G.n * g[:, 1] if isinstance(G, Dihedral) else g  # position in elements()
        return self._all[index.cpu()]

    def act(self, g, x):
        if not torch.is_tensor(x) or x.dim() != 4:
            shape = tuple(x.shape) if torch.is_tensor(x) else type(x).__name__
            raise ValueError(f"{self!r} acts on feature maps (B, C, H, W), got {shape}")
        if self.rep is not None and x.shape[1] != self.rep.dim:
            raise ValueError(f"{self!r} expects {self.rep.dim} channels, got {x.shape[1]} (shape {tuple(x.shape)})")
        self.group.check(g)
        n = self.group.batch_size(g)
        if n not in (1, x.shape[0]):
            raise ValueError(f"{n} group elements need a batch of 1 or {n} images, got {x.shape[0]}")
        theta, s = planar_angle(self.group, g)
        out = transform_grid(x, theta.cpu(), s.cpu(), self.mode)
        if self.rep is None:
            return out
        mats = self._channel_matrices(g).to(dtype=x.dtype, device=x.device)
        if n == 1:
            return torch.einsum("ij,bjhw->bihw", mats[0], out)
        return torch.einsum("bij,bjhw->bihw", mats, out)

    def distance(self, a, b):
        if not self.disk:
            return flat_distance(a, b)
        mask = disk_mask(a.shape[-2], a.shape[-1], device=a.device)
        return flat_distance(a * mask, b * mask)


def disk_mask(height: int, width: int, radius: float | None = None, device=None) -> torch.Tensor:
    """0/1 mask of the pixels within ``radius`` of the image centre.

    Args:
        height: ``H``.
        width: ``W``.
        radius: in pixels (default: the inscribed disk, radius ``(min(H, W) - 1) / 2``).
        device: where to build it (default: the CPU).

    Returns:
        ``(H, W)`` float32.
    """
    if radius is None:
        radius = (min(height, width) - 1) / 2
    y = torch.arange(height, device=device, dtype=torch.float64) - (height - 1) / 2
    x = torch.arange(width, device=device, dtype=torch.float64) - (width - 1) / 2
    return ((y[:, None] ** 2 + x[None, :] ** 2) <= radius**2 + 1e-9).float()


def rotate_image(group: Group, rep=None, mode: str = "bilinear", disk: bool = False) -> ImageAction:
    """The action of a planar group on images, :math:`(g \\cdot f)(x) = \\rho(g) f(g^{-1} x)`.

    Args:
        group, rep, mode, disk: as :class:`ImageAction`.

    Returns:
        ``ImageAction(group, rep, mode, disk)``.
    """
    return ImageAction(group, rep, mode, disk)


def rotate_images(x: torch.Tensor, degrees, flip=None, mode: str = "bilinear") -> torch.Tensor:
    r"""Rotate images counter-clockwise, after flipping top to bottom where asked:
    :math:`x'(p) = x(g^{-1} p)` with :math:`g = r_\theta f^s`.

    Multiples of 90 degrees are exact pixel permutations; other angles are interpolated
    (zeros outside).

    Args:
        x: the images.
        degrees: the angle, a number or one per image.
        flip: flip top to bottom first, a bool or one per image (default: ``None``, no flip).
        mode: ``grid_sample`` interpolation for other angles (default: ``"bilinear"``).

    Returns:
        The moved images.

    Shapes:
        - **input:** x ``(B, C, H, W)``, degrees and flip ``()``, ``(1,)`` or ``(B,)``
        - **output:** ``(B, C, H, W)``
    """
    deg = torch.as_tensor(degrees, dtype=torch.float64).reshape(-1)
    s = torch.zeros_like(deg, dtype=torch.long) if flip is None else torch.as_tensor(flip).long().reshape(-1)
    if deg.numel() not in (1, x.shape[0]) or s.numel() not in (1, x.shape[0]):
        raise ValueError(f"need one angle / flip or one per image ({x.shape[0]}), got {deg.numel()} and {s.numel()}")
    deg, s = torch.broadcast_tensors(deg, s)
    return transform_grid(x, torch.deg2rad(deg), s, mode)

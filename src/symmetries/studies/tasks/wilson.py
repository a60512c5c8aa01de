r"""Wilson loops of lattice gauge fields (the L-CNN benchmark; Favoni, Ipp, Mueller, Schuh,
Phys. Rev. Lett. 128, 032003, 2022): regress gauge-invariant observables of :math:`SU(2)`
configurations in 1+1 dimensions from the links.

Data: :func:`~symmetries.data.wilson_ensemble` configurations of the Wilson action at
couplings ``betas`` spread over 0.1..6 (cached), trained on an ``8 x 8`` lattice and tested on
a larger one (``16 x 16`` by default) to measure generalisation to lattice sizes never seen in
training. Targets, per configuration: lattice means of :math:`\frac1N\mathrm{Re}\,\mathrm{tr}`
of the :math:`a \times b` Wilson loops (both orientations averaged) and of the Polyakov loop.

Methods: ``plain`` is a CNN on the link components (real and imaginary parts as channels,
periodic padding, mean-pooled), ``augment`` the same CNN trained on configurations moved by
random gauge transformations, ``equivariant`` the :class:`~symmetries.nn.gauge.LCNN`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import ClassVar

import torch
from torch import nn

from symmetries.actions import GaugeAction, invariant, polyakov_loops, wilson_loops
from symmetries.data import wilson_ensemble
from symmetries.groups import LatticeGauge, gauge_group
from symmetries.nn.gauge import LCNN
from symmetries.studies._registry import register_task
from symmetries.studies._task import Task, epoch_steps

_LOOP = re.compile(r"^(\d+)x(\d+)$")


class SubLatticeGaugeAction(GaugeAction):
    r"""Gauge transformations of a lattice of shape ``shape``, acting on links of that
    lattice or of any smaller one: an element :math:`\Omega(x)` is restricted to the sites
    of the input's lattice (every site is Haar-independent, so the restriction of a random
    element is a random element of the smaller lattice's gauge group). One action thus moves
    both the training (``8 x 8``) and the test (``16 x 16``) configurations of a study.

    Args:
        group: the gauge group (``"SU2"``, ``"U1"``, or the group).
        shape: the largest lattice, :math:`(L_0, \dots, L_{D-1})`.

    Shapes:
        - **g:** ``(1 or B, L_0, ..., L_{D-1}, N, N)``
        - **x:** links ``(B, D, l_0, ..., l_{D-1}, N, N)`` with every :math:`l_\mu \le L_\mu`
        - **output:** the shape of ``x``
    """

    def __init__(self, group, shape):
        super().__init__(LatticeGauge(group, shape), "links")

    def __repr__(self):
        return f"SubLatticeGaugeAction({self.group.gauge!r}, {self.group.shape})"

    def act(self, g, x):
        self.group.check(g)
        G = self.group
        if not torch.is_tensor(x) or x.dim() != G.D + 4:
            got = f"{tuple(x.shape)}" if torch.is_tensor(x) else type(x).__name__
            raise ValueError(f"{self!r} moves links (B, {G.D}, L_0, ..., L_{G.D - 1}, {G.N}, {G.N}), got {got}")
        lattice = tuple(x.shape[2:-2])
        if lattice == G.shape:
            return super().act(g, x)
        if any(l > L for l, L in zip(lattice, G.shape)):
            raise ValueError(f"{self!r} acts on lattices up to {G.shape}, got links of a lattice {lattice}")
        g = g[(slice(None), *(slice(0, l) for l in lattice))]
        return GaugeAction(LatticeGauge(G.gauge, lattice), "links").act(g, x)


def wilson_targets(U: torch.Tensor, targets=("1x1", "1x2", "polyakov")) -> torch.Tensor:
    r"""Gauge-invariant observables of each configuration, lattice means of
    :math:`\frac1N\mathrm{Re}\,\mathrm{tr}` of loops: ``"axb"`` the :math:`a \times b`
    rectangular Wilson loops (every plane, the :math:`a \times b` and :math:`b \times a`
    orientations averaged; :func:`~symmetries.actions.wilson_loops`), ``"polyakov"`` the
    Polyakov loops around axis 0 (:func:`~symmetries.actions.polyakov_loops`).

    Args:
        U: links.
        targets: the observables, in order (default: ``("1x1", "1x2", "polyakov")``).

    Shapes:
        - **U:** ``(B, D, L_0, ..., L_{D-1}, N, N)``, complex
        - **output:** ``(B, len(targets))``, the real dtype of ``U``

    Returns:
        the targets.
    """
    out = []
    for name in targets:
        if name == "polyakov":
            out.append(polyakov_loops(U, 0).real.flatten(1).mean(1))
            continue
        m = _LOOP.match(str(name))
        if m is None or min(int(m[1]), int(m[2])) < 1:
            raise ValueError(f"targets are 'axb' Wilson loops (e.g. '1x2') or 'polyakov', got {name!r}")
        a, b = int(m[1]), int(m[2])
        sizes = [(a, b)] if a == b else [(a, b), (b, a)]
        out.append(sum(wilson_loops(U, s).real.flatten(1).mean(1) for s in sizes) / len(sizes))
    return torch.stack(out, 1)


class LinkCNN(nn.Module):
    r"""A plain CNN on lattice links, no gauge symmetry: the real and imaginary parts of
    every link matrix entry are channels (``2 D N^2`` of them), then ``depth`` periodic
    (circular padding) convolutions with ReLU, a mean over the lattice and a linear layer.
    Runs on any lattice size.

    Args:
        dim: the lattice dimension ``D`` (1, 2 or 3).
        N: the link matrix size.
        out_features: the number of targets.
        hidden: channels of every convolution (default: 32).
        depth: convolutions (default: 3).
        kernel_size: odd kernel size (default: 3).

    Shapes:
        - **U:** ``(B, D, L_0, ..., L_{D-1}, N, N)``, complex
        - **output:** ``(B, out_features)``, real
    """

    def __init__(self, dim: int = 2, N: int = 2, out_features: int = 1, hidden: int = 32, depth: int = 3,
                 kernel_size: int = 3):
        super().__init__()
        if dim not in (1, 2, 3):
            raise ValueError(f"LinkCNN supports 1, 2 or 3 lattice dimensions, got {dim}")
        conv = (nn.Conv1d, nn.Conv2d, nn.Conv3d)[dim - 1]
        self.dim, c = dim, 2 * dim * N * N
        layers = []
        for _ in range(depth):
            layers += [conv(c, hidden, kernel_size, padding=kernel_size // 2, padding_mode="circular"), nn.ReLU()]
            c = hidden
        self.body = nn.Sequential(*layers)
        self.linear = nn.Linear(c, out_features)

    def forward(self, U: torch.Tensor) -> torch.Tensor:
        if not U.is_complex() or U.dim() != self.dim + 4:
            raise ValueError(f"LinkCNN expects complex links (B, {self.dim}, L..., N, N), got "
                             f"{tuple(U.shape)} {U.dtype}")
        x = torch.view_as_real(U)  # (B, D, L..., N, N, 2)
        x = x.movedim(-1, 2).movedim(-1, 2).movedim(-1, 2)  # (B, D, 2, N, N, L...)
        x = x.flatten(1, 4).to(self.linear.weight.dtype)
        return self.linear(self.body(x).flatten(2).mean(-1))


@register_task
@dataclass
class WilsonLoops(Task):
    r"""Regress lattice means of Wilson loops and the Polyakov loop of 2D :math:`SU(2)`
    configurations (Favoni et al. 2022); the metric is the test MSE on the test lattice.

    Training configurations are drawn by ``seed`` from a pool of ``max(pool, n_train)``
    configurations on ``train_lattice`` (split evenly over ``betas``, ``data_seed``); the test
    set is ``test_size`` configurations on ``test_lattice`` (split evenly over ``betas``).
    Ensembles come from :func:`~symmetries.data.wilson_ensemble` (``warmup`` thermalisation
    sweeps from a hot start, ``spacing`` sweeps between samples of a chain) and are cached.

    The symmetry is :class:`SubLatticeGaugeAction`: local gauge transformations (of the larger
    of the two lattices, restricted to the input's); targets are invariant.

    Methods: ``plain`` :class:`LinkCNN`, ``augment`` the same trained on randomly gauge
    transformed configurations, ``equivariant`` the :class:`~symmetries.nn.gauge.LCNN` with
    ``channels`` and ``kernel_size``.
    """

    name: ClassVar[str] = "wilson-loops"
    description: ClassVar[str] = ("2D SU(2) lattice gauge fields: mean 1x1, 1x2 Wilson loops and Polyakov loop, "
                                  "trained on 8x8, tested on 16x16 (L-CNN, Favoni et al. 2022)")
    default_sizes: ClassVar[tuple[int, ...]] = (32, 128, 512)
    methods: ClassVar[tuple[str, ...]] = ("plain", "augment", "equivariant")

    group: str = "SU2"
    train_lattice: tuple = (8, 8)
    test_lattice: tuple = (16, 16)
    betas: tuple = (0.1, 0.5, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0)
    targets: tuple = ("1x1", "1x2", "polyakov")
    pool: int = 512
    warmup: int = 50
    spacing: int = 5
    data_seed: int = 0
    channels: tuple = (4, 4)
    kernel_size: int = 1
    cnn_hidden: int = 32
    test_size: int = 256
    batch_size: int = 32
    lr: float = 3e-3
    epochs: int = 20
    min_steps: int = 200
    max_steps: int = 1000

    def __post_init__(self):
        self.train_lattice = tuple(int(s) for s in self.train_lattice)
        self.test_lattice = tuple(int(s) for s in self.test_lattice)
        if len(self.train_lattice) != len(self.test_lattice):
            raise ValueError(f"train_lattice {self.train_lattice} and test_lattice {self.test_lattice} must have "
                             "the same dimension")
        if not self.betas:
            raise ValueError("betas must name at least one coupling")
        self.targets = tuple(self.targets)
        for name in self.targets:
            m = _LOOP.match(str(name))
            if name != "polyakov" and (m is None or min(int(m[1]), int(m[2])) < 1):
                raise ValueError(f"targets are 'axb' Wilson loops (e.g. '1x2') or 'polyakov', got {name!r}")

    @property
    def dim(self) -> int:
        """The lattice dimension."""
        return len(self.train_lattice)

    @property
    def action_in(self):
        shape = tuple(max(a, b) for a, b in zip(self.train_lattice, self.test_lattice))
        return SubLatticeGaugeAction(self.group, shape)

    @property
    def action_out(self):
        return invariant()

    def train_steps(self, n_train: int) -> int:
        return epoch_steps(n_train, self.batch_size, self.epochs, self.min_steps, self.max_steps)

    def ensemble(self, shape, n: int, seed: int) -> torch.Tensor:
        """``n`` configurations on a lattice ``shape``, split evenly over ``betas`` (the first
        ones get one more), in the order of ``betas``; cached by
        :func:`~symmetries.data.wilson_ensemble`.

        Args:
            shape: the lattice extents.
            n: how many configurations.
            seed: the base seed (each coupling gets its own).

        Returns:
            links ``(n, D, L..., N, N)`` complex64.
        """
        k = len(self.betas)
        counts = [n // k + (i < n % k) for i in range(k)]
        parts = [wilson_ensemble(self.group, shape, float(beta), c, warmup=self.warmup, spacing=self.spacing,
                                 seed=1000 * int(seed) + i)
                 for i, (beta, c) in enumerate(zip(self.betas, counts)) if c]
        return torch.cat(parts)

    def make_data(self, n_train, seed):
        pool = self.ensemble(self.train_lattice, max(int(self.pool), int(n_train)), 2 * self.data_seed)
        pick = torch.randperm(len(pool), generator=torch.Generator().manual_seed(int(seed)))[:n_train]
        x = pool[pick]
        x_test = self.ensemble(self.test_lattice, int(self.test_size), 2 * self.data_seed + 1)
        return (x, wilson_targets(x, self.targets)), (x_test, wilson_targets(x_test, self.targets))

    def make_model(self):
        return LinkCNN(self.dim, gauge_group(self.group).N, len(self.targets), self.cnn_hidden)

    def make_equivariant_model(self):
        return LCNN(self.dim, len(self.targets), tuple(self.channels), self.kernel_size)


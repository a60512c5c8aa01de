"""A NequIP-style E(3)-equivariant message-passing potential (Batzner et al. 2022)."""

from __future__ import annotations

from typing import Sequence

import torch
from torch import nn

from symmetries.nn import FullyConnectedTensorProduct, IrrepsLinear, RadialEmbedding, SphericalHarmonics, TensorProduct
from symmetries.nn.o3 import Normalize2Mom, gate_for
from symmetries.o3 import Irreps
from symmetries.nn.o3 import channelwise_paths, hidden_irreps
from symmetries.nn.graphs import radius_graph
from symmetries.models._potential import Potential

EDGE_ATTRIBUTES = ("spherical", "cartesian")


class ScalarMLP(nn.Module):
    r"""MLP on scalars with unit-variance initialization (as e3nn's ``FullyConnectedNet``):
    :math:`x \mapsto \phi(W_k \cdots \phi(W_1 x / \sqrt{d_0}) \cdots / \sqrt{d_{k-1}})`,
    :math:`W \sim N(0, 1)`, :math:`\phi` SiLU rescaled to unit second moment, no biases
    (so the map sends 0 to 0), no activation after the last layer."""

    def __init__(self, sizes: Sequence[int]):
        super().__init__()
        self.sizes = list(sizes)
        self.weights = nn.ParameterList(nn.Parameter(torch.randn(a, b)) for a, b in zip(sizes[:-1], sizes[1:]))
        self.act = Normalize2Mom(nn.functional.silu)

    def forward(self, x):
        for k, w in enumerate(self.weights):
            x = x @ (w / w.shape[0] ** 0.5)
            if k < len(self.weights) - 1:
                x = self.act(x)
        return x


class Interaction(nn.Module):
    r"""One NequIP interaction block: convolution, self-connection, gate, residual.

    .. math::
        m_i = \frac{1}{\sqrt{\bar n}} \sum_{j \in \mathcal N(i)}
              W(r_{ij}) \left( (L_1 h)_j \otimes Y(\hat r_{ij}) \right), \qquad
        h_i' = h_i + \mathrm{Gate}\left( L_2 m_i + \mathrm{SC}(h_i, z_i) \right)

    The tensor product is channel-wise (``uvu``) over every path allowed into the output
    irreps, with per-edge weights :math:`W(r)` from an MLP of the radial embedding times
    the smooth cutoff (so messages vanish smoothly at the cutoff). ``SC`` is a
    species-dependent linear map (a fully connected tensor product with the one-hot
    species). The residual is used when input and output irreps agree.
    """

    def __init__(self, irreps_in, irreps_out, irreps_edge, n_species: int, n_basis: int, radial_hidden: int):
        super().__init__()
        irreps_in, irreps_out, irreps_edge = Irreps(irreps_in), Irreps(irreps_out), Irreps(irreps_edge)
        self.irreps_in, self.irreps_out = irreps_in, irreps_out
        self.gate = gate_for(irreps_out)
        mid, instructions = channelwise_paths(irreps_in, irreps_edge, self.gate.irreps_in)
        self.linear_up = IrrepsLinear(irreps_in, irreps_in)
        self.tp = TensorProduct(irreps_in, irreps_edge, mid, instructions, shared_weights=False,
                                internal_weights=False)
        self.radial = ScalarMLP([n_basis, radial_hidden, radial_hidden, self.tp.weight_numel])
        self.linear_down = IrrepsLinear(mid, self.gate.irreps_in)
        self.self_connection = FullyConnectedTensorProduct(irreps_in, Irreps([(n_species, "0e")]), self.gate.irreps_in)
        self.residual = irreps_in == self.gate.irreps_out

    def forward(self, h, species_onehot, edge_index, edge_attr, radial, envelope, norm: float):
        src, dst = edge_index[0], edge_index[1]
        weights = self.radial(radial) * envelope[:, None]
        messages = self.tp(self.linear_up(h)[src], edge_attr, weights)
        m = torch.zeros(h.shape[0], messages.shape[1], dtype=h.dtype, device=h.device).index_add(0, dst, messages)
        out = self.gate(self.linear_down(m * norm) + self.self_connection(h, species_onehot))
        return h + out if self.residual else out


class NequIP(Potential):
    r"""NequIP-style interatomic potential (Batzner et al., Nat. Commun. 13, 2453, 2022).

    Species one-hot :math:`\to` ``channels`` scalars; ``n_layers`` interaction
    blocks on the radius graph (cutoff in Angstrom, periodic cells supported) with
    features ``channels`` x (degrees ``0..l_max``, parity :math:`(-1)^l`), the last block
    keeping scalars only; a two-layer MLP turns each atom's scalars into its energy
    (scaled and shifted per species, see :class:`Potential`). Edges carry the spherical
    harmonics :math:`Y^{0..l_{max}}(\hat r)` and a Bessel radial basis (``n_basis``
    functions, polynomial cutoff of order ``p``).

    ``l_max = 0`` is the invariant baseline (messages depend on distances only, a
    SchNet-like continuous filter); ``l_max >= 1`` is equivariant. In both, energies are
    invariant and forces equivariant under rotations, reflections, translations and
    permutations of atoms, to rounding.

    Args:
        species: the atomic numbers the model knows.
        cutoff: the radius of the graph in Angstrom (default: 4.0).
        l_max: the largest degree of the features and edge harmonics (default: 1).
        channels: the multiplicity of every degree (default: 16).
        n_layers: interaction blocks, >= 1 (default: 2).
        n_basis: Bessel radial basis functions (default: 8).
        radial_hidden: the width of the radial MLPs (default: 32).
        p: the order of the polynomial cutoff (default: 6).
        avg_neighbors: messages are summed and divided by its square root (default: 1.0);
            fitted with the reference energies by :meth:`fit_reference`.
        edge_attributes: ``"spherical"`` (default) or ``"cartesian"`` (with ``l_max = 0``):
            a constant and the unit edge vector's x, y, z as plain scalars, a model without
            rotation symmetry (still translation and permutation invariant), the plain
            baseline of the study task.

    Shapes:
        - as :class:`Potential`
    """

    def __init__(self, species: Sequence[int], cutoff: float = 4.0, l_max: int = 1, channels: int = 16,
                 n_layers: int = 2, n_basis: int = 8, radial_hidden: int = 32, p: int = 6,
                 avg_neighbors: float = 1.0, edge_attributes: str = "spherical"):
        super().__init__(species, cutoff)
        if edge_attributes not in EDGE_ATTRIBUTES:
            raise ValueError(f"edge_attributes must be one of {EDGE_ATTRIBUTES}, got {edge_attributes!r}")
        if edge_attributes == "cartesian" and l_max != 0:
            raise ValueError(f"edge_attributes='cartesian' gives plain scalars: it needs l_max=0, got l_max={l_max}")
        if not (isinstance(l_max, int) and l_max >= 0) or n_layers < 1 or channels < 1:
            raise ValueError(f"need l_max >= 0, n_layers >= 1, channels >= 1; got {l_max}, {n_layers}, {channels}")
        self.l_max, self.channels, self.n_layers, self.edge_attributes = l_max, channels, n_layers, edge_attributes
        self.register_buffer("avg_neighbors", torch.tensor(float(avg_neighbors)))
        self.embedding = IrrepsLinear(Irreps([(self.n_species, "0e")]), Irreps([(channels, "0e")]))
        if edge_attributes == "spherical":
            self.edge_embedding = SphericalHarmonics(l_max, normalize=True, normalization="component")
            irreps_edge = self.edge_embedding.irreps_out
        else:
            irreps_edge = Irreps("4x0e")
        self.radial_embedding = RadialEmbedding(cutoff, n_basis, p)
        scalars = Irreps([(channels, "0e")])
        hidden = hidden_irreps(channels, l_max)
        self.interactions = nn.ModuleList(
            Interaction(scalars if k == 0 else hidden, scalars if k == n_layers - 1 else hidden, irreps_edge,
                        self.n_species, n_basis, radial_hidden)
            for k in range(n_layers))
        self.readout = ScalarMLP([channels, channels, 1])

    def atomic_outputs(self, species_index, edge_index, vectors):
        onehot = nn.functional.one_hot(species_index, self.n_species).to(vectors.dtype)
        lengths = vectors.norm(dim=1)
        if self.edge_attributes == "spherical":
            edge_attr = self.edge_embedding(vectors)
        else:
            edge_attr = torch.cat([torch.ones_like(lengths)[:, None], vectors / lengths[:, None]], 1)
        radial = self.radial_embedding.basis(lengths) * self.cutoff  # Bessel functions scaled to order one
        envelope = self.radial_embedding.cutoff(lengths)
        norm = self.avg_neighbors.to(vectors.dtype).rsqrt()
        h = self.embedding(onehot)
        for block in self.interactions:
            h = block(h, onehot, edge_index, edge_attr, radial, envelope, norm)
        return self.readout(h)[:, 0]

    @torch.no_grad()
    def fit_reference(self, data, max_frames: int = 200) -> None:
        """:meth:`Potential.fit_reference`, and ``avg_neighbors``: the mean number of neighbours
        within the cutoff (at least 1).

        Args:
            data: the training frames, an :class:`~symmetries.data.AtomsData`.
            max_frames: count neighbours in the first this many frames (default: 200).
        """
        super().fit_reference(data)
        sub = data[: min(len(data), max_frames)]
        edge_index, _ = radius_graph(sub.positions, self.cutoff, sub.batch, max_num_neighbors=None, cell=sub.cell,
                                     pbc=sub.pbc)
        self.avg_neighbors.fill_(max(edge_index.shape[1] / max(sub.positions.shape[0], 1), 1.0))

    def extra_repr(self):
        return (f"species={self.species.tolist()}, cutoff={self.cutoff}, l_max={self.l_max}, channels={self.channels}, "
                f"n_layers={self.n_layers}, edge_attributes={self.edge_attributes!r}")

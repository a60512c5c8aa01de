"""Energy, forces and stress from a network of per-atom energies."""

from __future__ import annotations

from typing import Sequence

import torch
from torch import nn

from symmetries.nn.graphs import edge_vectors, radius_graph


class Potential(nn.Module):
    r"""A machine-learned interatomic potential: per-atom energies summed per frame.

    .. math::
        E_b = \sum_{i \in b} \left( s\, \varepsilon_i + \mu_{Z_i} \right), \qquad
        F_i = -\frac{\partial E}{\partial x_i}, \qquad
        \sigma_b = \frac{1}{V_b} \frac{\partial E_b}{\partial \varepsilon_b}

    where :math:`\varepsilon_i` is what the subclass's :meth:`atomic_outputs` returns
    (computed from the species and the edge vectors of the radius graph only), ``s`` the
    energy scale and :math:`\mu_Z` the per-species reference energies, both fitted to
    training data by :meth:`fit_reference`. The stress is the derivative with respect to
    a symmetric strain :math:`\varepsilon_b` applied to positions and cell,
    :math:`x \mapsto x (1 + \varepsilon)`; its sign is ase's. Forces are the exact
    gradient, so they rotate with the atoms whenever the energy is invariant.

    Args:
        species: the atomic numbers the model knows (1..118); atoms of any other species
            raise a ``ValueError``.
        cutoff: the radius of the graph, in Angstrom.

    Shapes:
        - **input:** positions ``(N, 3)``, numbers ``(N,)``, batch ``(N,)``, cell
          ``(B, 3, 3)`` (or ``(3, 3)``), pbc ``(B, 3)``, edge_index ``(2, E)``, shifts ``(E, 3)``
        - **output:** energy ``(B,)``, atomic_energies ``(N,)``, forces ``(N, 3)``,
          stress ``(B, 3, 3)``
    """

    def __init__(self, species: Sequence[int], cutoff: float):
        super().__init__()
        species = sorted({int(z) for z in species})
        if not species or species[0] < 1 or species[-1] > 118:
            raise ValueError(f"species must be atomic numbers in 1..118, got {species}")
        self.cutoff = float(cutoff)
        lookup = torch.full((119,), -1, dtype=torch.long)
        lookup[torch.tensor(species)] = torch.arange(len(species))
        self.register_buffer("species", torch.tensor(species, dtype=torch.long))
        self.register_buffer("species_lookup", lookup)
        self.register_buffer("energy_shift", torch.zeros(len(species)))
        self.register_buffer("energy_scale", torch.ones(()))

    @property
    def n_species(self) -> int:
        """The number of species the model knows."""
        return self.species.shape[0]

    def atomic_outputs(self, species_index: torch.Tensor, edge_index: torch.Tensor, vectors: torch.Tensor) -> torch.Tensor:
        r"""The dimensionless per-atom energies :math:`\varepsilon_i`, for subclasses to implement.

        Args:
            species_index: ``(N,)`` species indices ``0 .. n_species - 1``.
            edge_index: ``(2, E)`` the radius graph (row 0 source, row 1 target).
            vectors: ``(E, 3)`` the edge vectors, source minus target.

        Returns:
            ``(N,)``.
        """
        raise NotImplementedError

    def species_index(self, numbers: torch.Tensor) -> torch.Tensor:
        """Map atomic numbers to species indices.

        Args:
            numbers: ``(N,)`` atomic numbers, long.

        Returns:
            ``(N,)`` indices ``0 .. n_species-1`` into the sorted ``species``.

        Raises:
            ValueError: for a species the model does not know (not checked under
                ``torch.compile``), or ``numbers`` not 1-D long.
        """
        if numbers.dtype != torch.long or numbers.dim() != 1:
            raise ValueError(f"numbers must be a 1-D long tensor of atomic numbers, got {numbers.dtype} "
                             f"of shape {tuple(numbers.shape)}")
        if not torch.compiler.is_compiling() and numbers.numel():
            bad = (numbers < 0) | (numbers > 118)
            if not bool(bad.any()):
                bad = self.species_lookup[numbers] < 0
            if bool(bad.any()):
                unknown = sorted(set(numbers[bad].tolist()))
                raise ValueError(f"atoms of species {unknown} (atomic numbers) are unknown to this model, "
                                 f"which was trained on species {self.species.tolist()}")
        return self.species_lookup[numbers]

    def forward(self, positions: torch.Tensor, numbers: torch.Tensor, batch: torch.Tensor | None = None,
                cell: torch.Tensor | None = None, pbc: torch.Tensor | None = None,
                edge_index: torch.Tensor | None = None, shifts: torch.Tensor | None = None,
                compute_forces: bool = True, compute_stress: bool = False,
                create_graph: bool | None = None) -> dict[str, torch.Tensor]:
        r"""Energies, and forces and stress when asked. Runs with gradients enabled even
        under ``no_grad``.

        Args:
            positions: ``(N, 3)`` in the model's dtype.
            numbers: ``(N,)`` atomic numbers.
            batch: ``(N,)`` frame of each atom (default: ``None``, one frame).
            cell: ``(B, 3, 3)`` or ``(3, 3)`` for periodic frames (default: ``None``).
            pbc: ``(B, 3)`` the periodic directions (default: those with a nonzero cell vector).
            edge_index: the graph, every pair closer than the cutoff (see
                :func:`~symmetries.nn.graphs.radius_graph`); built when ``None`` (default).
            shifts: the cell shifts of ``edge_index``'s edges.
            compute_forces: return ``forces`` (default: ``True``).
            compute_stress: return ``stress``; needs a cell of nonzero volume (default: ``False``).
            create_graph: keep the graph of the forces for a force loss (default: ``None``,
                in training mode).

        Returns:
            A dict with ``energy`` ``(B,)``, ``atomic_energies`` ``(N,)`` and, when asked,
            ``forces`` ``(N, 3)`` and ``stress`` ``(B, 3, 3)``.
        """
        dtype = self.energy_shift.dtype
        if positions.dim() != 2 or positions.shape[1] != 3:
            raise ValueError(f"positions must have shape (N, 3), got {tuple(positions.shape)}")
        if positions.dtype != dtype:
            raise ValueError(f"positions are {positions.dtype} but the model is {dtype}: convert one of them")
        if numbers.shape != positions.shape[:1]:
            raise ValueError(f"numbers must have shape ({positions.shape[0]},), got {tuple(numbers.shape)}")
        index = self.species_index(numbers)
        n = positions.shape[0]
        if batch is None:
            batch = torch.zeros(n, dtype=torch.long, device=positions.device)
        n_frames = int(batch.max()) + 1 if n else 0
        if cell is not None:
            cell = cell.to(dtype)
            if cell.dim() == 2:
                cell = cell[None].expand(n_frames, 3, 3)
        if compute_stress and cell is None:
            raise ValueError("compute_stress needs a cell (periodic frames)")
        if edge_index is None:
            graph = radius_graph(positions, self.cutoff, batch, max_num_neighbors=None, cell=cell, pbc=pbc)
            edge_index, shifts = graph if cell is not None else (graph, None)
        create_graph = self.training if create_graph is None else create_graph
        with torch.enable_grad():
            pos = positions if positions.requires_grad else positions.detach().requires_grad_(compute_forces)
            inputs = [pos] if compute_forces else []
            if compute_stress:
                displacement = torch.zeros(n_frames, 3, 3, dtype=dtype, device=pos.device, requires_grad=True)
                strain = torch.eye(3, dtype=dtype, device=pos.device) + (displacement + displacement.transpose(1, 2)) / 2
                pos = torch.einsum("ni,nij->nj", pos, strain[batch])
                cell = cell @ strain
                inputs.append(displacement)
            vectors = edge_vectors(pos, edge_index, shifts, cell, batch)
            atomic = self.energy_scale * self.atomic_outputs(index, edge_index, vectors) + self.energy_shift[index]
            energy = torch.zeros(n_frames, dtype=dtype, device=pos.device).index_add(0, batch, atomic)
            out = {"energy": energy, "atomic_energies": atomic}
            if inputs:
                grads = torch.autograd.grad(energy.sum(), inputs, create_graph=create_graph, allow_unused=True)
                grads = [torch.zeros_like(x) if g is None else g for g, x in zip(grads, inputs)]
                if compute_forces:
                    out["forces"] = -grads[0]
                if compute_stress:
                    volume = torch.linalg.det(cell).abs()
                    if not torch.compiler.is_compiling() and bool((volume == 0).any()):
                        raise ValueError("compute_stress needs periodic frames: a cell has zero volume")
                    out["stress"] = grads[-1] / volume[:, None, None]
        return out

    @torch.no_grad()
    def fit_reference(self, data) -> None:
        r"""Fit the per-species reference energies :math:`\mu_Z` and the scale ``s`` to data.

        :math:`\mu` solves the least-squares problem :math:`E_b \approx \sum_Z n_{b,Z} \mu_Z`
        over the frames (``n_{b,Z}`` atoms of species Z in frame b); ``s`` is the root mean
        square of the force components (NequIP's choice), so the network's outputs are of
        order one.

        Args:
            data: the training frames, an :class:`~symmetries.data.AtomsData`.
        """
        index = self.species_index(data.numbers.to(self.species.device)).cpu()
        counts = torch.zeros(len(data), self.n_species, dtype=torch.float64)
        counts.index_put_((data.batch.cpu(), index), torch.ones_like(index, dtype=torch.float64), accumulate=True)
        energy = data.energy.cpu().double()
        shift = torch.linalg.lstsq(counts, energy[:, None], driver="gelsd").solution[:, 0]
        self.energy_shift.copy_(shift.to(self.energy_shift))
        scale = data.forces.cpu().double().pow(2).mean().sqrt()
        self.energy_scale.copy_(scale if float(scale) > 0 else torch.ones((), dtype=torch.float64))

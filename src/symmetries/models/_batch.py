"""Frames of atoms with their radius graphs, precomputed once and batched by frame."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from symmetries.data import AtomsData
from symmetries.nn.graphs import radius_graph


@dataclass
class AtomsBatch:
    """A batch of frames ready for a potential: the frames and their radius graph.

    Args:
        data: the frames, an :class:`~symmetries.data.AtomsData`.
        batch: ``(N,)`` the frame of each atom, within the batch.
        edge_index: ``(2, E)`` the radius graph, atom indices of the batch (see
            :func:`~symmetries.nn.graphs.radius_graph`).
        shifts: ``(E, 3)`` the integer cell shift of each edge.
    """

    data: AtomsData
    batch: torch.Tensor
    edge_index: torch.Tensor
    shifts: torch.Tensor

    def inputs(self) -> dict:
        """Keyword arguments of a potential's forward: ``positions``, ``numbers``, ``batch``,
        ``cell``, ``pbc``, ``edge_index`` and ``shifts``."""
        d = self.data
        return dict(positions=d.positions, numbers=d.numbers, batch=self.batch, cell=d.cell, pbc=d.pbc,
                    edge_index=self.edge_index, shifts=self.shifts)


class AtomsGraphs:
    """:class:`~symmetries.data.AtomsData` with the radius graph of every frame at ``cutoff``
    (all pairs closer than ``cutoff``, periodic images included; see
    :func:`~symmetries.nn.graphs.radius_graph`).

    Graphs are built once (without gradients, no cap on neighbours); ``graph_data[frames]``
    (int, slice or index tensor) returns an :class:`AtomsBatch` with atom indices renumbered
    for the batch, and ``len(graph_data)`` is the number of frames.

    Args:
        data: the frames.
        cutoff: the radius of the graphs, in the positions' unit (Angstrom).
    """

    def __init__(self, data: AtomsData, cutoff: float):
        self.data, self.cutoff = data, float(cutoff)
        self.atom_start = torch.cumsum(data.n_atoms, 0) - data.n_atoms
        self.edge_index, self.shifts = radius_graph(data.positions, self.cutoff, data.batch, max_num_neighbors=None,
                                                    cell=data.cell, pbc=data.pbc)
        per_frame = torch.bincount(data.batch[self.edge_index[1]], minlength=len(data))
        self.edge_start = torch.cumsum(per_frame, 0) - per_frame
        self.edge_count = per_frame

    def __len__(self):
        return len(self.data)

    def __getitem__(self, frames) -> AtomsBatch:
        frames = torch.arange(len(self.data))[frames].reshape(-1)
        sub = self.data[frames]
        edges = torch.cat([torch.arange(int(self.edge_start[f]), int(self.edge_start[f] + self.edge_count[f]))
                           for f in frames.tolist()]) if len(frames) else torch.zeros(0, dtype=torch.long)
        edge_index = self.edge_index[:, edges.to(self.edge_index.device)]
        # old atom index -> new: subtract the frame's old start, add its start in the batch
        new_start = torch.cumsum(sub.n_atoms, 0) - sub.n_atoms
        counts = self.edge_count[frames.to(self.edge_count.device)]
        frame_of_edge = torch.repeat_interleave(torch.arange(len(frames), device=counts.device), counts)
        delta = (new_start - self.atom_start[frames.to(new_start.device)])[frame_of_edge]
        return AtomsBatch(sub, sub.batch, edge_index + delta[None], self.shifts[edges.to(self.shifts.device)])

    def batches(self, batch_size: int, shuffle: bool = False, generator: torch.Generator | None = None):
        """Iterate over batches of frames.

        Args:
            batch_size: frames per batch (the last may be smaller).
            shuffle: visit the frames in a random order (default: ``False``, in order).
            generator: the random generator of the shuffle (default: ``None``, torch's).

        Returns:
            An iterator of :class:`AtomsBatch`.
        """
        order = torch.randperm(len(self), generator=generator) if shuffle else torch.arange(len(self))
        for i in range(0, len(self), batch_size):
            yield self[order[i:i + batch_size]]

"""An ase Calculator around a trained potential, so it runs molecular dynamics in ase."""

from __future__ import annotations

import numpy as np
import torch
from ase.calculators.calculator import Calculator, all_changes


class PotentialCalculator(Calculator):
    """ase calculator for a :class:`~symmetries.models.Potential`: energy, free energy,
    forces, and stress for periodic cells (all three directions periodic).

    ``atoms.calc = PotentialCalculator(model)``; the model runs in eval mode in its own
    dtype and device. Energies in eV, forces in eV/A, stress in eV/A^3 (ase's Voigt order).
    Needs ase.

    Args:
        model: the :class:`~symmetries.models.Potential` (put in eval mode).
        **kwargs: go to ``ase.calculators.calculator.Calculator``.
    """

    implemented_properties = ["energy", "free_energy", "forces", "stress"]

    def __init__(self, model, **kwargs):
        super().__init__(**kwargs)
        self.model = model.eval()

    def calculate(self, atoms=None, properties=("energy",), system_changes=all_changes):
        super().calculate(atoms, properties, system_changes)
        buf = self.model.energy_shift
        atoms = self.atoms
        positions = torch.as_tensor(atoms.get_positions(), dtype=buf.dtype, device=buf.device)
        numbers = torch.as_tensor(atoms.get_atomic_numbers(), dtype=torch.long, device=buf.device)
        pbc = torch.as_tensor(atoms.get_pbc(), dtype=torch.bool, device=buf.device)
        cell = torch.as_tensor(np.asarray(atoms.get_cell()), dtype=buf.dtype, device=buf.device) if pbc.any() else None
        stress = "stress" in properties and bool(pbc.all())
        if "stress" in properties and not stress:
            raise ValueError("stress needs a cell periodic in all three directions")
        out = self.model(positions, numbers, cell=None if cell is None else cell[None],
                         pbc=None if cell is None else pbc[None], compute_forces=True, compute_stress=stress)
        energy = float(out["energy"][0])
        self.results = {"energy": energy, "free_energy": energy,
                        "forces": out["forces"].detach().cpu().double().numpy()}
        if stress:
            s = out["stress"][0].detach().cpu().double().numpy()
            self.results["stress"] = np.array([s[0, 0], s[1, 1], s[2, 2], s[1, 2], s[0, 2], s[0, 1]])

"""Atomistic data: frames of atoms with energies, forces and stress, and an offline generator.

:class:`AtomsData` stores many frames (configurations) of possibly different sizes as flat
tensors; :func:`emt_md` samples frames from Langevin molecular dynamics of EMT metals
(Cu, Al, Pt, ... bulk cells with periodic boundaries, or clusters) with ase and caches the
result on disk. Units are ase's: Angstrom, eV, eV/Angstrom, eV/Angstrom^3.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, fields, replace
from pathlib import Path

import numpy as np
import torch

from symmetries._internal.atomic import atomic_path
from symmetries._internal.cache import cache_root

_CACHE_VERSION = 1


@dataclass
class AtomsData:
    r"""Frames of atoms, concatenated: ``F`` frames, ``N`` atoms in all (ase's units:
    Angstrom, eV, eV/Angstrom, eV/Angstrom^3).

    Index with an int, a slice or an index tensor to get a subset of frames; ``len`` is
    ``F``; ``batch`` maps each atom to its frame.

    Args:
        positions: ``(N, 3)``.
        numbers: ``(N,)`` atomic numbers, long.
        n_atoms: ``(F,)`` atoms per frame, summing to ``N``.
        cell: ``(F, 3, 3)``, rows are the lattice vectors; zeros where a frame is not
            periodic.
        pbc: ``(F, 3)`` bool.
        energy: ``(F,)``.
        forces: ``(N, 3)``.
        stress: for periodic frames ``(F, 3, 3)``, with
            :math:`\sigma = V^{-1} \partial E / \partial \varepsilon` (ase's sign), else
            ``None`` (default).
        name: where the frames came from (default: ``""``).
    """

    positions: torch.Tensor
    numbers: torch.Tensor
    n_atoms: torch.Tensor
    cell: torch.Tensor
    pbc: torch.Tensor
    energy: torch.Tensor
    forces: torch.Tensor
    stress: torch.Tensor | None = None
    name: str = ""

    def __post_init__(self):
        n, f = self.positions.shape[0], self.n_atoms.shape[0]
        expected = {"positions": (n, 3), "numbers": (n,), "forces": (n, 3), "n_atoms": (f,),
                    "cell": (f, 3, 3), "pbc": (f, 3), "energy": (f,)}
        if self.stress is not None:
            expected["stress"] = (f, 3, 3)
        for key, shape in expected.items():
            if tuple(getattr(self, key).shape) != shape:
                raise ValueError(f"AtomsData.{key}: expected shape {shape}, got {tuple(getattr(self, key).shape)}")
        if int(self.n_atoms.sum()) != n:
            raise ValueError(f"AtomsData: n_atoms sums to {int(self.n_atoms.sum())} but there are {n} atoms")

    def __len__(self) -> int:
        return self.n_atoms.shape[0]

    @property
    def batch(self) -> torch.Tensor:
        """``(N,)`` frame index of every atom."""
        return torch.repeat_interleave(torch.arange(len(self), device=self.n_atoms.device), self.n_atoms)

    @property
    def species(self) -> list[int]:
        """Sorted atomic numbers present."""
        return sorted(int(z) for z in torch.unique(self.numbers))

    @property
    def force_std(self) -> float:
        """Standard deviation of all force components (the scale a force MAE is read against)."""
        return float(self.forces.double().std())

    def __getitem__(self, index) -> AtomsData:
        frames = torch.arange(len(self))[index]
        frames = frames.reshape(-1)
        start = torch.cumsum(self.n_atoms, 0) - self.n_atoms
        atoms = torch.cat([torch.arange(int(start[i]), int(start[i] + self.n_atoms[i])) for i in frames.tolist()]) \
            if len(frames) else torch.zeros(0, dtype=torch.long)
        atoms = atoms.to(self.positions.device)
        frames = frames.to(self.positions.device)
        return replace(self, positions=self.positions[atoms], numbers=self.numbers[atoms], forces=self.forces[atoms],
                       n_atoms=self.n_atoms[frames], cell=self.cell[frames], pbc=self.pbc[frames],
                       energy=self.energy[frames], stress=None if self.stress is None else self.stress[frames])

    def to(self, device=None, dtype: torch.dtype | None = None) -> AtomsData:
        """Move to ``device``; floating fields to ``dtype``."""
        def move(t):
            if t is None:
                return None
            return t.to(device=device, dtype=dtype if (dtype is not None and t.is_floating_point()) else t.dtype)
        return replace(self, **{f.name: move(getattr(self, f.name)) for f in fields(self) if f.name != "name"})

    def split(self, sizes, generator: torch.Generator | None = None) -> list[AtomsData]:
        """Random disjoint subsets of the given numbers of frames."""
        if sum(sizes) > len(self):
            raise ValueError(f"split: asked for {sum(sizes)} frames ({list(sizes)}) but there are {len(self)}")
        perm = torch.randperm(len(self), generator=generator)
        out, at = [], 0
        for s in sizes:
            out.append(self[perm[at:at + s]])
            at += s
        return out

    def to_ase(self) -> list:
        """The frames as a list of ``ase.Atoms`` with a single-point calculator holding the labels."""
        from ase import Atoms
        from ase.calculators.singlepoint import SinglePointCalculator

        out, at = [], 0
        for i, n in enumerate(self.n_atoms.tolist()):
            atoms = Atoms(numbers=self.numbers[at:at + n].cpu().numpy(), positions=self.positions[at:at + n].cpu().numpy(),
                          cell=self.cell[i].cpu().numpy(), pbc=self.pbc[i].cpu().numpy())
            labels = {"energy": float(self.energy[i]), "forces": self.forces[at:at + n].cpu().numpy()}
            if self.stress is not None and bool(self.pbc[i].all()):
                labels["stress"] = _voigt(self.stress[i].cpu().numpy())
            atoms.calc = SinglePointCalculator(atoms, **labels)
            out.append(atoms)
            at += n
        return out

    @classmethod
    def from_ase(cls, frames, name: str = "") -> AtomsData:
        """Frames from ``ase.Atoms`` objects that carry a calculator (or stored results)."""
        pos, num, nat, cell, pbc, energy, forces, stress = [], [], [], [], [], [], [], []
        for atoms in frames:
            pos.append(atoms.get_positions())
            num.append(atoms.get_atomic_numbers())
            nat.append(len(atoms))
            cell.append(np.asarray(atoms.get_cell()) if atoms.pbc.any() else np.zeros((3, 3)))
            pbc.append(atoms.get_pbc())
            energy.append(atoms.get_potential_energy())
            forces.append(atoms.get_forces())
            stress.append(atoms.get_stress(voigt=False) if atoms.pbc.all() else None)
        has_stress = all(s is not None for s in stress) and len(stress) > 0
        t = lambda a, dt=torch.float64: torch.as_tensor(np.asarray(a), dtype=dt)  # noqa: E731
        return cls(positions=t(np.concatenate(pos)).reshape(-1, 3), numbers=t(np.concatenate(num), torch.long),
                   n_atoms=t(nat, torch.long), cell=t(cell).reshape(-1, 3, 3), pbc=t(pbc, torch.bool).reshape(-1, 3),
                   energy=t(energy), forces=t(np.concatenate(forces)).reshape(-1, 3),
                   stress=t(stress) if has_stress else None, name=name)

    def save(self, path) -> None:
        """Write to an ``.npz`` file (atomically: a partial file is never left behind)."""
        path = Path(path)
        arrays = {f.name: getattr(self, f.name).cpu().numpy() for f in fields(self)
                  if f.name != "name" and getattr(self, f.name) is not None}
        with atomic_path(path) as tmp, open(tmp, "wb") as f:
            np.savez(f, name=np.array(self.name), **arrays)

    @classmethod
    def load(cls, path) -> AtomsData:
        """Read a file written by :meth:`save`."""
        with np.load(path) as z:
            kw = {k: torch.from_numpy(z[k]) for k in z.files if k != "name"}
            return cls(name=str(z["name"]), **kw)

    def __repr__(self):
        sizes = sorted(set(self.n_atoms.tolist()))
        return (f"AtomsData({self.name or 'frames'}: {len(self)} frames, atoms per frame {sizes}, species {self.species}, "
                f"{'with' if self.stress is not None else 'no'} stress, {self.positions.dtype})")


def _voigt(s):
    return np.array([s[0, 0], s[1, 1], s[2, 2], s[1, 2], s[0, 2], s[0, 1]])


def cache_dir() -> Path:
    """Where generated data sets are cached, made if missing.

    Returns:
        ``$SYMMETRIES_CACHE``, else ``$XDG_CACHE_HOME/symmetries``, else
        ``~/.cache/symmetries``, as a ``Path``.
    """
    path = Path(cache_root())
    path.mkdir(parents=True, exist_ok=True)
    return path


def cached(kind: str, params: dict, make, cache: bool = True) -> AtomsData:
    """Load ``kind`` with ``params`` from the cache, or ``make()`` it and store it."""
    if not cache:
        return make()
    key = hashlib.sha256(json.dumps({"v": _CACHE_VERSION, **params}, sort_keys=True).encode()).hexdigest()[:16]
    path = cache_dir() / f"{kind}-{key}.npz"
    if path.exists():
        return AtomsData.load(path)
    data = make()
    data.save(path)
    return data


def run_md(systems, calculator, n_frames: int, temperature: float, timestep: float, stride: int, warmup: int,
           friction: float, seed: int, name: str) -> AtomsData:
    r"""Langevin MD (ase) from each of ``systems``, recording ``n_frames`` frames in all.

    Momenta start Maxwell-Boltzmann at ``temperature`` (K) with zero total momentum; after
    ``warmup`` steps a frame is recorded every ``stride`` steps (``timestep`` in fs,
    ``friction`` in 1/fs). Frames are split evenly over the systems (one trajectory each).
    ``calculator()`` makes a fresh ase calculator.
    """
    from ase import units
    from ase.calculators.singlepoint import SinglePointCalculator
    from ase.md.langevin import Langevin

    seeds = np.random.SeedSequence(seed).spawn(len(systems))
    counts = [n_frames // len(systems) + (i < n_frames % len(systems)) for i in range(len(systems))]
    frames = []
    for atoms, count, ss in zip(systems, counts, seeds):
        rng = np.random.RandomState(ss.generate_state(1)[0])
        atoms = atoms.copy()
        atoms.calc = calculator()
        masses = atoms.get_masses()[:, None]
        p = rng.standard_normal((len(atoms), 3)) * np.sqrt(masses * units.kB * temperature)
        atoms.set_momenta(p - masses * p.sum(0) / masses.sum())
        md = Langevin(atoms, timestep * units.fs, temperature_K=temperature, friction=friction / units.fs,
                      fixcm=False, rng=rng)
        md.run(warmup)
        for _ in range(count):
            md.run(stride)
            snap = atoms.copy()
            labels = {"energy": atoms.get_potential_energy(), "forces": atoms.get_forces()}
            if atoms.pbc.all():
                labels["stress"] = atoms.get_stress()
            snap.calc = SinglePointCalculator(snap, **labels)
            frames.append(snap)
    return AtomsData.from_ase(frames, name=name)


_EMT_ELEMENTS = ("Al", "Cu", "Ag", "Au", "Ni", "Pd", "Pt")


def emt_md(element: str = "Cu", structure: str = "bulk", n_frames: int = 1000, size: int = 2,
           temperature: float = 600.0, n_trajectories: int = 4, strain: float = 0.02, timestep: float = 5.0,
           stride: int = 5, warmup: int = 50, friction: float = 0.02, seed: int = 0, cache: bool = True) -> AtomsData:
    r"""Frames of an EMT metal from Langevin molecular dynamics (ase), cached on disk.

    Momenta start Maxwell-Boltzmann at ``temperature`` with zero total momentum; frames are
    split evenly over the trajectories. Cached under :func:`cache_dir` keyed by every
    argument.

    Args:
        element: one of ``Al``, ``Cu`` (default), ``Ag``, ``Au``, ``Ni``, ``Pd``, ``Pt``.
        structure: ``"bulk"`` (default): the cubic fcc cell repeated ``size`` times along
            each axis (``4 size^3`` atoms, periodic), each trajectory in a cell strained by
            a random symmetric strain (so the stress varies), with stress labels.
            ``"cluster"``: an icosahedral cluster of ``size`` shells (13 atoms for 2, 55 for
            3), not periodic.
        n_frames: frames in all (default: 1000).
        size: see ``structure`` (default: 2, 32 bulk atoms).
        temperature: in K (default: 600).
        n_trajectories: independent runs, with seeds drawn from ``seed`` (default: 4).
        strain: the standard deviation of the bulk strain (default: 0.02).
        timestep: in fs (default: 5).
        stride: a frame every this many steps (default: 5).
        warmup: steps before the first frame (default: 50).
        friction: in 1/fs (default: 0.02).
        seed: seeds strains and trajectories (default: 0).
        cache: read and write the cache (default: ``True``).

    Returns:
        :class:`AtomsData`.
    """
    if element not in _EMT_ELEMENTS:
        raise ValueError(f"emt_md: EMT has parameters for {', '.join(_EMT_ELEMENTS)}; got element {element!r}")
    if structure not in ("bulk", "cluster"):
        raise ValueError(f"emt_md: structure must be 'bulk' or 'cluster', got {structure!r}")
    params = dict(element=element, structure=structure, n_frames=n_frames, size=size, temperature=temperature,
                  n_trajectories=n_trajectories, strain=strain, timestep=timestep, stride=stride, warmup=warmup,
                  friction=friction, seed=seed)

    def make():
        from ase.calculators.emt import EMT

        rng = np.random.default_rng(seed)
        systems = []
        for _ in range(n_trajectories):
            if structure == "bulk":
                from ase.build import bulk

                atoms = bulk(element, "fcc", cubic=True).repeat((size,) * 3)
                eps = rng.normal(0.0, strain, (3, 3))
                eps = (eps + eps.T) / 2
                atoms.set_cell(atoms.get_cell() @ (np.eye(3) + eps), scale_atoms=True)
            else:
                from ase.cluster import Icosahedron

                atoms = Icosahedron(element, noshells=size)
                atoms.set_pbc(False)
                atoms.set_cell(np.zeros((3, 3)))
            systems.append(atoms)
        return run_md(systems, EMT, n_frames, temperature, timestep, stride, warmup, friction, seed,
                      name=f"{element} {structure} EMT {temperature:g} K")

    return cached("emt", params, make, cache)

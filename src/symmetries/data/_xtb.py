"""Small molecules (ethanol, malonaldehyde, aspirin, as in rMD17) from GFN2-xTB molecular dynamics.

Needs the optional ``tblite`` package (``pip install symmetries[xtb]``). The MD runs in a
child process with ``OMP_NUM_THREADS=1``: tblite's default threading is two orders of
magnitude slower on a small machine, and the variable must be set before its OpenMP
runtime starts.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np

from symmetries.data._atoms import AtomsData, cache_dir, cached, run_md

MOLECULES = ("ethanol", "malonaldehyde", "aspirin")


def _place(a, b, c, bond, angle, dihedral):
    """The point d with |d - a| = bond, angle(d, a, b) = angle, dihedral(d, a, b, c) = dihedral (degrees)."""
    angle, dihedral = np.radians(angle), np.radians(dihedral)
    bc = (a - b) / np.linalg.norm(a - b)
    n = np.cross(b - c, bc)
    n /= np.linalg.norm(n)
    m = np.cross(n, bc)
    d = np.array([-bond * np.cos(angle), bond * np.sin(angle) * np.cos(dihedral), bond * np.sin(angle) * np.sin(dihedral)])
    return a + d[0] * bc + d[1] * m + d[2] * n


def _from_zmatrix(rows):
    """Cartesian positions from rows ``(symbol, (i, bond), (j, angle), (k, dihedral))`` (0-based refs)."""
    symbols, pos = [], []
    for row in rows:
        symbols.append(row[0])
        if len(pos) == 0:
            pos.append(np.zeros(3))
        elif len(pos) == 1:
            pos.append(np.array([row[1][1], 0.0, 0.0]))
        elif len(pos) == 2:
            (i, r), (j, th) = row[1], row[2]
            far = pos[j] + np.array([0.0, 1.0, 0.0]) if np.allclose(pos[j], pos[i]) else pos[j]
            pos.append(_place(pos[i], far, far + np.array([0.0, 0.0, 1.0]), r, th, 90.0))
        else:
            (i, r), (j, th), (k, ph) = row[1], row[2], row[3]
            pos.append(_place(pos[i], pos[j], pos[k], r, th, ph))
    return symbols, np.array(pos)


# Starting geometries from standard bond lengths and angles; each is relaxed with GFN2-xTB first.
_ZMATRICES = {
    # (Z)-3-hydroxyprop-2-enal, the enol with an intramolecular hydrogen bond (MD17's malonaldehyde)
    "malonaldehyde": [
        ("C",), ("C", (0, 1.36)), ("C", (1, 1.42), (0, 120.0)),
        ("O", (0, 1.32), (1, 123.0), (2, 0.0)), ("O", (2, 1.24), (1, 123.0), (0, 0.0)),
        ("H", (3, 0.99), (0, 106.0), (1, 0.0)),
        ("H", (0, 1.09), (1, 121.0), (2, 180.0)), ("H", (1, 1.08), (0, 119.0), (2, 180.0)),
        ("H", (2, 1.10), (1, 116.0), (0, 180.0)),
    ],
    # 2-acetoxybenzoic acid: ring C0..C5, carboxylic acid on C0, acetoxy on C1
    "aspirin": [
        ("C",), ("C", (0, 1.40)), ("C", (1, 1.39), (0, 120.0)), ("C", (2, 1.39), (1, 120.0), (0, 0.0)),
        ("C", (3, 1.39), (2, 120.0), (1, 0.0)), ("C", (4, 1.39), (3, 120.0), (2, 0.0)),
        ("C", (0, 1.48), (1, 122.0), (2, 180.0)),                      # 6: carboxyl C
        ("O", (6, 1.22), (0, 124.0), (1, 0.0)),                        # 7: C=O
        ("O", (6, 1.35), (0, 113.0), (1, 180.0)),                      # 8: O-H
        ("H", (8, 0.97), (6, 106.0), (0, 180.0)),                      # 9
        ("O", (1, 1.39), (0, 121.0), (6, 0.0)),                        # 10: ester O
        ("C", (10, 1.36), (1, 118.0), (0, 90.0)),                      # 11: acetyl C
        ("O", (11, 1.20), (10, 123.0), (1, 0.0)),                      # 12: acetyl C=O
        ("C", (11, 1.50), (10, 110.0), (1, 180.0)),                    # 13: methyl C
        ("H", (13, 1.09), (11, 110.0), (10, 180.0)), ("H", (13, 1.09), (11, 110.0), (10, 60.0)),
        ("H", (13, 1.09), (11, 110.0), (10, -60.0)),
        ("H", (2, 1.08), (1, 120.0), (0, 180.0)), ("H", (3, 1.08), (2, 120.0), (1, 180.0)),
        ("H", (4, 1.08), (3, 120.0), (2, 180.0)), ("H", (5, 1.08), (4, 120.0), (3, 180.0)),
    ],
}


def molecule(name: str):
    """The starting geometry of ``name`` (one of :data:`MOLECULES`) as ``ase.Atoms``."""
    from ase import Atoms

    if name == "ethanol":
        from ase.build import molecule as g2

        return g2("CH3CH2OH")
    if name not in _ZMATRICES:
        raise ValueError(f"unknown molecule {name!r}; choose one of {', '.join(MOLECULES)}")
    symbols, pos = _from_zmatrix(_ZMATRICES[name])
    return Atoms(symbols, positions=pos)


def xtb_md(name: str = "ethanol", n_frames: int = 1000, temperature: float = 500.0, timestep: float = 0.5,
           stride: int = 10, warmup: int = 400, friction: float = 0.01, n_trajectories: int = 1, seed: int = 0,
           cache: bool = True) -> AtomsData:
    r"""Frames of a small molecule from GFN2-xTB Langevin MD (tblite), cached on disk.

    As for rMD17 (ethanol, malonaldehyde, aspirin at 500 K): the starting geometry of
    ``name`` is relaxed with GFN2-xTB (BFGS to 0.02 eV/A), then ``n_trajectories``
    Langevin runs record ``n_frames`` frames in all. Energies in eV, forces in eV/A.
    Runs in a child process with ``OMP_NUM_THREADS=1``; cached under :func:`cache_dir`
    keyed by every argument.

    Args:
        name: ``"ethanol"`` (default), ``"malonaldehyde"`` or ``"aspirin"``.
        n_frames: frames in all (default: 1000).
        temperature: in K (default: 500).
        timestep: in fs (default: 0.5).
        stride: a frame every this many steps (default: 10).
        warmup: steps before the first frame (default: 400).
        friction: in 1/fs (default: 0.01).
        n_trajectories: independent runs from the relaxed geometry (default: 1).
        seed: seeds the trajectories (default: 0).
        cache: read and write the cache (default: ``True``).

    Returns:
        :class:`AtomsData`.

    Raises:
        ImportError: when tblite is not installed.
    """
    if name not in MOLECULES:
        raise ValueError(f"unknown molecule {name!r}; choose one of {', '.join(MOLECULES)}")
    params = dict(name=name, n_frames=n_frames, temperature=temperature, timestep=timestep, stride=stride,
                  warmup=warmup, friction=friction, n_trajectories=n_trajectories, seed=seed)

    def make():
        import importlib.util

        if importlib.util.find_spec("tblite") is None:
            raise ImportError("xtb_md needs the tblite package (GFN2-xTB): pip install tblite")
        out = cache_dir() / f"xtb-tmp-{os.getpid()}.npz"
        env = {**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
        src = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
        env["PYTHONPATH"] = src + os.pathsep + env.get("PYTHONPATH", "")
        run = subprocess.run([sys.executable, "-m", "symmetries.data._xtb", json.dumps(params), str(out)], env=env,
                             capture_output=True, text=True)
        if run.returncode != 0:
            raise RuntimeError(f"GFN2-xTB molecular dynamics of {name} failed:\n{run.stderr[-2000:]}")
        data = AtomsData.load(out)
        out.unlink()
        return data

    return cached("xtb", params, make, cache)


def _generate(params: dict) -> AtomsData:
    from ase.optimize import BFGS
    from tblite.ase import TBLite

    def calc():
        return TBLite(method="GFN2-xTB", verbosity=0)

    atoms = molecule(params["name"])
    atoms.calc = calc()
    BFGS(atoms, logfile=None).run(fmax=0.02, steps=500)
    atoms.calc = None
    return run_md([atoms] * params["n_trajectories"], calc, params["n_frames"], params["temperature"],
                  params["timestep"], params["stride"], params["warmup"], params["friction"], params["seed"],
                  name=f"{params['name']} GFN2-xTB {params['temperature']:g} K")


if __name__ == "__main__":  # the child process of xtb_md
    _generate(json.loads(sys.argv[1])).save(sys.argv[2])

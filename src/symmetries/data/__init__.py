"""Data sets generated offline: synthetic symmetric tasks, rotated digits, charged n-body
trajectories, lattice gauge ensembles (Wilson action, U(1), SU(2) and SU(3)), and atoms from
molecular dynamics with EMT (metals) and GFN2-xTB (molecules)."""

from symmetries.data._atoms import AtomsData, cache_dir, emt_md
from symmetries.data._digits import DigitSplit, load_digit_images, rotated_digits
from symmetries.data._nbody import NBodyTrajectories, charged_nbody, coulomb_forces, integrate_charged, simulate_charged
from symmetries.data._nbody_egnn import egnn_initial_states, egnn_nbody_small
from symmetries.data._synthetic import lorentz_scattering, o3_inertia, o5_invariant
from symmetries.data._xtb import xtb_md
from symmetries.data._lattice_gauge import (gauge_sweep, mean_plaquette, reunitarize, simulate_wilson, staples,
                                            wilson_action, wilson_ensemble)

__all__ = ["o5_invariant", "o3_inertia", "lorentz_scattering", "AtomsData", "cache_dir", "emt_md", "xtb_md",
           "DigitSplit", "load_digit_images", "rotated_digits", "NBodyTrajectories", "charged_nbody", "coulomb_forces",
           "integrate_charged", "simulate_charged", "egnn_initial_states", "egnn_nbody_small",
           "wilson_ensemble", "simulate_wilson", "gauge_sweep", "wilson_action", "mean_plaquette", "staples",
           "reunitarize"]

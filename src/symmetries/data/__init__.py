"""Data sets generated offline: synthetic symmetric tasks, digits, n-body, atoms."""

# --- EMLP synthetic tasks (foundation)
from ._synthetic import lorentz_scattering, o3_inertia, o5_invariant  # noqa: F401

# --- atoms: EMT metals and GFN2-xTB molecules from molecular dynamics (issue 3)
from ._atoms import AtomsData, cache_dir, emt_md  # noqa: E402,F401
from ._xtb import xtb_md  # noqa: E402,F401

# --- rotated digits (issue 4)
from ._digits import DigitSplit, load_digit_images, rotated_digits  # noqa: E402,F401

# --- charged n-body (issue 5)
from ._nbody import NBodyTrajectories, charged_nbody, coulomb_forces, integrate_charged, simulate_charged  # noqa: E402,F401
from ._nbody_egnn import egnn_initial_states, egnn_nbody_small  # noqa: E402,F401

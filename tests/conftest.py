import pytest
import torch

import symmetries as sym

G = sym.groups

#: every group of the foundation, with a short id
ALL_GROUPS = {
    "C5": G.Cyclic(5), "D4": G.Dihedral(4), "D3": G.Dihedral(3), "S4": G.Symmetric(4), "SO2": G.SO2(),
    "O2": G.O2(), "SO3": G.SO3(), "O3": G.O3(), "O5": G.O(5), "SO4": G.SO(4), "Lorentz": G.Lorentz(),
    "O13": G.O13(), "C2xSO3": G.DirectProduct(G.Cyclic(2), G.SO3()),
}


@pytest.fixture(params=list(ALL_GROUPS), ids=list(ALL_GROUPS))
def group(request):
    return ALL_GROUPS[request.param]


@pytest.fixture
def gen():
    return torch.Generator().manual_seed(0)


@pytest.fixture
def one_thread():
    """Torch on one thread for the test: small models train much faster so, above all on a
    shared, loaded machine (used automatically by tests/studies and tests/symmetrize)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture
def float64_default():
    """float64 as torch's default dtype for the test (modules build their parameters, and
    e3nn its buffers, in the default dtype)."""
    old = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(old)


@pytest.fixture
def e3nn_o3(float64_default):
    """e3nn's ``o3`` (skips when e3nn is not installed), with float64 as the default dtype."""
    return pytest.importorskip("e3nn.o3")

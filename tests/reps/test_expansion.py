import pytest
import torch

import symmetries as sym
from symmetries.reps import (BlockBasisExpansion, basis_size, block_basis, equivariant_basis, irrep, regular,
                             standard, trivial)

G = sym.groups


pytestmark = pytest.mark.usefixtures("float64_default")


def _interleaved(group):
    """Reps whose summands repeat out of order, so copies must be gathered from all over."""
    V, T = standard(group), trivial(group)
    small = V + V**2 if V.dim <= 4 else 2 * V
    return T + small + T + V, V + T + small + T


def _rel_error(lhs, rhs):
    return float((lhs - rhs).abs().max()) / max(float(rhs.abs().max()), 1.0)


def _commutation_error(W, rep_in, rep_out, gen, n=64):
    g = rep_in.group.sample(n, generator=gen)
    A, B = rep_out(g).double(), rep_in(g).double()
    return _rel_error(torch.einsum("gij,jk...->gik...", A, W), torch.einsum("ij...,gjk->gik...", W, B))


def _with_taps(t, s):
    """A basis with two trailing axes: each solved map times three fixed 2 x 2 patterns."""
    taps = torch.tensor([[[1.0, 0.0], [0.0, 0.0]], [[0.0, 1.0], [1.0, 0.0]], [[0.5, 0.0], [0.0, -2.0]]],
                        dtype=torch.float64)
    B = block_basis(t, s)
    B = B.to_dense() if B.is_sparse else B
    return torch.einsum("kij,pxy->kpijxy", B, taps).reshape(-1, s.dim, t.dim, 2, 2)


def test_matrix_commutes_and_bias_is_invariant_every_group(group, gen):
    rep_in, rep_out = _interleaved(group)
    e = BlockBasisExpansion(rep_in, rep_out)
    assert e.weight_numel == basis_size(rep_in, rep_out) > 0
    assert e.bias_numel == basis_size(trivial(group), rep_out) > 0
    W = e(torch.randn(e.weight_numel, generator=gen))
    assert W.shape == (rep_out.dim, rep_in.dim)
    assert _commutation_error(W, rep_in, rep_out, gen) <= 1e-10
    b = e.bias_vector(torch.randn(e.bias_numel, generator=gen))
    g = group.sample(64, generator=gen)
    assert _rel_error(torch.einsum("gij,j->gi", rep_out(g).double(), b), b.expand(64, -1)) <= 1e-10


@pytest.mark.parametrize("name", ["O3", "S4", "D4"])
def test_trailing_axes_commute_and_stay_trailing(name, gen):
    group = {"O3": G.O3(), "S4": G.Symmetric(4), "D4": G.Dihedral(4)}[name]
    rep_in, rep_out = _interleaved(group)
    e = BlockBasisExpansion(rep_in, rep_out, _with_taps)
    assert e.trailing_shape == (2, 2) and e.weight_numel == 3 * basis_size(rep_in, rep_out)
    W = e(torch.randn(e.weight_numel, generator=gen))
    assert W.shape == (rep_out.dim, rep_in.dim, 2, 2)
    assert _commutation_error(W, rep_in, rep_out, gen) <= 1e-10


def _reference(rep_in, rep_out, basis, w):
    """The documented layout, assembled copy by copy: blocks (s, t) with s outer, summands in
    order of first appearance, coefficients (mul_out, mul_in, num_basis) in each."""
    def places(rep):
        out, offset = {}, 0
        for r in rep.components():
            out.setdefault(r, []).append(offset)
            offset += r.dim
        return out

    out_places, in_places = places(rep_out), places(rep_in)
    W, start = None, 0
    for s, outs in out_places.items():
        for t, ins in in_places.items():
            B = basis(t, s)
            B = B.to_dense() if B.is_sparse else B
            if W is None:
                W = torch.zeros(rep_out.dim, rep_in.dim, *B.shape[3:])
            c = w[start:start + len(outs) * len(ins) * len(B)].reshape(len(outs), len(ins), len(B))
            start += c.numel()
            for a, o in enumerate(outs):
                for b, i in enumerate(ins):
                    W[o:o + s.dim, i:i + t.dim] += torch.einsum("k,k...->...", c[a, b], B)
    return W


@pytest.mark.parametrize("basis", [block_basis, _with_taps], ids=["plain", "taps"])
def test_layout_matches_the_documented_one(basis, gen):
    group = G.SO3()
    rep_in, rep_out = _interleaved(group)
    e = BlockBasisExpansion(rep_in, rep_out, basis)
    w = torch.randn(e.weight_numel, generator=gen)
    assert torch.allclose(e(w), _reference(rep_in, rep_out, basis, w), atol=1e-13)
    assert sum(b.numel for b in e.blocks) == e.weight_numel
    assert [b.start for b in e.blocks] == [sum(c.numel for c in e.blocks[:i]) for i in range(len(e.blocks))]


def test_bias_layout_groups_copies_by_summand():
    group = G.SO3()
    V, T = standard(group), trivial(group)
    e = BlockBasisExpansion(V, T + V**2 + T)  # invariants: two scalars and the identity of V^2
    assert e.bias_numel == 3 and e.bias_summand.tolist() == [0, 2, 1]
    b = e.bias_vector(torch.tensor([1.0, 2.0, 3.0]))
    assert b[0] == 1 and b[-1] == 2
    assert torch.allclose(b[1:-1].reshape(3, 3).abs(), 3 * torch.eye(3) / 3**0.5, atol=1e-14)  # sign: the solver's
    assert BlockBasisExpansion(V, T + V, bias=False).bias_numel == 0


def test_round_trip_and_least_squares(gen):
    group = G.O3()
    rep_in, rep_out = _interleaved(group)
    e = BlockBasisExpansion(rep_in, rep_out)
    w = torch.randn(e.weight_numel, generator=gen)
    assert torch.allclose(e.coefficients(e(w)), w, atol=1e-12)
    # a dense matrix lands on its orthogonal projection onto all equivariant maps
    M = torch.randn(rep_out.dim, rep_in.dim, generator=gen)
    full = equivariant_basis(rep_in, rep_out)
    assert torch.allclose(e(e.coefficients(M)), torch.einsum("kij,ij,kab->ab", full, M, full), atol=1e-12)


def test_least_squares_with_a_skewed_basis_and_taps(gen):
    """Bases need not be orthonormal: the coefficients are still recovered exactly."""
    mix = torch.eye(3, dtype=torch.float64) + 0.7 * torch.triu(torch.ones(3, 3, dtype=torch.float64), 1)

    def skewed(t, s):
        B = _with_taps(t, s)
        k = len(B) // 3
        return torch.einsum("pq,kq...->kp...", mix, B.reshape(k, 3, *B.shape[1:])).reshape(B.shape)

    rep_in, rep_out = _interleaved(G.Dihedral(4))
    e = BlockBasisExpansion(rep_in, rep_out, skewed)
    w = torch.randn(e.weight_numel, generator=gen)
    assert torch.allclose(e.coefficients(e(w)), w, atol=1e-10)


def test_dtype_change_re_rounds_from_float64(gen):
    torch.set_default_dtype(torch.float32)
    group = G.Dihedral(4)
    rep_in, rep_out = regular(group) + irrep(group, 1, 1), regular(group) + trivial(group)
    e = BlockBasisExpansion(rep_in, rep_out)
    assert e.basis0.dtype == torch.float32
    exact = BlockBasisExpansion(rep_in, rep_out).double()
    assert all(torch.equal(a, b) for a, b in zip(exact.buffers(), BlockBasisExpansion(rep_in, rep_out).double().buffers()))
    assert exact.basis0.dtype == torch.float64 and torch.equal(exact.basis0, block_basis(rep_in.components()[0],
                                                                                       rep_out.components()[0]))
    W = exact(torch.randn(exact.weight_numel, generator=gen, dtype=torch.float64))
    assert _commutation_error(W, rep_in, rep_out, gen) <= 1e-10
    assert torch.equal(exact.float().basis0, e.basis0)
    assert e.state_dict() == {}  # the bases are rebuilt from the reps, never saved


def test_bad_input():
    group = G.O3()
    V = standard(group)
    e = BlockBasisExpansion(V + V**2, V)
    n = e.weight_numel
    with pytest.raises(ValueError, match=rf"takes {n} weight coefficients.*got shape \({n - 1},\)"):
        e(torch.zeros(n - 1))
    with pytest.raises(ValueError, match=rf"takes {n} weight coefficients.*got shape \(1, {n}\)"):
        e(torch.zeros(1, n))
    with pytest.raises(TypeError, match="bases .* are torch.float64, got weight coefficients of torch.float32"):
        e(torch.zeros(n, dtype=torch.float32))
    with pytest.raises(ValueError, match=r"takes 0 bias coefficients.*got shape \(2,\)"):
        e.bias_vector(torch.zeros(2))
    with pytest.raises(ValueError, match=r"shape \(3, 12\).*got \(12, 3\)"):
        e.coefficients(torch.zeros(12, 3))
    with pytest.raises(ValueError, match=r"must have shape \(n, 3, 3\), got \(1, 3, 2\)"):
        BlockBasisExpansion(V, V, lambda t, s: torch.zeros(1, 3, 2, dtype=torch.float64))
    with pytest.raises(ValueError, match=r"must have shape \(n, 3, 9, 2\), got \(1, 3, 9, 4\)"):
        BlockBasisExpansion(V + V**2, V, lambda t, s: torch.zeros(1, s.dim, t.dim, t.dim // 3 + 1))
    with pytest.raises(ValueError, match="belongs to"):
        BlockBasisExpansion(V, standard(G.SO3()))
    with pytest.raises(TypeError, match="rep_in must be a Rep"):
        BlockBasisExpansion(3, V)


def test_traces_with_fx(gen):
    rep_in, rep_out = _interleaved(G.Symmetric(4))
    e = BlockBasisExpansion(rep_in, rep_out, _with_taps)
    w = torch.randn(e.weight_numel, generator=gen)
    assert torch.equal(torch.fx.symbolic_trace(e)(w), e(w))


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore:.*torch.jit:DeprecationWarning")
def test_compiles_without_graph_breaks(gen):
    rep_in, rep_out = _interleaved(G.Dihedral(4))
    e = BlockBasisExpansion(rep_in, rep_out, _with_taps)
    w = torch.randn(e.weight_numel, generator=gen, requires_grad=True)
    compiled = torch.compile(e, fullgraph=True)
    assert torch.allclose(compiled(w), e(w), atol=1e-12)
    compiled(w).square().sum().backward()
    assert w.grad is not None and w.grad.abs().sum() > 0

r"""Gauge groups of lattice gauge theory: :math:`U(1)` and :math:`SU(N)` as ``N x N`` complex
matrices (one code path, :math:`U(1)` is ``N = 1``), and the group of local gauge
transformations of a periodic lattice."""

from __future__ import annotations

import math

import torch

from symmetries.groups._group import Group

#: largest :math:`\max |U U^\dagger - I|` accepted by ``check``, per real dtype of the elements
UNITARY_TOL = {torch.complex64: 1e-4, torch.complex128: 1e-9}


def _unitarity_error(g: torch.Tensor) -> torch.Tensor:
    eye = torch.eye(g.shape[-1], dtype=g.dtype, device=g.device)
    return (g @ g.mH - eye).abs().amax() if g.numel() else torch.zeros((), device=g.device)


def is_complex_element(g) -> bool:
    """Whether ``g`` is a complex tensor (gauge-group elements are complex matrices)."""
    return torch.is_tensor(g) and g.is_complex()


class UnitaryGauge(Group):
    r"""The common part of :class:`U1` and :class:`SU`: a compact group of unitary ``N x N``
    complex matrices,

    .. math::
        g^{-1} = g^\dagger, \qquad g h = \text{matrix product}.

    ``sample`` is Haar-uniform, in complex128 (actions cast to the data's dtype). ``check``
    rejects tensors that are not complex, not ``(n, N, N)``, or not unitary beyond
    ``UNITARY_TOL`` (``1e-9`` for complex128, ``1e-4`` for complex64).

    Shapes:
        - **elements:** ``(n, N, N)`` complex64 or complex128
        - **lie_generators:** ``(m, N, N)`` complex128, anti-Hermitian
    """

    compact = True
    order = None
    #: the matrix size
    N = 1
    #: True for :math:`SU(N)`: determinant one
    special = False

    def identity(self, device=None):
        return torch.eye(self.N, dtype=torch.complex128, device=device)[None]

    def __eq__(self, other) -> bool:  # SU(2) and SU2() are one group
        return isinstance(other, UnitaryGauge) and (self.N, self.special) == (other.N, other.special)

    def __hash__(self) -> int:
        return hash(("UnitaryGauge", self.N, self.special))

    def compose(self, a, b):
        return a @ b

    def inverse(self, a):
        return a.mH

    def equal(self, a, b, atol: float = 1e-9) -> torch.Tensor:
        a, b = torch.broadcast_tensors(a, b)
        return (a - b).reshape(a.shape[0], -1).abs().amax(1) <= atol

    @property
    def discrete_generators(self):
        return torch.zeros(0, self.N, self.N, dtype=torch.complex128)

    def check(self, g) -> None:
        if not is_complex_element(g):
            got = f"{tuple(g.shape)} {g.dtype}" if torch.is_tensor(g) else type(g).__name__
            raise ValueError(f"expected {self!r} elements as a complex tensor (n, {self.N}, {self.N}), got {got}")
        if g.dim() != 3 or tuple(g.shape[1:]) != (self.N, self.N):
            raise ValueError(f"expected {self!r} elements of shape (n, {self.N}, {self.N}), got {tuple(g.shape)}")
        check_unitary(g, self)

    def project(self, g: torch.Tensor) -> torch.Tensor:
        r"""The nearest group element to each matrix of ``g`` (reunitarisation): :math:`g / |g|`
        for :math:`U(1)`; for :math:`SU(N)` the unitary factor :math:`W V^\dagger` of the SVD
        :math:`g = W \Sigma V^\dagger`, divided by :math:`\det^{1/N}`.

        Args:
            g: matrices close to the group, any leading shape.

        Returns:
            group elements of the shape and dtype of ``g``.
        """
        return project_unitary(g, self.special)

    def describe(self, g) -> str:
        m = g.reshape(-1, self.N, self.N)[0].detach().to(torch.complex128).cpu()
        phases = torch.angle(torch.linalg.eigvals(m))
        if self.N == 1:
            return f"phase exp(i {float(phases[0]):.4g}) ({math.degrees(float(phases[0])):.4g} deg)"
        if self.N == 2 and self.special:
            a0 = float(m[0, 0].real)
            axis = torch.tensor([float(m[0, 1].imag), float(m[0, 1].real), float(m[0, 0].imag)])
            norm = float(axis.norm())
            angle = 2 * math.degrees(math.atan2(norm, a0))
            if norm < 1e-12:
                return "identity" if a0 > 0 else "-identity (the centre element)"
            axis = axis / norm
            return (f"rotation by {angle:.4g} deg about ({', '.join(f'{float(x):.3g}' for x in axis)}) "
                    f"(a0 + i a.sigma with a0 = {a0:.4g})")
        deg = ", ".join(f"{math.degrees(float(p)):.4g}" for p in phases)
        return f"{self!r} element with eigenphases ({deg}) deg"


def check_unitary(g: torch.Tensor, what="links", atol: float | None = None) -> None:
    r"""Raise ``ValueError`` unless every matrix of ``g`` is unitary,
    :math:`\max |g g^\dagger - I| \le` ``atol`` (and, for an :math:`SU(N)` ``what``, has
    :math:`\det g = 1`).

    Args:
        g: complex matrices ``(..., N, N)``.
        what: a name for the message, or the :class:`UnitaryGauge` the matrices should belong to.
        atol: the tolerance (default: ``UNITARY_TOL`` for the dtype of ``g``).
    """
    atol = UNITARY_TOL.get(g.dtype, 1e-4) if atol is None else atol
    name = what if isinstance(what, str) else f"{what!r} elements"
    err = float(_unitarity_error(g))
    if not err <= atol:
        raise ValueError(f"{name} must be unitary: expected max |g g^dagger - I| <= {atol:g}, got {err:.3g}")
    if getattr(what, "special", False) and g.numel():
        det_err = float((torch.linalg.det(g) - 1).abs().amax())
        if not det_err <= 10 * atol:
            raise ValueError(f"{name} must have determinant 1: expected max |det g - 1| <= "
                             f"{10 * atol:g}, got {det_err:.3g}")


def project_unitary(g: torch.Tensor, special: bool = True) -> torch.Tensor:
    r"""The nearest unitary matrix to each of ``g``, with the determinant phase removed when
    ``special``: :math:`W V^\dagger / \det(W V^\dagger)^{1/N}` from the SVD
    :math:`g = W \Sigma V^\dagger` (:math:`g / |g|` for ``N = 1``).

    Args:
        g: complex matrices ``(..., N, N)``.
        special: project onto :math:`SU(N)` instead of :math:`U(N)` (``N > 1``; default: ``True``).

    Returns:
        ``(..., N, N)``, the dtype of ``g``.
    """
    N = g.shape[-1]
    if N == 1:
        return g / g.abs().clamp_min(torch.finfo(g.real.dtype).tiny)
    w, _, vh = torch.linalg.svd(g)
    u = w @ vh
    if special:
        phase = torch.angle(torch.linalg.det(u)) / N
        u = u * torch.polar(torch.ones_like(phase), -phase)[..., None, None]
    return u


def haar_unitary(num: int, N: int, generator=None, special: bool = True, device=None,
                 dtype=torch.complex128) -> torch.Tensor:
    r"""Haar-random unitary matrices: the QR decomposition :math:`Z = QR` of a complex
    Gaussian matrix, :math:`Q` times the phases of :math:`\mathrm{diag}(R)`; for
    :math:`SU(N)` (``special``) divided by :math:`\det(Q)^{1/N}` (a centre element away from
    Haar on :math:`SU(N)`, which leaves it Haar).

    Args:
        num: how many matrices.
        N: their size.
        generator: a ``torch.Generator`` for reproducible draws (default: the global one).
        special: draw from :math:`SU(N)` rather than :math:`U(N)` (default: ``True``).
        device: where (default: the CPU, or the generator's device).
        dtype: complex64 or complex128 (default).

    Returns:
        ``(num, N, N)`` of ``dtype``.
    """
    device = device if device is not None else (generator.device if generator is not None else None)
    real = torch.float64
    z = torch.complex(torch.randn(num, N, N, generator=generator, dtype=real, device=device),
                      torch.randn(num, N, N, generator=generator, dtype=real, device=device))
    q, r = torch.linalg.qr(z)
    d = torch.diagonal(r, dim1=-2, dim2=-1)
    q = q * (d / d.abs())[:, None, :]
    if special and N > 1:
        phase = torch.angle(torch.linalg.det(q)) / N
        q = q * torch.polar(torch.ones_like(phase), -phase)[:, None, None]
    return q.to(dtype)


class U1(UnitaryGauge):
    r"""The circle group :math:`U(1) = \{e^{i\theta}\}` as ``1 x 1`` complex matrices, the gauge
    group of lattice electrodynamics.

    .. math::
        e^{i\theta_1} e^{i\theta_2} = e^{i(\theta_1 + \theta_2)}, \qquad (e^{i\theta})^{-1} = e^{-i\theta}

    ``sample`` draws :math:`\theta` uniform in :math:`[-\pi, \pi)`.

    Shapes:
        - **elements:** ``(n, 1, 1)`` complex
    """

    N = 1

    def __repr__(self):
        return "U1()"

    @property
    def lie_generators(self):
        return torch.full((1, 1, 1), 1j, dtype=torch.complex128)

    def sample(self, n, generator=None, device=None):
        device = device if device is not None else (generator.device if generator is not None else None)
        theta = (torch.rand(n, 1, 1, generator=generator, dtype=torch.float64, device=device) * 2 - 1) * math.pi
        return torch.polar(torch.ones_like(theta), theta)


def su_generators(N: int) -> torch.Tensor:
    r"""Anti-Hermitian traceless basis :math:`i \lambda_a / 2` of :math:`\mathfrak{su}(N)`,
    with :math:`\lambda_a` the generalised Gell-Mann matrices (Pauli matrices for ``N = 2``):
    first the symmetric and antisymmetric off-diagonal ones per pair :math:`j < k`, then the
    diagonal ones.

    Args:
        N: the matrix size.

    Returns:
        ``(N^2 - 1, N, N)`` complex128.
    """
    mats = []
    for j in range(N):
        for k in range(j + 1, N):
            s = torch.zeros(N, N, dtype=torch.complex128)
            s[j, k] = s[k, j] = 1
            a = torch.zeros(N, N, dtype=torch.complex128)
            a[j, k], a[k, j] = -1j, 1j
            mats += [s, a]
    for m in range(1, N):
        d = torch.zeros(N, N, dtype=torch.complex128)
        d[:m, :m] = torch.eye(m)
        d[m, m] = -m
        mats.append(d * math.sqrt(2 / (m * (m + 1))))
    return 0.5j * torch.stack(mats) if mats else torch.zeros(0, N, N, dtype=torch.complex128)


class SU(UnitaryGauge):
    r"""The special unitary group :math:`SU(N) = \{g : g^\dagger g = I, \det g = 1\}`, the gauge
    group of :math:`SU(2)` Yang-Mills and (``N = 3``) QCD.

    .. math::
        g^{-1} = g^\dagger

    ``sample`` is Haar: the QR decomposition of a complex Gaussian matrix with the phases of
    :math:`\mathrm{diag}(R)` fixed, divided by :math:`\det^{1/N}`.

    Args:
        N: the matrix size, :math:`N \ge 2`.

    Shapes:
        - **elements:** ``(n, N, N)`` complex
    """

    special = True

    def __init__(self, N: int):
        N = int(N)
        if N < 2:
            raise ValueError(f"SU(N) needs N >= 2 (U(1) is U1()), got {N}")
        self.N = N

    def _key(self):
        return (self.N,)

    def __repr__(self):
        return f"SU({self.N})"

    @property
    def lie_generators(self):
        return su_generators(self.N)

    def sample(self, n, generator=None, device=None):
        return haar_unitary(n, self.N, generator, special=True, device=device)


class SU2(SU):
    r""":math:`SU(2)`: unit quaternions :math:`a_0 + i\,\vec a \cdot \vec\sigma`,
    :math:`a_0^2 + |\vec a|^2 = 1`.

    Shapes:
        - **elements:** ``(n, 2, 2)`` complex
    """

    def __init__(self):
        super().__init__(2)

    def _key(self):
        return (2,)


class SU3(SU):
    r""":math:`SU(3)`, the colour gauge group.

    Shapes:
        - **elements:** ``(n, 3, 3)`` complex
    """

    def __init__(self):
        super().__init__(3)

    def _key(self):
        return (3,)


def gauge_group(name) -> UnitaryGauge:
    """A gauge group from its name: ``"U1"``, ``"SU2"``, ``"SU3"``, ``"SU(N)"`` (or a group itself).

    Args:
        name: the name (case and the characters ``( )`` are ignored), or a :class:`UnitaryGauge`.

    Returns:
        the :class:`UnitaryGauge`.
    """
    if isinstance(name, UnitaryGauge):
        return name
    if isinstance(name, str):
        key = name.upper().replace("(", "").replace(")", "").replace(" ", "")
        if key == "U1":
            return U1()
        if key == "SU2":
            return SU2()
        if key == "SU3":
            return SU3()
        if key.startswith("SU") and key[2:].isdigit():
            return SU(int(key[2:]))
    raise ValueError(f"unknown gauge group {name!r}: expected 'U1', 'SU2', 'SU3', 'SU(N)' or a U1() / SU(N) group")

"""The Action interface: how a group element moves a structured input."""

from __future__ import annotations

import torch

from symmetries._internal.tree import leaves
from symmetries.groups import Group


class Action:
    r"""How a group acts on one kind of data: ``act(g, x)``, with

    .. math::
        \mathrm{act}(gh, x) = \mathrm{act}(g, \mathrm{act}(h, x)).

    ``g`` is a batch of group elements of size 1 (the same element acts on all of ``x``) or
    of size ``B`` where ``B`` is the batch size of ``x`` (one element per sample; this is
    what augmentation uses). The result has the structure of ``x``.

    Implementations: a :class:`~symmetries.reps.Rep` acts on feature vectors ``(..., dim)``;
    this package adds images, point clouds, graphs and lattice gauge fields. The checker,
    augmentation, symmetrization and audit take any object with ``group`` and ``act``.

    Shapes:
        - **g:** a batch of 1 or ``B`` elements of ``group``
        - **x:** a tensor ``(B, ...)`` or a structure (tuple, list, dict) of tensors
        - **output:** the structure and shapes of ``x``
    """

    group: Group

    def act(self, g, x):
        """``g`` applied to ``x``: one element for all of ``x``, or one per sample."""
        raise NotImplementedError

    def __call__(self, g, x):
        return self.act(g, x)

    def batch_size(self, x) -> int:
        """Number of samples in ``x`` (the leading dimension of a tensor input)."""
        return _first_tensor(x).shape[0]

    def distance(self, a, b) -> tuple[torch.Tensor, torch.Tensor]:
        """Per-sample ``(|a - b|, |b|)`` used by the checker: max-abs difference and scale."""
        return flat_distance(a, b)


def _first_tensor(x):
    if torch.is_tensor(x):
        return x
    if isinstance(x, (tuple, list)):
        return _first_tensor(x[0])
    if isinstance(x, dict):
        return _first_tensor(next(iter(x.values())))
    raise TypeError(f"cannot find a tensor in input of type {type(x).__name__}")


def flat_distance(a, b):
    """Per-sample max-abs error and max-abs size over all floating tensors of a structure."""
    ta, tb = leaves(a), leaves(b)
    if len(ta) != len(tb):
        raise ValueError(f"outputs differ in structure: {len(ta)} vs {len(tb)} tensors")
    errs, scales = [], []
    for x, y in zip(ta, tb):
        if x.shape != y.shape:
            raise ValueError(f"outputs differ in shape: {tuple(x.shape)} vs {tuple(y.shape)}")
        if x.is_complex():  # both parts count
            x, y = torch.view_as_real(x), torch.view_as_real(y)
        elif not x.is_floating_point():
            x, y = x.double(), y.double()
        d = (x - y).abs()
        errs.append(d.reshape(d.shape[0], -1).amax(1) if d.dim() else d.reshape(1))
        s = y.abs()
        scales.append(s.reshape(s.shape[0], -1).amax(1) if s.dim() else s.reshape(1))
    if len({e.shape for e in errs}) > 1:  # tensors with different leading sizes: reduce to one number
        return torch.stack([e.max() for e in errs]).max()[None], torch.stack([s.max() for s in scales]).max()[None]
    return torch.stack(errs).amax(0), torch.stack(scales).amax(0)


class TrivialAction(Action):
    """The group leaves the data unchanged, :math:`g \\cdot x = x`: the output side of an
    invariance check.

    Args:
        group: the group (default: ``None``, any group).
    """

    def __init__(self, group: Group | None = None):
        self.group = group

    def act(self, g, x):
        return x

    def __repr__(self):
        return "invariant()"


def invariant(group: Group | None = None) -> TrivialAction:
    """The trivial action (``act(g, x) = x``), for invariant outputs.

    Args:
        group: the group (default: ``None``, any group).

    Returns:
        A :class:`TrivialAction`.
    """
    return TrivialAction(group)


class VectorAction(Action):
    r"""A rep acting on feature vectors ``(..., dim)``: :math:`x \mapsto \rho(g) x`.

    A :class:`~symmetries.reps.Rep` already is such an action; this wrapper exists for code
    that wants an :class:`Action` instance.

    Args:
        rep: the rep :math:`\rho` (anything with ``group`` and ``act``).

    Shapes:
        - **x:** ``(..., dim)``, with ``B`` leading when ``g`` holds ``B`` elements
        - **output:** ``(..., dim)``
    """

    def __init__(self, rep):
        self.rep, self.group = rep, rep.group

    def act(self, g, x):
        return self.rep.act(g, x)

    def __repr__(self):
        return f"VectorAction({self.rep!r})"


def as_action(obj) -> Action:
    """Accept an :class:`Action` or anything with ``group`` and ``act`` (a Rep).

    Args:
        obj: the action or rep.

    Returns:
        ``obj`` itself when it is an :class:`Action`, else a :class:`VectorAction` of it;
        ``TypeError`` for anything else.
    """
    if isinstance(obj, Action):
        return obj
    if hasattr(obj, "act") and hasattr(obj, "group"):
        return VectorAction(obj)
    raise TypeError(f"expected an Action or a Rep, got {type(obj).__name__}")

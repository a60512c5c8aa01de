"""The Task interface of the study runner: data, models, loss, metric and symmetry of one problem."""

from __future__ import annotations

import dataclasses
import difflib
from dataclasses import dataclass
from typing import Any, ClassVar

import torch
from torch import nn

from symmetries._internal.tree import batch_size
from symmetries.actions import as_action
from symmetries.groups import Euclidean

#: the training strategies a study compares (a task lists the ones it supports)
METHODS = ("plain", "augment", "average", "canonicalize", "soft", "equivariant")

#: finite groups up to this order are averaged exactly by method "average"
EXACT_AVERAGE_ORDER = 1024

#: one line per method, as reports explain it
METHOD_DESCRIPTIONS = {
    "plain": "the task's plain model, no symmetry",
    "augment": "the plain model trained on batches moved by random group elements",
    "average": "the plain model wrapped in group / frame averaging (exactly symmetric)",
    "canonicalize": "the plain model run on inputs brought to a canonical pose",
    "soft": "the plain model trained with a soft-equivariance penalty",
    "equivariant": "the task's hard-wired equivariant model",
}


@dataclass
class Task:
    r"""One learning problem with a symmetry, as the study runner sees it.

    A task is a dataclass: its fields (the Args below, and a subclass's own) are the
    configuration that decides the results (recorded in a study's folder; a folder made with
    another configuration is refused); class attributes (the Attributes below) describe it.

    Data: ``make_data(n_train, seed)`` returns ``(train, test)``, each a pair
    ``(inputs, targets)`` whose leaves are tensors with a leading sample dimension
    (``inputs`` may be a tensor, a tuple or a dict, e.g. positions, velocities and charges).
    The same seed must give the same data; the test set should depend on the seed only.
    Every run checks what ``make_data`` returns with :func:`check_data` (layout, sizes,
    finite values) before training.

    Symmetry: ``action_in`` moves inputs and ``action_out`` moves targets and predictions
    (:func:`symmetries.actions.invariant` for invariant targets), so that the ideal model
    satisfies :math:`f(g \cdot x) = g \cdot f(x)`. Augmentation, averaging, the soft penalty
    and the equivariance measurement all use these two actions.

    Models: ``make_model()`` builds the plain model; ``make_equivariant_model()`` the
    hard-wired one (``"equivariant"``); ``make_canonicalizer()`` the small equivariant
    network that predicts a group element (``"canonicalize"``). :meth:`build_model` turns
    a method name into a model; override it to change how a method wraps the plain model
    (e.g. frame averaging for point clouds instead of group averaging).

    Models are evaluated under ``torch.no_grad()``; a model that needs autograd in its
    forward pass (forces as :math:`-\partial E / \partial x`) enables it itself.

    Training budget: ``steps`` optimizer steps of Adam with learning rate ``lr``
    (cosine-decayed to zero) and ``weight_decay`` on batches of ``batch_size`` samples;
    override :meth:`train_steps` to make the budget depend on the training-set size.

    Models meet data at its raw scale: wrap them in :class:`~symmetries.studies.Standardized`
    (scalar input and target scales, as the built-in EMLP tasks do) when the inputs or
    targets are far from unit size, or an MLP or EMLP underfits.

    A task module (``studies/tasks/<domain>.py``) looks like::

        @register_task
        @dataclass
        class O5Invariant(Task):
            name: ClassVar[str] = "o5-invariant"
            description: ClassVar[str] = "O(5)-invariant regression of two vectors (Finzi et al. 2021)"
            default_sizes: ClassVar[tuple[int, ...]] = (30, 100, 300, 1000)
            methods: ClassVar[tuple[str, ...]] = ("plain", "augment", "average", "soft", "equivariant")
            hidden: int = 128

            @property
            def action_in(self):
                return 2 * standard(O(5))
            ...

    Args:
        test_size: test samples ``make_data`` returns (default: 1000).
        steps: optimizer steps (default: 1000).
        batch_size: training samples per step (default: 64).
        lr: Adam's initial learning rate (default: 3e-3).
        weight_decay: Adam's weight decay (default: 0.0).
        soft_weight: the scale of the soft-equivariance penalty, method ``"soft"`` (default: 1.0).
        average_samples: Monte Carlo elements of group averaging over an infinite group
            (default: 16).
        equivariance_samples: group elements the trained model is checked on (default: 16).

    Attributes:
        name (str): the registry key, e.g. ``"o5-invariant"``.
        description (str): one line.
        default_sizes (tuple): training-set sizes a study uses when none are given.
        methods (tuple): the subset of :data:`METHODS` it supports (default:
            ``("plain", "augment")``), the default set of a study unless
            ``default_methods`` narrows it.
        default_methods (tuple): the methods a study runs when none are given (default:
            ``None``, ``methods``).
        metric_name (str): what :meth:`metric` measures; lower is better: MSE, MAE, error
            rate (default: ``"test MSE"``).
    """

    name: ClassVar[str] = ""
    description: ClassVar[str] = ""
    default_sizes: ClassVar[tuple[int, ...]] = ()
    methods: ClassVar[tuple[str, ...]] = ("plain", "augment")
    default_methods: ClassVar[tuple[str, ...] | None] = None
    metric_name: ClassVar[str] = "test MSE"

    test_size: int = 1000
    steps: int = 1000
    batch_size: int = 64
    lr: float = 3e-3
    weight_decay: float = 0.0
    soft_weight: float = 1.0
    average_samples: int = 16
    equivariance_samples: int = 16

    # ------------------------------------------------------------ to implement
    @property
    def action_in(self):
        """The Action (or Rep) moving inputs."""
        raise NotImplementedError(f"task {self.name!r} defines no action_in")

    @property
    def action_out(self):
        """The Action (or Rep) moving targets and predictions."""
        raise NotImplementedError(f"task {self.name!r} defines no action_out")

    def make_data(self, n_train: int, seed: int) -> tuple[tuple[Any, Any], tuple[Any, Any]]:
        """The data of one run, for subclasses to implement.

        Args:
            n_train: training samples.
            seed: the same seed gives the same data; the test set should depend on it only.

        Returns:
            ``((x_train, y_train), (x_test, y_test))`` with ``n_train`` and ``test_size``
            samples (see :func:`check_data`).
        """
        raise NotImplementedError(f"task {self.name!r} defines no make_data")

    def make_model(self) -> nn.Module:
        """The plain model (no symmetry built in)."""
        raise NotImplementedError(f"task {self.name!r} defines no make_model")

    def make_equivariant_model(self) -> nn.Module:
        """The hard-wired equivariant model (method ``"equivariant"``)."""
        raise NotImplementedError(f"task {self.name!r} has no equivariant model")

    def make_canonicalizer(self) -> nn.Module:
        """An equivariant network ``x -> g(x)`` (method ``"canonicalize"``), see
        :class:`symmetries.symmetrize.Canonicalization`. Point-cloud tasks get a
        :class:`~symmetries.symmetrize.PointCloudCanonicalizer` by default."""
        cloud = point_cloud_positions(as_action(self.action_in))
        if cloud is None:
            raise NotImplementedError(f"task {self.name!r} has no canonicalizer")
        from symmetries.symmetrize import PointCloudCanonicalizer

        key, d, special = cloud
        return PointCloudCanonicalizer(d, special=special, positions=key)

    def loss(self, pred, target) -> torch.Tensor:
        """The training loss; mean squared error by default.

        Args:
            pred: the model's predictions on a batch.
            target: the batch's targets.

        Returns:
            A scalar tensor.
        """
        return torch.nn.functional.mse_loss(pred, target)

    def metric(self, pred, target) -> float:
        """The test metric over the whole test set (lower is better); MSE by default.

        Args:
            pred: the predictions on the test set.
            target: the test targets.

        Returns:
            A float.
        """
        return float(torch.nn.functional.mse_loss(pred, target))

    # ------------------------------------------------------------ provided
    def train_steps(self, n_train: int) -> int:
        """Optimizer steps for a training set of ``n_train`` samples (``steps`` by default).

        Args:
            n_train: the training-set size.

        Returns:
            The number of steps.
        """
        return self.steps

    def build_model(self, method: str) -> nn.Module:
        """The model trained by ``method``.

        ``plain``, ``augment``, ``soft``: the plain model (augmentation and the penalty act
        on training, not on the model). ``average``: :class:`~symmetries.symmetrize.GroupAveraging`
        of the plain model (all elements of a finite group of order at most
        ``EXACT_AVERAGE_ORDER`` = 1024, ``average_samples`` random ones otherwise), or
        :class:`~symmetries.symmetrize.FrameAveraging` when the input is a point cloud of
        O(d), SO(d) or E(d) (an action with a ``"position"`` entry in its ``layout``).
        ``canonicalize``: :class:`~symmetries.symmetrize.Canonicalization` of the
        plain model by :meth:`make_canonicalizer`. ``equivariant``: :meth:`make_equivariant_model`.

        Args:
            method: one of the task's ``methods``.

        Returns:
            A fresh model.

        Raises:
            ValueError: for a method the task does not support (:func:`check_method`).
        """
        check_method(self, method)
        if method in ("plain", "augment", "soft"):
            return self.make_model()
        if method == "equivariant":
            return self.make_equivariant_model()
        from symmetries import symmetrize

        act_in = as_action(self.action_in)
        cloud = point_cloud_positions(act_in)
        if method == "average":
            if cloud is not None:
                return symmetrize.FrameAveraging(self.make_model(), act_in, self.action_out, positions=cloud[0])
            order = act_in.group.order
            exact = order is not None and order <= EXACT_AVERAGE_ORDER
            return symmetrize.GroupAveraging(self.make_model(), act_in, self.action_out,
                                             n_samples=None if exact else self.average_samples)
        translate = cloud is not None and not isinstance(act_in.group, Euclidean)
        return symmetrize.Canonicalization(self.make_model(), self.make_canonicalizer(), act_in, self.action_out,
                                           positions=None if cloud is None else cloud[0], translation=translate)

    def config(self) -> dict:
        """The configuration recorded in a study's folder.

        Returns:
            A JSON-able dict: ``"task"`` (the name) and every field (tuples as lists, other
            objects by their ``repr``).
        """
        return {"task": self.name, **{f.name: _jsonable(getattr(self, f.name)) for f in dataclasses.fields(self)}}

    def __str__(self):
        return f"{self.name}: {self.description}"


def epoch_steps(n_train: int, batch_size: int, epochs: int, min_steps: int, max_steps: int) -> int:
    """A training budget of ``epochs`` passes over ``n_train`` samples in batches of
    ``batch_size``, kept between ``min_steps`` and ``max_steps`` optimizer steps."""
    per_epoch = max(1, -(-n_train // batch_size))
    return int(min(max_steps, max(min_steps, epochs * per_epoch)))


def point_cloud_positions(action):
    """``(key, d, special)`` when ``action`` moves a point cloud whose positions are the entry
    ``key`` of the input (``None``: the input itself), else ``None``."""
    layout = getattr(action, "layout", None)
    group = getattr(action, "group", None)
    d = group.n if isinstance(group, Euclidean) else getattr(group, "d", None)
    special = bool(getattr(group, "special", False))
    if isinstance(layout, str) and layout == "position":
        return None, d, special
    if isinstance(layout, (tuple, list)) and "position" in layout:
        return list(layout).index("position"), d, special
    if isinstance(layout, dict):
        keys = [k for k, v in layout.items() if isinstance(v, str) and v == "position"]
        if keys:
            return keys[0], d, special
    return None


def check_method(task: Task, method: str) -> None:
    """Check that ``task`` supports ``method``.

    Args:
        task: the task.
        method: the method's name, one of :data:`METHODS`.

    Raises:
        ValueError: naming the methods there are (with the closest to a mistyped name) or the
            ones the task supports.
    """
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}{did_you_mean(method, METHODS)}; "
                         f"methods are: {', '.join(METHODS)}")
    if method not in task.methods:
        raise ValueError(f"task {task.name!r} does not support method {method!r}; "
                         f"it supports: {', '.join(task.methods)}")


def did_you_mean(name: str, choices) -> str:
    """``" (did you mean 'x'?)"`` for the choice closest to a mistyped ``name``, else ``""``.

    Args:
        name: what was given.
        choices: the valid names.

    Returns:
        The hint, to put after the name in an error message.
    """
    close = difflib.get_close_matches(name, list(choices), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def check_data(task: Task, data, n_train: int, seed: int) -> None:
    """Raise ``ValueError`` unless ``data`` is what ``task.make_data(n_train, seed)`` must return.

    That is ``((x_train, y_train), (x_test, y_test))`` with ``n_train`` training samples,
    inputs and targets of the same length, and only finite values in floating-point tensors.
    The message names the array and the rows that are not finite.

    Args:
        task: the task that made the data (named in the message).
        data: what its ``make_data`` returned.
        n_train: the training-set size asked for.
        seed: the seed asked for.

    Raises:
        ValueError: naming what is wrong (the layout, a size, the non-finite rows).
    """
    made = f"task {task.name!r}: make_data({n_train}, seed={seed}) returned"
    if not (_is_pair(data) and _is_pair(data[0]) and _is_pair(data[1])):
        raise ValueError(f"{made} a {type(data).__name__}; expected ((x_train, y_train), (x_test, y_test))")
    (x, y), (x_test, y_test) = data
    sizes = {}
    for label, tree in (("training inputs", x), ("training targets", y), ("test inputs", x_test),
                        ("test targets", y_test)):
        try:
            sizes[label] = batch_size(tree)
        except (TypeError, IndexError):
            raise ValueError(f"{made} {label} of type {type(tree).__name__}; expected a tensor with a "
                             "leading sample dimension, or a tuple or dict of them") from None
        for where, t in _named_leaves(tree, label):
            _check_finite(t, f"{made} {where}")
    if sizes["training inputs"] != n_train:
        raise ValueError(f"{made} {sizes['training inputs']} training samples, asked for {n_train}")
    for part in ("training", "test"):
        if sizes[f"{part} inputs"] != sizes[f"{part} targets"]:
            raise ValueError(f"{made} {sizes[f'{part} inputs']} {part} inputs but "
                             f"{sizes[f'{part} targets']} {part} targets")


#: at most this many non-finite rows are listed in an error message
LISTED_ROWS = 10


def _check_finite(t: torch.Tensor, what: str) -> None:
    """Raise ``ValueError`` naming the rows of ``t`` (leading index) that hold NaN or infinity."""
    if not (t.is_floating_point() or t.is_complex()):
        return
    bad = ~torch.isfinite(t.detach())
    count = int(bad.sum())
    if not count:
        return
    rows = torch.nonzero(bad.reshape(len(t), -1).any(1) if t.dim() else bad.reshape(1)).flatten().tolist()
    listed = ", ".join(str(r) for r in rows[:LISTED_ROWS]) + (", ..." if len(rows) > LISTED_ROWS else "")
    raise ValueError(f"{what} with {count} non-finite value{'s' * (count > 1)} in "
                     f"{len(rows)} row{'s' * (len(rows) > 1)} [{listed}]")


def _named_leaves(tree, label: str):
    """``(name, tensor)`` for every tensor of a structure, named like ``inputs[1]`` or ``inputs['charges']``."""
    if torch.is_tensor(tree):
        yield label, tree
    elif isinstance(tree, (tuple, list)):
        for i, v in enumerate(tree):
            yield from _named_leaves(v, f"{label}[{i}]")
    elif isinstance(tree, dict):
        for k, v in tree.items():
            yield from _named_leaves(v, f"{label}[{k!r}]")


def _is_pair(x) -> bool:
    return isinstance(x, (tuple, list)) and len(x) == 2


def _jsonable(v):
    if isinstance(v, (tuple, list)):
        return [_jsonable(x) for x in v]
    if isinstance(v, dict):
        return {str(k): _jsonable(x) for k, x in v.items()}
    if isinstance(v, (bool, int, float, str)) or v is None:
        return v
    return repr(v)

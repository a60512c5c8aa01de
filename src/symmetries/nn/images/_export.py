r"""Export a trained model to plain ``torch.nn`` modules that do not need ``symmetries``.

Every image layer of this package has an ``export()`` method: convolutions become
``nn.Conv2d`` / ``nn.ConvTranspose2d`` holding the expanded filter, batch norm becomes
``nn.BatchNorm2d`` (eval mode), pointwise activations and pooling their ``torch.nn``
modules, and the remaining nonlinear layers ``torch.fx.GraphModule`` s made of torch
operations only. The exported model computes the same outputs as the original in eval mode,
scripts with TorchScript and exports to ONNX.
"""

from __future__ import annotations

import copy

from torch import nn


def _is_ours(module: nn.Module) -> bool:
    return type(module).__module__.startswith("symmetries.")


def export(model: nn.Module) -> nn.Module:
    """A copy of ``model`` (eval mode) with every ``symmetries`` layer replaced by plain
    ``torch.nn`` modules, computing the same outputs in eval mode. Containers
    (``nn.Sequential``, your own modules) are kept and their children exported; the
    original model is not changed.

    Args:
        model: the model.

    Returns:
        The exported copy, in eval mode.

    Raises:
        TypeError: for a ``symmetries`` module that has no ``export()``.
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"export takes an nn.Module, got {type(model).__name__}")
    return _export(copy.deepcopy(model).eval())


def _export(module: nn.Module) -> nn.Module:
    if _is_ours(module):
        if not hasattr(module, "export"):
            raise TypeError(f"{type(module).__name__} has no plain-torch export; export supports the image layers "
                            "of symmetries.nn (R2Conv, GroupConv2d, batch norm, nonlinearities, pooling)")
        return module.export().eval()
    for name, child in list(module.named_children()):
        setattr(module, name, _export(child))
    return module

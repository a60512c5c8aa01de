"""Input and target scaling for a task's models, by scalars so that a symmetry is kept."""

from __future__ import annotations

import math

import torch
from torch import nn


class Standardized(nn.Module):
    r"""A model on standardized data: :math:`x \mapsto \sigma_y\, f(x / \sigma_x) + \mu_y`.

    MLPs and EMLPs train well on inputs and targets of about unit size and underfit data far
    from it (an invariant of two 5-vectors such as :math:`|x|^3` spans hundreds). This wrapper
    lets ``model`` see inputs divided by ``x_scale`` and predict targets divided by ``y_scale``,
    less ``y_mean``. The built-in EMLP tasks wrap both their MLP and their EMLP in it.

    The scales are scalars, one norm statistic for all coordinates (not one per coordinate),
    so an equivariant ``model`` stays equivariant: :math:`\rho(g)` commutes with a scalar.
    ``y_mean`` is added to every output coordinate; it keeps equivariance only when the
    output is invariant (a constant vector does not rotate), so leave it at 0 otherwise.
    :meth:`fit` measures the three numbers on a sample.

    Args:
        model: the model on standardized data, tensor in, tensor out.
        x_scale: inputs are divided by it, finite and positive (default: 1.0).
        y_mean: added to the outputs after scaling, finite (default: 0.0; 0 unless the output
            is invariant).
        y_scale: the model's outputs are multiplied by it, finite and positive (default: 1.0).

    Shapes:
        - **input:** ``x``, as ``model`` takes it (a tensor)
        - **output:** ``model``'s output shape

    Example::

        (x, y), _ = task.make_data(1000, seed=0)          # a reference sample sets the scales
        model = Standardized.fit(EMLP(rep_in, rep_out, 128, 3), x, y, center=True)  # invariant y
    """

    def __init__(self, model: nn.Module, x_scale: float = 1.0, y_mean: float = 0.0, y_scale: float = 1.0):
        super().__init__()
        for name, value in (("x_scale", x_scale), ("y_scale", y_scale)):
            if not (math.isfinite(float(value)) and float(value) > 0):
                raise ValueError(f"Standardized: {name} must be a finite positive number, got {value!r}")
        if not math.isfinite(float(y_mean)):
            raise ValueError(f"Standardized: y_mean must be finite, got {y_mean!r}")
        self.model = model
        self.x_scale, self.y_mean, self.y_scale = float(x_scale), float(y_mean), float(y_scale)

    @staticmethod
    def statistics(x: torch.Tensor, y: torch.Tensor, center: bool = False) -> dict[str, float]:
        """The scales of a sample, as :class:`Standardized`'s keyword arguments.

        Args:
            x: inputs ``(N, ...)``, floating point.
            y: targets ``(N, ...)``, floating point.
            center: subtract the mean of ``y`` (one number over all coordinates); only for
                invariant targets.

        Returns:
            ``{"x_scale": rms(x), "y_mean": mean(y) or 0, "y_scale": rms(y - y_mean)}``, the
            root mean squares taken over all samples and coordinates, in float64.
        """
        for name, t in (("x", x), ("y", y)):
            if not (torch.is_tensor(t) and t.is_floating_point() and t.numel()):
                got = f"{t.dtype} tensor of shape {tuple(t.shape)}" if torch.is_tensor(t) else type(t).__name__
                raise TypeError(f"Standardized.statistics: {name} must be a non-empty floating-point tensor, "
                                f"got {got} (scale each entry of a structured input yourself)")
        x, y = x.detach().double(), y.detach().double()
        y_mean = float(y.mean()) if center else 0.0
        stats = {"x_scale": float(x.pow(2).mean().sqrt()), "y_mean": y_mean,
                 "y_scale": float((y - y_mean).pow(2).mean().sqrt())}
        bad = [k for k, v in stats.items() if not math.isfinite(v) or (k != "y_mean" and v <= 0)]
        if bad:
            raise ValueError(f"Standardized.statistics: the sample gives {', '.join(f'{k}={stats[k]}' for k in bad)}; "
                             "expected finite values and scales above 0 (a sample without NaN, not all zero)")
        return stats

    @classmethod
    def fit(cls, model: nn.Module, x: torch.Tensor, y: torch.Tensor, center: bool = False) -> Standardized:
        """``model`` wrapped with the scales of the sample ``(x, y)`` (see :meth:`statistics`).

        Args:
            model: the model on standardized data.
            x: sample inputs ``(N, ...)``.
            y: sample targets ``(N, ...)``.
            center: also subtract the targets' mean; only for invariant targets.

        Returns:
            The :class:`Standardized` model.
        """
        return cls(model, **cls.statistics(x, y, center))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``y_scale * model(x / x_scale) + y_mean``."""
        return self.model(x / self.x_scale) * self.y_scale + self.y_mean

    def extra_repr(self) -> str:
        return f"x_scale={self.x_scale:.4g}, y_mean={self.y_mean:.4g}, y_scale={self.y_scale:.4g}"

r"""Rotated digits: scikit-learn's bundled handwritten digits on a grid fit for rotations.

scikit-learn ships 1797 real 8x8 digit images (``load_digits``, no download). They are
upsampled (bilinear, ``scale`` pixels per original pixel) and zero-padded to an odd
``size x size`` canvas whose inscribed disk contains the whole digit, so a rotation by any
angle keeps every inked pixel on the canvas and 90-degree rotations are exact pixel
permutations about the centre pixel.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from symmetries._internal.extras import require
from symmetries.actions import rotate_images

N_DIGITS = 1797


def load_digit_images(size: int = 29, dtype: torch.dtype = torch.float32) -> tuple[torch.Tensor, torch.Tensor]:
    r"""All 1797 scikit-learn digits on a canvas fit for rotations.

    The 8x8 digit is resized to ``s x s`` with ``s`` the largest odd number for which its
    corners stay inside the inscribed disk (:math:`s \le (size - 1) / \sqrt{2}`), then
    centred.

    Args:
        size: the canvas, odd and at least 9 (default: 29).
        dtype: of the images (default: float32).

    Returns:
        ``(images, labels)``: images ``(1797, 1, size, size)`` in [0, 1], labels
        ``(1797,)`` long.
    """
    size = int(size)
    if size < 9 or size % 2 == 0:
        raise ValueError(f"size must be an odd number >= 9 (centre pixel for exact 90-degree rotations), got {size}")
    img, labels = _load(size)
    return img.to(dtype), labels.clone()


@functools.lru_cache(maxsize=4)
def _load(size: int):
    require("sklearn", extra="study", feature="the digits data set (scikit-learn's 8x8 digits)")
    from sklearn.datasets import load_digits

    bunch = load_digits()
    raw = torch.as_tensor(bunch.images, dtype=torch.float64)[:, None] / 16.0
    s = int(math.floor((size - 1) / math.sqrt(2)))
    s -= 1 - s % 2  # odd, so the digit is centred on the centre pixel
    img = F.interpolate(raw, size=(s, s), mode="bilinear", align_corners=False).clamp(0, 1)
    pad = (size - s) // 2
    img = F.pad(img, (pad, pad, pad, pad))
    return img, torch.as_tensor(bunch.target, dtype=torch.long)


@dataclass
class DigitSplit:
    """Train and test digits with the rotation (degrees) applied to each image, as
    :func:`rotated_digits` returns them.

    Args:
        x_train: ``(n_train, 1, size, size)`` images.
        y_train: ``(n_train,)`` long labels.
        x_test: ``(n_test, 1, size, size)`` images.
        y_test: ``(n_test,)`` long labels.
        angles_train: ``(n_train,)`` float64, the angle of each training image.
        angles_test: ``(n_test,)`` float64, the angle of each test image.
    """

    x_train: torch.Tensor
    y_train: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor
    angles_train: torch.Tensor
    angles_test: torch.Tensor

    def __repr__(self):
        return (f"DigitSplit(train={tuple(self.x_train.shape)}, test={tuple(self.x_test.shape)}, "
                f"classes={int(self.y_train.max()) + 1 if len(self.y_train) else 0})")


def _angles(rotation, n: int, generator: torch.Generator) -> torch.Tensor:
    if rotation in (None, "none"):
        return torch.zeros(n, dtype=torch.float64)
    if rotation == "c4":
        return 90.0 * torch.randint(4, (n,), generator=generator).double()
    if rotation == "so2":
        return 360.0 * torch.rand(n, generator=generator, dtype=torch.float64)
    if isinstance(rotation, (int, float)):
        return torch.full((n,), float(rotation), dtype=torch.float64)
    raise ValueError(f"rotation must be None, 'c4', 'so2' or an angle in degrees, got {rotation!r}")


def rotated_digits(n_train: int, n_test: int = 500, size: int = 29, train_rotation=None, test_rotation="so2",
                   seed: int = 0, dtype: torch.dtype = torch.float32) -> DigitSplit:
    r"""Seeded train/test split of the digits, each image rotated as asked.

    The test set is the last ``n_test`` images of a permutation that depends on ``seed``
    only; the training set is the first ``n_train`` of the rest, so the two never overlap
    and a larger ``n_train`` extends a smaller one.

    Args:
        n_train: training images, >= 1.
        n_test: test images, >= 1 (default: 500); ``n_train + n_test <= 1797``.
        size: the canvas, as :func:`load_digit_images` (default: 29).
        train_rotation: ``None`` (default, upright), ``"c4"`` (a random multiple of 90
            degrees, exact), ``"so2"`` (uniform angle, bilinear interpolation) or a fixed
            angle in degrees.
        test_rotation: likewise (default: ``"so2"``).
        seed: seeds the split and the angles (default: 0).
        dtype: of the images (default: float32).

    Returns:
        A :class:`DigitSplit`.
    """
    n_train, n_test = int(n_train), int(n_test)
    if n_train < 1 or n_test < 1 or n_train + n_test > N_DIGITS:
        raise ValueError(f"need n_train >= 1, n_test >= 1 and n_train + n_test <= {N_DIGITS}, "
                         f"got {n_train} + {n_test}")
    x, y = load_digit_images(size, torch.float64)
    gen = torch.Generator().manual_seed(int(seed))
    perm = torch.randperm(N_DIGITS, generator=gen)
    test_idx, train_idx = perm[N_DIGITS - n_test:], perm[:n_train]
    a_train = _angles(train_rotation, n_train, torch.Generator().manual_seed(int(seed) + 1))
    a_test = _angles(test_rotation, n_test, torch.Generator().manual_seed(int(seed) + 2))
    x_train = rotate_images(x[train_idx], a_train).clamp(0, 1)
    x_test = rotate_images(x[test_idx], a_test).clamp(0, 1)
    return DigitSplit(x_train.to(dtype), y[train_idx], x_test.to(dtype), y[test_idx], a_train, a_test)

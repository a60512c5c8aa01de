import pytest
import torch

from symmetries.actions import disk_mask
from symmetries.data import load_digit_images, rotated_digits


def test_digits_fit_the_disk_and_are_centred():
    x, y = load_digit_images(29)
    assert x.shape == (1797, 1, 29, 29) and y.shape == (1797,) and set(y.tolist()) == set(range(10))
    assert float(x.min()) >= 0 and float(x.max()) <= 1
    assert float((x * (1 - disk_mask(29, 29))).abs().max()) == 0  # any rotation keeps all ink
    # odd-sized digit centred on the centre pixel: the centre of the padded frame is pixel 14
    cols = torch.nonzero(x.sum((0, 1, 2)) > 0).flatten()
    assert int(cols.min()) + int(cols.max()) == 28


def test_splits_are_seeded_disjoint_and_nested():
    a = rotated_digits(100, 50, size=17, seed=3)
    b = rotated_digits(100, 50, size=17, seed=3)
    c = rotated_digits(200, 50, size=17, seed=3)
    assert torch.equal(a.x_train, b.x_train) and torch.equal(a.x_test, b.x_test)
    assert torch.equal(c.x_train[:100], a.x_train) and torch.equal(c.x_test, a.x_test)
    assert not torch.equal(rotated_digits(100, 50, size=17, seed=4).x_test, a.x_test)
    upright = rotated_digits(100, 50, size=17, seed=3, test_rotation=None)
    overlap = (upright.x_train.flatten(1)[:, None] == upright.x_test.flatten(1)[None]).all(-1)
    assert not overlap.any()


def test_rotations_are_exact_for_quarter_turns():
    up = rotated_digits(64, 64, size=17, seed=0, train_rotation=None, test_rotation=None)
    c4 = rotated_digits(64, 64, size=17, seed=0, train_rotation="c4", test_rotation=90)
    assert set(c4.angles_train.tolist()) <= {0.0, 90.0, 180.0, 270.0}
    for i in range(64):
        k = int(c4.angles_train[i]) // 90
        assert torch.equal(c4.x_train[i], torch.rot90(up.x_train[i], k, (-2, -1)))
    assert torch.equal(c4.x_test, torch.rot90(up.x_test, 1, (-2, -1)))
    so2 = rotated_digits(64, 64, size=17, seed=0, test_rotation="so2")
    assert 0 <= float(so2.angles_test.min()) and float(so2.angles_test.max()) < 360
    # interpolation keeps the ink mass within a few percent
    ratio = so2.x_test.sum((1, 2, 3)) / up.x_test.sum((1, 2, 3))
    assert float((ratio - 1).abs().max()) < 0.2


def test_bad_arguments():
    with pytest.raises(ValueError, match="odd"):
        load_digit_images(28)
    with pytest.raises(ValueError, match="n_train"):
        rotated_digits(1700, 500)
    with pytest.raises(ValueError, match="rotation"):
        rotated_digits(10, 10, train_rotation="c3")

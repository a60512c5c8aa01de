import pytest
import torch

from symmetries.actions import invariant, rotate_image
from symmetries.groups import Cyclic, Dihedral
from symmetries.testing import assert_equivariant


def test_digits_task_is_registered_and_consistent():
    from symmetries.studies import get_task

    task = get_task("digits", test_size=40, image_size=13)
    assert task.metric_name == "test error" and "equivariant" in task.methods
    (x, y), (xt, yt) = task.make_data(30, seed=0)
    assert x.shape == (30, 1, 13, 13) and xt.shape == (40, 1, 13, 13) and y.dtype == torch.long
    model = task.build_model("plain")
    logits = model(x)
    assert logits.shape == (30, 10)
    assert task.metric(torch.nn.functional.one_hot(y, 10).float(), y) == 0.0
    assert task.train_steps(10) == task.min_steps and task.train_steps(10**6) == task.max_steps


@pytest.mark.parametrize("kind,G", [("p4", Cyclic(4)), ("d4", Dihedral(4)), ("c8", Cyclic(4))])
def test_equivariant_digit_models_are_exactly_invariant_on_the_grid(kind, G):
    from symmetries.studies.tasks.digits import digits_cnn

    model = digits_cnn(kind, channels=(8, 16), features=8).double()
    model(torch.randn(4, 1, 13, 13, dtype=torch.float64))  # move batch-norm statistics
    model.eval()
    with torch.no_grad():
        assert_equivariant(model, rotate_image(G), invariant(G), torch.randn(3, 1, 13, 13, dtype=torch.float64))


def test_plain_model_is_not_invariant():
    from symmetries.studies.tasks.digits import digits_cnn
    from symmetries.testing import check_equivariance

    model = digits_cnn("cnn", channels=(8, 16), features=8).eval()
    report = check_equivariance(model, rotate_image(Cyclic(4)), invariant(Cyclic(4)), torch.randn(3, 1, 13, 13))
    assert report.verdict != "exact"
    with pytest.raises(ValueError, match="kind"):
        digits_cnn("c7")


def test_digit_models_export_to_plain_torch():
    from symmetries.nn.images import export
    from symmetries.studies.tasks.digits import digits_cnn

    for kind in ("cnn", "c8"):
        model = digits_cnn(kind, channels=(8, 16), features=8)
        model(torch.randn(4, 1, 13, 13))
        model.eval()
        plain = export(model)
        assert not any(type(m).__module__.startswith("symmetries") for m in plain.modules())
        x = torch.randn(2, 1, 13, 13)
        with torch.no_grad():
            assert torch.allclose(plain(x), model(x), atol=1e-5)

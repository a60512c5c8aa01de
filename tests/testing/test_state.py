import pytest
import torch

from symmetries.testing import reload_state_dict


def test_reload_state_dict_copies_every_tensor_and_checks_keys():
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.BatchNorm1d(4))
    model.train()(torch.randn(8, 3))  # running statistics differ from a fresh module's
    fresh = reload_state_dict(model, torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.BatchNorm1d(4)))
    for (name, a), (_, b) in zip(model.state_dict().items(), fresh.state_dict().items()):
        assert torch.equal(a, b), name
    with pytest.raises(RuntimeError, match="Missing key"):
        reload_state_dict(torch.nn.Linear(3, 4), torch.nn.Sequential(torch.nn.Linear(3, 4)))

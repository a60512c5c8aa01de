"""The wrappers and the study runner on a GPU (skipped without CUDA)."""

import pytest
import torch

import tiny  # noqa: F401
from symmetries.groups import Euclidean
from symmetries.actions import PointCloudAction, invariant
from symmetries.groups import O3, Dihedral
from symmetries.reps import standard
from symmetries.studies import get_task
from symmetries.studies._study import run_study
from symmetries.studies._train import train_run
from symmetries.symmetrize import Augment, FrameAveraging, GroupAveraging, equivariance_penalty
from symmetries.testing import assert_equivariant

pytestmark = [pytest.mark.cuda, pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")]


def test_wrappers_on_cuda_match_cpu_and_stay_equivariant():
    torch.manual_seed(0)
    G = Dihedral(4)
    V = standard(G)
    base = torch.nn.Sequential(torch.nn.Linear(2, 16), torch.nn.Tanh(), torch.nn.Linear(16, 2)).double()
    x = torch.randn(8, 2, dtype=torch.float64)
    cpu = GroupAveraging(base, V, V)(x)
    model = GroupAveraging(base, V, V).cuda()
    torch.testing.assert_close(model(x.cuda()).cpu(), cpu)
    assert_equivariant(model, V, V, x.cuda())
    E = Euclidean(3)
    act = PointCloudAction(E, "position")
    net = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(15, 15), torch.nn.Unflatten(1, (5, 3)))
    fa = FrameAveraging(net.double().cuda(), act, act)
    assert_equivariant(fa, act, act, torch.randn(4, 5, 3, dtype=torch.float64, device="cuda"), n_samples=8)
    aug = Augment(standard(O3()), invariant(O3()))
    gx, y = aug(torch.randn(6, 3, device="cuda"), torch.randn(6, 1, device="cuda"))
    assert gx.device.type == "cuda" and y.device.type == "cuda"
    assert float(equivariance_penalty(base.cuda(), x.cuda(), V, V)) > 0


@pytest.mark.parametrize("method", ["plain", "augment", "average", "canonicalize", "soft", "equivariant"])
def test_train_run_on_cuda(method, tmp_path):
    task = get_task("tiny-o3")
    row = train_run(task, method, 32, 0, device="cuda", checkpoint=str(tmp_path / "c.pt"))
    assert row["device"] == "cuda" and row["metric"] == row["metric"]  # not NaN
    snap = torch.load(tmp_path / "c.pt", weights_only=True, map_location="cpu")
    assert snap["step"] == row["steps"] and "cuda_rng" in snap
    if method in ("equivariant", "canonicalize"):
        assert row["equivariance_max_rel"] < 1e-4


def test_study_on_cuda(tmp_path):
    rows = run_study("tiny-o3", sizes=(16,), methods=("plain", "equivariant"), seeds=(0,), out=str(tmp_path),
                     device="cuda", progress=False)
    assert len(rows) == 2 and (tmp_path / "report.html").exists()

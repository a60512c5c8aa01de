"""The kernels that run a tensor product's groups of paths (PyTorch ops anywhere, numba loops
on the CPU, Triton kernels on CUDA), the plans they run, and the one registry that chooses
among them per call (:func:`select`, ``kernel=`` in ``"auto"``, ``"torch"``, ``"numba"``,
``"triton"``)."""

from symmetries.nn.o3.tensor_product.kernels._dense import DensePlan
from symmetries.nn.o3.tensor_product.kernels._registry import KERNELS, Kernel, check_kernel, select
from symmetries.nn.o3.tensor_product.kernels._rows import Mixing, RowPlan, row_plan
from symmetries.nn.o3.tensor_product.kernels._torch import ChannelwisePlan

__all__ = ["KERNELS", "Kernel", "check_kernel", "select", "ChannelwisePlan", "DensePlan", "Mixing", "RowPlan",
           "row_plan"]

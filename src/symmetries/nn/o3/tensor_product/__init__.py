"""Tensor products of O(3) irreps: weighted (channel-wise and fully connected, shared or
per-sample weights) and without weights (full and elementwise), in e3nn 0.6's layout.

Every product is a list of :class:`Instruction` paths; the kernel that runs them is chosen
per call from :mod:`symmetries.nn.o3.tensor_product.kernels`.
"""

from symmetries.nn.o3.tensor_product._weighted import FullyConnectedTensorProduct, Instruction, TensorProduct
from symmetries.nn.o3.tensor_product._unweighted import ElementwiseTensorProduct, FullTensorProduct

__all__ = ["Instruction", "TensorProduct", "FullyConnectedTensorProduct", "FullTensorProduct",
           "ElementwiseTensorProduct"]

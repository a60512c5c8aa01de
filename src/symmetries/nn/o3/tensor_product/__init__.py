"""Tensor products of O(3) irreps: weighted (channel-wise and fully connected, shared or
per-sample weights) and without weights (full and elementwise), in e3nn 0.6's layout.

A weighted product is a list of :class:`Instruction` paths, run in groups by kernels chosen
per call from one registry (:mod:`symmetries.nn.o3.tensor_product.kernels`, ``kernel=``);
the products without weights are PyTorch ops.
"""

from symmetries.nn.o3.tensor_product._instruction import Instruction
from symmetries.nn.o3.tensor_product._weighted import FullyConnectedTensorProduct, TensorProduct
from symmetries.nn.o3.tensor_product._unweighted import ElementwiseTensorProduct, FullTensorProduct

__all__ = ["Instruction", "TensorProduct", "FullyConnectedTensorProduct", "FullTensorProduct",
           "ElementwiseTensorProduct"]

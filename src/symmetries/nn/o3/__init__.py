"""Layers on features made of O(3) irreps (``"16x0e + 8x1o"``, e3nn 0.6 conventions): tensor
products, linear maps, gates and norms, radial bases, spherical harmonics, and the point
convolution and steerable linear map the message-passing models are built from."""

from symmetries.nn.o3 import tensor_product
from symmetries.nn.o3._checks import check_irreps_input
from symmetries.nn.o3._gate import Gate, Normalize2Mom, NormActivation, gate_for
from symmetries.nn.o3._linear import IrrepsLinear
from symmetries.nn.o3._norm import IrrepsBatchNorm, IrrepsLayerNorm
from symmetries.nn.o3._point_convolution import PointConvolution, channelwise_paths, hidden_irreps
from symmetries.nn.o3._radial import BesselBasis, PolynomialCutoff, RadialEmbedding
from symmetries.nn.o3._spherical_harmonics import SphericalHarmonics
from symmetries.nn.o3._steerable_linear import SteerableLinear
from symmetries.nn.o3.tensor_product import (ElementwiseTensorProduct, FullTensorProduct, FullyConnectedTensorProduct,
                                             Instruction, TensorProduct)

__all__ = ["tensor_product", "Instruction", "TensorProduct", "FullyConnectedTensorProduct", "FullTensorProduct",
           "ElementwiseTensorProduct", "IrrepsLinear", "Gate", "NormActivation", "IrrepsBatchNorm", "IrrepsLayerNorm",
           "BesselBasis", "PolynomialCutoff", "RadialEmbedding", "SphericalHarmonics", "PointConvolution", "SteerableLinear",
           "hidden_irreps", "channelwise_paths", "gate_for", "Normalize2Mom", "check_irreps_input"]

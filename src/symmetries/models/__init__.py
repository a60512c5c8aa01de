"""Whole models built from :mod:`symmetries.nn`: the NequIP-style interatomic potential and its
training, the steerable message-passing networks TFN, SE(3)-Transformer and SEGNN, and the
models of the charged n-body task."""

from symmetries.models._batch import AtomsBatch, AtomsGraphs
from symmetries.models._nbody import (NBodyEGNN, NBodyGNN, NBodyLinear, NBodyMLP, NBodyRadialField, NBodySEGNN,
                                      NBodyTFN)
from symmetries.models._nequip import NequIP
from symmetries.models._potential import Potential
from symmetries.models._se3_transformer import SE3Transformer, SE3TransformerLayer
from symmetries.models._segnn import SEGNN, SEGNNLayer
from symmetries.models._tfn import TFN, TFNLayer
from symmetries.models._training import evaluate_potential, potential_loss, train_potential

__all__ = ["Potential", "NequIP", "AtomsBatch", "AtomsGraphs", "train_potential", "evaluate_potential", "potential_loss",
           "TFN", "TFNLayer", "SE3Transformer", "SE3TransformerLayer", "SEGNN", "SEGNNLayer",
           "NBodyEGNN", "NBodyRadialField", "NBodyTFN", "NBodySEGNN", "NBodyGNN", "NBodyMLP", "NBodyLinear",
           "PotentialCalculator"]


def __getattr__(name):
    # the ase calculator imports ase, an optional dependency: load it on first use
    if name == "PotentialCalculator":
        from symmetries.models._calculator import PotentialCalculator

        return PotentialCalculator
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

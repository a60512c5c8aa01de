"""Layers on sets, ``(B, N, C)`` with an optional padding mask: permutation-equivariant and
invariant DeepSets, every linear map commuting with S_n on tensors of a set, and attention
without positions."""

from symmetries.nn.sets._attention import AttentionPooling, InducedSetAttention, MultiheadAttentionBlock, SetAttention
from symmetries.nn.sets._deepsets import DeepSets, DeepSetsLayer, EquivariantDeepSets, check_set, set_pool
from symmetries.nn.sets._permutation_linear import PermutationLinear, set_partitions

__all__ = ["DeepSets", "DeepSetsLayer", "EquivariantDeepSets", "check_set", "set_pool", "PermutationLinear",
           "set_partitions", "AttentionPooling", "InducedSetAttention", "MultiheadAttentionBlock", "SetAttention"]

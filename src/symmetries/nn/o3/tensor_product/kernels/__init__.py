"""The loops that run a tensor product: PyTorch reference, generated numba loops (CPU) and
Triton kernels (CUDA)."""

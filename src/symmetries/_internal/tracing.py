"""Whether code runs under a tracer, where value checks that synchronize with the device are skipped."""

from __future__ import annotations

import torch


def is_compiling() -> bool:
    """``True`` under ``torch.compile`` or CUDA-graph capture, where value checks (which
    synchronize with the device) are skipped."""
    if torch.compiler.is_compiling():
        return True
    return torch.cuda.is_available() and torch.cuda.is_current_stream_capturing()

"""Training with symmetry: augmentation, group / frame averaging, canonicalization, soft penalties.

All of them take Actions (or Reps), so they work for every kind of data the library has.
"""

from symmetries.symmetrize._augment import Augment
from symmetries.symmetrize._average import GroupAveraging
from symmetries.symmetrize._canonical import Canonicalization, OrthogonalCanonicalizer, PointCloudCanonicalizer, orthogonalize
from symmetries.symmetrize._frames import FrameAveraging, pca_frames
from symmetries.symmetrize._image_canonical import ImageCanonicalizer
from symmetries.symmetrize._soft import equivariance_penalty

__all__ = ["Augment", "GroupAveraging", "FrameAveraging", "pca_frames", "Canonicalization",
           "OrthogonalCanonicalizer", "PointCloudCanonicalizer", "ImageCanonicalizer", "orthogonalize", "equivariance_penalty"]

"""Actions: how group elements move vectors, images, point clouds, graphs and lattices."""

from ._action import Action, TrivialAction, VectorAction, as_action, invariant

# (issue 4) images
from ._image import ImageAction, disk_mask, planar_angle, rotate_image, rotate_images

# (issue 5) point clouds, sets and graphs
from ._pointcloud import Euclidean, PointCloudAction
from ._graph import GraphPermutation, SetPermutation

__all__ = ["Action", "TrivialAction", "VectorAction", "as_action", "invariant"]
__all__ += ["ImageAction", "rotate_image", "rotate_images", "planar_angle", "disk_mask"]  # (issue 4)
__all__ += ["Euclidean", "PointCloudAction", "SetPermutation", "GraphPermutation"]  # (issue 5)

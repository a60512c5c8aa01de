"""Actions: how group elements move vectors, images, point clouds, graphs and lattices."""

from ._action import Action, TrivialAction, VectorAction, as_action, invariant

# (issue 4) images
from ._image import ImageAction, disk_mask, planar_angle, rotate_image, rotate_images

__all__ = ["Action", "TrivialAction", "VectorAction", "as_action", "invariant"]
__all__ += ["ImageAction", "rotate_image", "rotate_images", "planar_angle", "disk_mask"]  # (issue 4)

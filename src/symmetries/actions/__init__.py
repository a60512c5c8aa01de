"""Actions: how group elements move vectors, images, point clouds, graphs and lattices."""

from symmetries.actions._action import Action, TrivialAction, VectorAction, as_action, invariant
from symmetries.actions._graph import GraphPermutation, SetPermutation
from symmetries.actions._image import ImageAction, disk_mask, is_planar_group, planar_angle, rotate_image, rotate_images
from symmetries.actions._pointcloud import PointCloudAction
from symmetries.actions._product import ProductAction

__all__ = ["Action", "TrivialAction", "VectorAction", "as_action", "invariant", "ImageAction", "rotate_image",
           "rotate_images", "planar_angle", "is_planar_group", "disk_mask", "PointCloudAction", "ProductAction",
           "SetPermutation", "GraphPermutation"]

"""Actions: how group elements move vectors, images, point clouds, graphs and lattices."""

from symmetries.actions._action import Action, TrivialAction, VectorAction, as_action, invariant
from symmetries.actions._graph import GraphPermutation, SetPermutation
from symmetries.actions._image import ImageAction, disk_mask, is_planar_group, planar_angle, rotate_image, rotate_images
from symmetries.actions._pointcloud import PointCloudAction
from symmetries.actions._product import ProductAction
from symmetries.actions._lattice import GaugeAction, LatticeTranslation, translation_group
from symmetries.actions._wilson import (check_links, plaquettes, polyakov_loops, topological_charge, wilson_loop_matrices,
                                        wilson_loops)

__all__ = ["Action", "TrivialAction", "VectorAction", "as_action", "invariant", "ImageAction", "rotate_image",
           "rotate_images", "planar_angle", "is_planar_group", "disk_mask", "PointCloudAction", "ProductAction",
           "SetPermutation", "GraphPermutation", "GaugeAction", "LatticeTranslation", "translation_group",
           "check_links", "plaquettes", "wilson_loops", "wilson_loop_matrices", "polyakov_loops", "topological_charge"]

"""Small pieces of 3D geometry shared by the MediaPipe adapter and the signals."""

from __future__ import annotations

import math

import numpy as np

from analyzer.types import Camera, DoubleArray, Region


def rotation_between(a: DoubleArray, b: DoubleArray) -> DoubleArray:
    """The smallest rotation that turns unit vector ``a`` into unit vector ``b``."""
    v = np.cross(a, b)
    c = float(np.dot(a, b))
    s = float(np.linalg.norm(v))
    if s < 1e-12:
        return np.eye(3) if c > 0 else -np.eye(3)
    k = np.array([[0, -v[2], v[1]], [v[2], 0, -v[0]], [-v[1], v[0], 0]], dtype=np.float64)
    out: DoubleArray = np.eye(3) + k + k @ k * ((1 - c) / (s * s))
    return out


def camera_for(region: Region, vertical_fov_deg: float) -> Camera:
    """The pinhole camera MediaPipe's face geometry assumes for an image of this region."""
    focal = (region.height / 2.0) / math.tan(math.radians(vertical_fov_deg) / 2.0)
    return Camera(center_xy=region.center_xy, focal_px=focal)


def onto_line_of_sight(camera: Camera, xy: tuple[float, float], view: DoubleArray) -> DoubleArray:
    """A direction given relative to the line of sight to image point ``xy`` (``view``: z
    toward the viewer along that line) turned into camera space."""
    toward = -camera.ray(*xy)
    out: DoubleArray = rotation_between(np.array([0.0, 0.0, 1.0]), toward) @ view
    return out


def point_at_depth(camera: Camera, xy: tuple[float, float], depth_cm: float) -> DoubleArray:
    """The point in camera space seen at image point ``xy``, ``depth_cm`` from the camera."""
    ray = camera.ray(*xy)
    out: DoubleArray = ray * (depth_cm / max(-float(ray[2]), 1e-6))
    return out


def angle_between_deg(u: DoubleArray, v: DoubleArray) -> float:
    """The angle between two vectors (any lengths), in degrees."""
    cos = float(np.dot(u, v) / max(float(np.linalg.norm(u) * np.linalg.norm(v)), 1e-12))
    return math.degrees(math.acos(max(-1.0, min(1.0, cos))))

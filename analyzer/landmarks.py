"""The one module that talks to MediaPipe. It returns our own types from ``analyzer.types``.

``SceneLandmarker`` runs the Face Landmarker (blendshapes and facial transformation matrix on) and
the Pose Landmarker on each region of a frame (the whole frame, or each tile of a video-call
gallery), in VIDEO running mode for video so that MediaPipe tracks between frames. Faces too small
for the face detector are looked for again in a crop around the head the pose model found.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from types import TracebackType
from typing import Any

import cv2
import numpy as np

from analyzer.config import AnalyzerConfig
from analyzer.errors import ModelError
from analyzer.geometry import camera_for, rotation_between
from analyzer.models import ModelPaths
from analyzer.types import (
    Camera,
    DoubleArray,
    FaceObservation,
    FloatArray,
    Frame,
    FrameObservation,
    ImageArray,
    PoseObservation,
    Region,
)

# Pose landmark indices (MediaPipe BlazePose topology).
POSE_NOSE = 0
POSE_LEFT_EYE = 2
POSE_RIGHT_EYE = 5
POSE_LEFT_EAR = 7
POSE_RIGHT_EAR = 8
POSE_LEFT_SHOULDER = 11
POSE_RIGHT_SHOULDER = 12

CROP_SIZE_PX = 256

# The face's outline in the 478-point mesh, in order (MediaPipe's FACE_LANDMARKS_FACE_OVAL).
FACE_OVAL: tuple[int, ...] = (
    10,
    338,
    297,
    332,
    284,
    251,
    389,
    356,
    454,
    323,
    361,
    288,
    397,
    365,
    379,
    378,
    400,
    377,
    152,
    148,
    176,
    149,
    150,
    136,
    172,
    58,
    132,
    93,
    234,
    127,
    162,
    21,
    54,
    103,
    67,
    109,
)

# MediaPipe's facial transformation matrix is mostly the face's orientation relative to the line
# of sight (what the picture shows), plus a fixed share of the angle between that line and the
# camera axis under its assumed 63-degree camera. Measured by moving the same face around a large
# empty frame (a one-off measurement; tests/test_gaze.py checks the correction): 24% of the
# horizontal angle and 32% of the vertical one. We remove that share so
# ``FaceObservation.rotation`` is view-relative.
RAY_SHARE_YAW = 0.24
RAY_SHARE_PITCH = 0.32


def _orthonormal(m: DoubleArray) -> DoubleArray:
    u, _, vt = np.linalg.svd(m)
    r: DoubleArray = u @ vt
    if np.linalg.det(r) < 0:
        u[:, -1] *= -1
        r = u @ vt
    return r


def _eyes_mid(xy: FloatArray) -> tuple[float, float]:
    return (float(xy[168, 0]), float(xy[168, 1]))


def view_relative(
    rotation: DoubleArray, camera: Camera, face_xy: tuple[float, float]
) -> DoubleArray:
    """Remove the share of the line-of-sight angle that MediaPipe folds into its rotation."""
    toward = -camera.ray(*face_xy)  # from the face to the camera
    yaw = math.atan2(toward[0], toward[2]) * RAY_SHARE_YAW
    pitch = math.atan2(toward[1], math.hypot(toward[0], toward[2])) * RAY_SHARE_PITCH
    partial = np.array(
        [math.sin(yaw) * math.cos(pitch), math.sin(pitch), math.cos(yaw) * math.cos(pitch)]
    )
    out: DoubleArray = rotation_between(np.array([0.0, 0.0, 1.0]), partial).T @ rotation
    return out


@dataclass(frozen=True)
class LandmarkerOptions:
    """How to build a ``SceneLandmarker`` (in the manner of MediaPipe's own ``*Options``): the
    model files, the running mode, how many people to look for in each region, and the camera
    model the face geometry assumes."""

    models: ModelPaths
    video: bool = True  # VIDEO mode: tracking between frames; else IMAGE mode
    people_per_region: int = 1  # faces and bodies looked for in each region
    vertical_fov_deg: float = 63.0
    min_face_confidence: float = 0.5
    min_pose_confidence: float = 0.5

    @classmethod
    def for_analysis(
        cls, models: ModelPaths, cfg: AnalyzerConfig, *, video: bool, people_per_region: int
    ) -> LandmarkerOptions:
        """The options an analysis with ``cfg`` runs the models with."""
        return cls(
            models=models,
            video=video,
            people_per_region=people_per_region,
            vertical_fov_deg=cfg.gaze.camera_vertical_fov_deg,
        )


class SceneLandmarker:
    """Face and pose landmarks for every region of a frame. Use as a context manager.

    In VIDEO mode each region has its own pair of landmarkers (MediaPipe tracks a face from one
    frame to the next, so one stream per camera picture); ``use`` switches to another set of
    regions when the layout of a recording changes, keeping landmarkers of recent regions for
    when a layout comes back (at most ``POOL_SIZE`` pairs). In IMAGE mode one pair serves every
    region."""

    POOL_SIZE = 8

    def __init__(self, options: LandmarkerOptions, regions: tuple[Region, ...]) -> None:
        from mediapipe.tasks.python import BaseOptions, vision

        self._vision = vision
        self._base_options = BaseOptions
        self.options = options
        self._models = options.models
        self.video = options.video
        self.fov_deg = options.vertical_fov_deg
        self._mode = vision.RunningMode.VIDEO if options.video else vision.RunningMode.IMAGE
        self._min_face_confidence = options.min_face_confidence
        self._min_pose_confidence = options.min_pose_confidence
        self._pool: OrderedDict[tuple[Region | None, int, int], tuple[Any, Any]] = OrderedDict()
        self._crop_face: Any = None
        self._face_model = options.models.face
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="pose")
        self._last_pose: Future[list[PoseObservation]] | None = None
        self.regions: tuple[Region, ...] = ()
        self._counts = (options.people_per_region, options.people_per_region)
        try:
            self.use(regions)
        except BaseException:
            self.close()
            raise

    def use(
        self,
        regions: tuple[Region, ...],
        faces_per_region: int | None = None,
        poses_per_region: int | None = None,
    ) -> None:
        """Look in these regions from now on (with up to this many faces and bodies in each)."""
        faces = self._counts[0] if faces_per_region is None else faces_per_region
        poses = self._counts[1] if poses_per_region is None else poses_per_region
        self._counts = (faces, poses)
        self.regions = regions
        for region in regions:
            self._tasks(region)

    def _key(self, region: Region) -> tuple[Region | None, int, int]:
        return (region if self.video else None, *self._counts)

    def _tasks(self, region: Region) -> tuple[Any, Any]:
        key = self._key(region)
        if key in self._pool:
            self._pool.move_to_end(key)
            return self._pool[key]
        vision, base = self._vision, self._base_options
        try:
            face = vision.FaceLandmarker.create_from_options(
                vision.FaceLandmarkerOptions(
                    base_options=base(model_asset_path=str(self._models.face)),
                    running_mode=self._mode,
                    num_faces=self._counts[0],
                    min_face_detection_confidence=self._min_face_confidence,
                    min_face_presence_confidence=self._min_face_confidence,
                    output_face_blendshapes=True,
                    output_facial_transformation_matrixes=True,
                )
            )
            try:
                pose = vision.PoseLandmarker.create_from_options(
                    vision.PoseLandmarkerOptions(
                        base_options=base(model_asset_path=str(self._models.pose)),
                        running_mode=self._mode,
                        num_poses=self._counts[1],
                        min_pose_detection_confidence=self._min_pose_confidence,
                        min_pose_presence_confidence=self._min_pose_confidence,
                    )
                )
            except BaseException:
                face.close()
                raise
        except (RuntimeError, ValueError, OSError) as e:
            raise ModelError(
                f"cannot load MediaPipe models from {self._models.face.parent}: {e}"
            ) from e
        self._pool[key] = (face, pose)
        self._evict()
        return face, pose

    @property
    def faces_per_region(self) -> int:
        return self._counts[0]

    def reset(self, region: Region) -> None:
        """Forget what the models followed in ``region`` (its picture changed at a cut: a
        camera turned off, tiles swapped). In VIDEO mode the face model would otherwise keep
        a face where there is none for a frame or two."""
        if not self.video:
            return
        key = self._key(region)
        if key in self._pool:
            if self._last_pose is not None:
                self._last_pose.result()  # the pose thread may still use this region's model
            for task in self._pool.pop(key):
                task.close()

    def _evict(self) -> None:
        in_use = {self._key(r) for r in self.regions}
        stale = [k for k in self._pool if k not in in_use]
        while len(self._pool) > self.POOL_SIZE and stale:
            if self._last_pose is not None:
                self._last_pose.result()  # the pose thread may still use an old region's model
            for task in self._pool.pop(stale.pop(0)):
                task.close()

    # -- lifecycle ---------------------------------------------------------------------------
    def close(self) -> None:
        self._executor.shutdown(wait=True)
        for pair in self._pool.values():
            for task in pair:
                task.close()
        self._pool.clear()
        if self._crop_face is not None:
            self._crop_face.close()
        self._crop_face = None

    def __enter__(self) -> SceneLandmarker:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- per frame ---------------------------------------------------------------------------
    def observe(self, frame: Frame) -> FrameObservation:
        """Faces and bodies in every region of ``frame``, waiting for both."""
        pose_future = self.submit_poses(frame)
        faces = self.detect_faces(frame)
        return FrameObservation(
            index=frame.index,
            timestamp_ms=frame.timestamp_ms,
            faces=faces,
            poses=tuple(pose_future.result()),
        )

    def detect_faces(self, frame: Frame) -> tuple[FaceObservation, ...]:
        """Faces in every region of ``frame`` (on the calling thread)."""
        faces: list[FaceObservation] = []
        for region in self.regions:
            task = self._tasks(region)[0]
            image = _mp_image(frame.rgb, region)
            if self.video:
                result = task.detect_for_video(image, frame.timestamp_ms)
            else:
                result = task.detect(image)
            faces.extend(self._faces_from_result(result, region, camera_for(region, self.fov_deg)))
        return tuple(faces)

    def submit_poses(self, frame: Frame) -> Future[list[PoseObservation]]:
        """Start the body model on ``frame`` in the background (it overlaps with the faces).
        Calls must come in time order; one at a time is kept by the single worker thread."""
        jobs = [(region, self._tasks(region)[1]) for region in self.regions]
        self._last_pose = self._executor.submit(
            self._detect_poses, jobs, frame.rgb, frame.timestamp_ms
        )
        return self._last_pose

    def _detect_poses(
        self, jobs: list[tuple[Region, Any]], rgb: ImageArray, timestamp_ms: int
    ) -> list[PoseObservation]:
        out: list[PoseObservation] = []
        for region, task in jobs:
            image = _mp_image(rgb, region)
            if self.video:
                result = task.detect_for_video(image, timestamp_ms)
            else:
                result = task.detect(image)
            out.extend(_poses_from_result(result, region))
        return out

    def _faces_from_result(
        self, result: Any, region: Region, camera: Camera, *, crop: Region | None = None
    ) -> list[FaceObservation]:
        faces = []
        for k, lms in enumerate(result.face_landmarks):
            if k >= len(result.facial_transformation_matrixes) or k >= len(result.face_blendshapes):
                continue
            src = crop if crop is not None else region
            xyz = np.array([[p.x, p.y, p.z] for p in lms], dtype=np.float32)
            if xyz.shape[0] != 478:
                continue
            xy = np.ascontiguousarray(xyz[:, :2])
            xy[:, 0] = xy[:, 0] * src.width + src.x
            xy[:, 1] = xy[:, 1] * src.height + src.y
            z = -xyz[:, 2] * src.width  # MediaPipe: z in x's scale, smaller toward the camera
            rot = _orthonormal(np.asarray(result.facial_transformation_matrixes[k])[:3, :3])
            if crop is None:
                # A crop is centred on the head, so its line of sight is its axis: nothing to undo.
                rot = view_relative(rot, camera, _eyes_mid(xy))
            blend = {c.category_name: float(c.score) for c in result.face_blendshapes[k]}
            faces.append(
                FaceObservation(
                    landmarks_xy=xy,
                    blendshapes=blend,
                    rotation=rot,
                    camera=camera,
                    region=region,
                    from_crop=crop is not None,
                    landmarks_z=z,
                )
            )
        return faces

    def faces_in_crop(self, rgb: ImageArray, box: Region, region: Region) -> list[FaceObservation]:
        """Run the face model (image mode) on ``box``, enlarged; results in ``region``'s camera."""
        import mediapipe as mp

        if self._crop_face is None:
            from mediapipe.tasks.python import BaseOptions

            v = self._vision
            self._crop_face = v.FaceLandmarker.create_from_options(
                v.FaceLandmarkerOptions(
                    base_options=BaseOptions(model_asset_path=str(self._face_model)),
                    running_mode=v.RunningMode.IMAGE,
                    num_faces=1,
                    min_face_detection_confidence=self._min_face_confidence,
                    min_face_presence_confidence=self._min_face_confidence,
                    output_face_blendshapes=True,
                    output_facial_transformation_matrixes=True,
                )
            )
        patch = cv2.resize(
            rgb[box.y : box.y + box.height, box.x : box.x + box.width],
            (CROP_SIZE_PX, CROP_SIZE_PX),
            interpolation=cv2.INTER_CUBIC if box.width < CROP_SIZE_PX else cv2.INTER_AREA,
        )
        result = self._crop_face.detect(mp.Image(image_format=mp.ImageFormat.SRGB, data=patch))
        return self._faces_from_result(result, region, camera_for(region, self.fov_deg), crop=box)


def head_crop_box(pose: PoseObservation) -> Region | None:
    """A square around the head the pose model located, inside the pose's region, or None if the
    head is not in view. Used to look again for a face too small for the face detector."""
    head = [POSE_NOSE, POSE_LEFT_EYE, POSE_RIGHT_EYE, POSE_LEFT_EAR, POSE_RIGHT_EAR]
    if float(np.min(pose.presence[head[:3]])) < 0.5 or float(pose.visibility[POSE_NOSE]) < 0.5:
        return None
    pts = pose.landmarks_xy[head]
    span = float(np.max(pts[:, 0]) - np.min(pts[:, 0]))
    shoulders = pose.landmarks_xy[[POSE_LEFT_SHOULDER, POSE_RIGHT_SHOULDER]]
    shoulder_w = float(np.linalg.norm(shoulders[0] - shoulders[1]))
    r = pose.region
    side = round(min(max(span * 2.6, shoulder_w * 0.9), r.width, r.height))
    if side < 16:
        return None
    cx, cy = float(pts[:, 0].mean()), float(pts[:, 1].mean())
    x0 = round(min(max(cx - side / 2, r.x), r.x + r.width - side))
    y0 = round(min(max(cy - side / 2, r.y), r.y + r.height - side))
    return Region(x=x0, y=y0, width=side, height=side)


def _mp_image(rgb: ImageArray, r: Region) -> Any:
    import mediapipe as mp

    return mp.Image(image_format=mp.ImageFormat.SRGB, data=_crop(rgb, r))


def _crop(rgb: ImageArray, r: Region) -> ImageArray:
    if r.x == 0 and r.y == 0 and r.width == rgb.shape[1] and r.height == rgb.shape[0]:
        return rgb if rgb.flags.c_contiguous else np.ascontiguousarray(rgb)
    return np.ascontiguousarray(rgb[r.y : r.y + r.height, r.x : r.x + r.width])


def _poses_from_result(result: Any, region: Region) -> list[PoseObservation]:
    out = []
    worlds = getattr(result, "pose_world_landmarks", None) or []
    for k, lms in enumerate(result.pose_landmarks):
        if len(lms) != 33:
            continue
        xy = np.array(
            [[p.x * region.width + region.x, p.y * region.height + region.y] for p in lms],
            dtype=np.float32,
        )
        vis = np.array(
            [p.visibility if p.visibility is not None else 0.0 for p in lms], dtype=np.float32
        )
        pres = np.array(
            [p.presence if p.presence is not None else 0.0 for p in lms], dtype=np.float32
        )
        if k < len(worlds) and len(worlds[k]) == 33:
            world = np.array([[p.x, -p.y, -p.z] for p in worlds[k]], dtype=np.float32)
        else:
            world = np.full((33, 3), np.nan, dtype=np.float32)
        out.append(
            PoseObservation(
                landmarks_xy=xy, visibility=vis, presence=pres, world_xyz=world, region=region
            )
        )
    return out


def mediapipe_version() -> str:
    import mediapipe as mp

    return str(getattr(mp, "__version__", "unknown"))

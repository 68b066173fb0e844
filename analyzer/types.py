"""Frozen data types passed between the stages of the pipeline.

Coordinates: image points are pixels of the full (rotation-corrected) frame, ``x`` to the right
and ``y`` down. Camera-space vectors use MediaPipe's camera frame: ``x`` to the image right, ``y``
up, ``z`` toward the viewer (the camera looks along ``-z``). Angles are degrees. A value that could
not be measured is ``None``, never 0.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from analyzer.config import AnalyzerConfig, Layout

FloatArray = npt.NDArray[np.float32]
DoubleArray = npt.NDArray[np.float64]
ImageArray = npt.NDArray[np.uint8]


class SourceKind(str, enum.Enum):
    VIDEO = "video"
    IMAGE = "image"
    CAMERA = "camera"


@dataclass(frozen=True)
class VideoInfo:
    """What the input is, after rotation metadata has been applied to ``width``/``height``."""

    name: str
    kind: SourceKind
    width: int
    height: int
    fps: float | None
    duration_s: float | None
    rotation_deg: int = 0


@dataclass(frozen=True)
class Frame:
    """One decoded frame in RGB, with its presentation time from the container. ``index`` counts
    decoded frames in order (a source may skip decoding frames nothing else depends on)."""

    index: int
    timestamp_ms: int
    rgb: ImageArray

    def __post_init__(self) -> None:
        if self.rgb.ndim != 3 or self.rgb.shape[2] != 3:
            raise ValueError(f"Frame.rgb must be HxWx3, got shape {self.rgb.shape}")


@dataclass(frozen=True)
class Region:
    """An axis-aligned rectangle of the frame in pixels: a gallery tile, a crop, or the frame."""

    x: int
    y: int
    width: int
    height: int

    def __post_init__(self) -> None:
        if self.width <= 0 or self.height <= 0:
            raise ValueError(f"Region must have a positive size, got {self.width}x{self.height}")

    @property
    def center_xy(self) -> tuple[float, float]:
        return (self.x + self.width / 2.0, self.y + self.height / 2.0)

    def contains(self, x: float, y: float) -> bool:
        return self.x <= x < self.x + self.width and self.y <= y < self.y + self.height


@dataclass(frozen=True)
class Camera:
    """A pinhole camera for one region: optical centre and focal length in frame pixels.

    For a gallery tile the camera is that tile's own webcam; for a plain video it is the frame's.
    """

    center_xy: tuple[float, float]
    focal_px: float

    def ray(self, x: float, y: float) -> DoubleArray:
        """Unit vector in camera space from the camera toward the image point ``(x, y)``."""
        v = np.array(
            [x - self.center_xy[0], -(y - self.center_xy[1]), -self.focal_px], dtype=np.float64
        )
        out: DoubleArray = v / np.linalg.norm(v)
        return out


@dataclass(frozen=True)
class FaceObservation:
    """One face found by the face landmarker, in our own types.

    ``landmarks_xy`` are 478 points in frame pixels (468 mesh points and 10 iris points).
    ``rotation`` is the head's orientation relative to the line of sight from its camera (3x3,
    orthonormal, columns = the face's own x/y/z axes): identity means the face points straight
    at the camera lens, wherever it is in the picture. ``camera`` is the pinhole model of the
    region the face was found in (the frame, or its gallery tile). ``landmarks_z`` is each
    point's depth in the same pixel units, larger toward the camera (MediaPipe's relative
    depth, sign turned): with it the points are a 3D face shape (``signals.expression``).
    """

    landmarks_xy: FloatArray
    blendshapes: Mapping[str, float]
    rotation: DoubleArray
    camera: Camera
    region: Region
    from_crop: bool = False
    landmarks_z: FloatArray | None = None

    def __post_init__(self) -> None:
        if self.landmarks_xy.shape != (478, 2):
            raise ValueError(f"landmarks_xy must be (478, 2), got {self.landmarks_xy.shape}")
        if self.landmarks_z is not None and self.landmarks_z.shape != (478,):
            raise ValueError(f"landmarks_z must be (478,), got {self.landmarks_z.shape}")
        if self.rotation.shape != (3, 3):
            raise ValueError(f"rotation must be 3x3, got {self.rotation.shape}")

    @property
    def bbox_xyxy(self) -> tuple[float, float, float, float]:
        x0, y0 = self.landmarks_xy.min(axis=0)
        x1, y1 = self.landmarks_xy.max(axis=0)
        return (float(x0), float(y0), float(x1), float(y1))

    @property
    def eyes_mid_xy(self) -> tuple[float, float]:
        """The point between the eyes (mesh point 168), where the gaze ray starts."""
        p = self.landmarks_xy[168]
        return (float(p[0]), float(p[1]))


@dataclass(frozen=True)
class PoseObservation:
    """One body found by the pose landmarker.

    ``landmarks_xy``: 33 points in frame pixels. ``visibility`` and ``presence``: 33 scores 0-1
    (``presence``: in the frame at all; ``visibility``: in the frame and not hidden).
    ``world_xyz``: 33 points in metres, hip-centred, ``x`` to the image right, ``y`` up,
    ``z`` toward the camera (converted from MediaPipe's y-down, z-away convention).
    """

    landmarks_xy: FloatArray
    visibility: FloatArray
    presence: FloatArray
    world_xyz: FloatArray
    region: Region

    def __post_init__(self) -> None:
        for name, arr, shape in (
            ("landmarks_xy", self.landmarks_xy, (33, 2)),
            ("visibility", self.visibility, (33,)),
            ("presence", self.presence, (33,)),
            ("world_xyz", self.world_xyz, (33, 3)),
        ):
            if arr.shape != shape:
                raise ValueError(f"PoseObservation.{name} must be {shape}, got {arr.shape}")


@dataclass(frozen=True)
class FrameObservation:
    """Everything the models found in one analyzed frame."""

    index: int
    timestamp_ms: int
    faces: tuple[FaceObservation, ...]
    poses: tuple[PoseObservation, ...]


@dataclass(frozen=True)
class PersonDetection:
    """A face and/or a body in one frame that belong to one person (either may be missing)."""

    face: FaceObservation | None
    pose: PoseObservation | None
    anchor_xy: tuple[float, float]
    region: Region
    appearance: FloatArray | None = None  # colour signature (people.appearance)


@dataclass(frozen=True)
class PersonSample:
    """One person at one analyzed instant. ``None`` means not measurable on this frame."""

    time_s: float
    face_visible: bool
    head_yaw_deg: float | None = None
    head_pitch_deg: float | None = None
    head_roll_deg: float | None = None
    gaze_yaw_deg: float | None = None
    gaze_pitch_deg: float | None = None
    eyes_closed: bool | None = None
    eye_contact: bool | None = None
    eye_contact_confidence: float | None = None  # of this frame's call, 0.5-1 (gaze.py)
    looking_down: bool | None = None
    arms_crossed: bool | None = None
    openness: float | None = None
    expressiveness: float | None = None
    smile: float | None = None
    anchor_xy: tuple[float, float] | None = None
    face_width_px: float | None = None
    on_screen: bool | None = None  # looking at the learned screen target (see attention.py)
    head_xyz_cm: tuple[float, float, float] | None = None  # in its camera's space
    gaze_xyz: tuple[float, float, float] | None = None  # unit vector, camera space
    # the head's horizontal direction from the body model (signals.facing), unit vector
    facing_xyz: tuple[float, float, float] | None = None


@dataclass(frozen=True)
class Episode:
    start_s: float
    end_s: float

    @property
    def duration_s(self) -> float:
        return self.end_s - self.start_s


@dataclass(frozen=True)
class Nod:
    """One nod: the head dips and comes back up. ``time_s`` is the lowest point."""

    time_s: float
    amplitude_deg: float


@dataclass(frozen=True)
class BoutStats:
    count: int
    median_s: float | None
    longest_s: float | None


@dataclass(frozen=True)
class EyeContactMetrics:
    ratio: float | None
    coverage: float
    bouts: BoutStats
    look_away_episodes: tuple[Episode, ...]
    staring_episodes: tuple[Episode, ...]
    close_calls: float | None = None  # share of measured frames called with confidence < 0.8


@dataclass(frozen=True)
class AttentionMetrics:
    """Looking at the learned screen target (usually the partner's face on screen)."""

    ratio: float | None
    coverage: float
    target_yaw_deg: float | None
    target_pitch_deg: float | None
    calibration_confidence: float | None
    same_as_camera: bool | None


@dataclass(frozen=True)
class PostureMetrics:
    arms_crossed_ratio: float | None
    openness: float | None
    coverage: float
    crossed_episodes: tuple[Episode, ...] = ()  # arms crossed at least episodes.arms_crossed_min_s


@dataclass(frozen=True)
class ExpressivenessMetrics:
    score: float | None
    smile_ratio: float | None
    coverage: float


@dataclass(frozen=True)
class HeadMetrics:
    nods: int | None
    nods_per_min: float | None
    coverage: float
    nod_list: tuple[Nod, ...] = ()  # each nod (when nods are measurable)


@dataclass(frozen=True)
class PresenceMetrics:
    face_visible_ratio: float
    eye_contact: EyeContactMetrics
    attention: AttentionMetrics
    posture: PostureMetrics
    expressiveness: ExpressivenessMetrics
    head: HeadMetrics
    looking_down_episodes: tuple[Episode, ...]


@dataclass(frozen=True)
class ScreenTarget:
    yaw_deg: float
    pitch_deg: float
    share: float  # share of the measured gaze within tolerance of the target
    confidence: float  # 0-1
    samples: int

    def is_camera(self, camera_tolerance_deg: float) -> bool:
        return math.hypot(self.yaw_deg, self.pitch_deg) <= camera_tolerance_deg


class Position(str, enum.Enum):
    LEFT = "left"
    RIGHT = "right"
    TOP = "top"
    BOTTOM = "bottom"
    CENTER = "center"
    INSET = "inset"  # the small picture of a speaker view


@dataclass(frozen=True)
class LayoutSpan:
    """A stretch of a recording with one arrangement of camera pictures (a call can change
    from gallery to speaker view and back): the pictures that hold people, analyzed each as
    its own camera, and what each is called."""

    start_s: float
    end_s: float | None  # None: to the end
    layout: Layout
    regions: tuple[Region, ...]
    positions: tuple[Position, ...]
    people_per_region: int = 1

    def __post_init__(self) -> None:
        if len(self.regions) != len(self.positions):
            raise ValueError("LayoutSpan needs one position per region")

    def position_of(self, region: Region) -> Position | None:
        for r, p in zip(self.regions, self.positions, strict=True):
            if r == region:
                return p
        return None


@dataclass(frozen=True)
class PersonTrack:
    """A person's samples over the session, under a stable id (1 = leftmost or topmost)."""

    id: int
    position: Position
    samples: tuple[PersonSample, ...]
    region: Region | None = None
    screen_target: ScreenTarget | None = None
    key: int = -1  # the tracker's internal key (links a track to per-frame records)


@dataclass(frozen=True)
class PersonReport:
    track: PersonTrack
    metrics: PresenceMetrics


@dataclass(frozen=True)
class Synchrony:
    score: float | None  # mean best-lag correlation over windows
    surrogate_mean: float | None
    chance_threshold: float | None  # the surrogates' chance_percentile
    above_chance: bool | None
    lead_lag_s: float | None  # > 0: person 1 leads
    windows: int


@dataclass(frozen=True)
class Mirroring:
    person_id: int
    smiles: int | None  # smiles this person started while the partner could be seen
    answered: int | None  # of those, answered by the partner within the window
    answered_by_chance: float | None  # how many a partner smiling at random times would answer


@dataclass(frozen=True)
class ConnectionMoment:
    start_s: float
    end_s: float
    score: float
    reasons: tuple[str, ...]


@dataclass(frozen=True)
class PartnerReport:
    ids: tuple[int, int]
    same_room: bool | None  # None: one room or a call could not be told
    looking_at_partner: tuple[float | None, float | None]  # per person, room only
    mutual_gaze_ratio: float | None
    mutual_gaze_coverage: float
    mutual_gaze_episodes: tuple[Episode, ...]
    head_synchrony: Synchrony
    expression_synchrony: Synchrony
    mirroring: tuple[Mirroring, Mirroring]
    moments: tuple[ConnectionMoment, ...]
    # per person, room only: of their measured looking at the other, the share judged from the
    # head's direction alone (face in profile or not found); None: not measured
    looking_from_head_direction: tuple[float | None, float | None] = (None, None)


@dataclass(frozen=True)
class AnalysisReport:
    video: VideoInfo
    frames_analyzed: int
    analysis_fps: float
    layout: str
    regions: tuple[Region, ...]
    people: tuple[PersonReport, ...]
    warnings: tuple[str, ...] = field(default_factory=tuple)
    config: AnalyzerConfig = field(default_factory=AnalyzerConfig)
    versions: Mapping[str, str] = field(default_factory=dict)
    partners: PartnerReport | None = None
    layout_spans: tuple[LayoutSpan, ...] = ()

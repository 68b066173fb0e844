"""Analysis options. Plain frozen dataclasses with defaults; nothing here reads the environment."""

from __future__ import annotations

import enum
from dataclasses import asdict, dataclass, field


class Layout(str, enum.Enum):
    """How people are arranged in the picture."""

    AUTO = "auto"
    SINGLE = "single"  # one camera: one or more people in one scene
    SIDE_BY_SIDE = "side-by-side"  # video-call gallery, two tiles left and right
    STACKED = "stacked"  # video-call gallery, two tiles top and bottom
    PIP = "pip"  # speaker view: one camera fills the picture, the other is a small inset
    GRID = "grid"  # video-call gallery of more than two tiles with people


@dataclass(frozen=True)
class GazeConfig:
    """Gaze settings. The eye-rotation parameters and the tolerance were chosen on the dev
    eye-contact labels with ``scripts/calibrate_gaze.py`` (see docs/accuracy.md): best Matthews
    correlation over a grid, and for the tolerance the smallest angle within 5% of the best."""

    # A gaze within this angle of the direction to the camera counts as eye contact.
    eye_contact_tolerance_deg: float = 16.0
    # Eye rotation from the irises: asin(gain * normalised iris offset) (eyeball model).
    iris_gain: float = 1.0
    # Normalised vertical iris offset of a level gaze (the iris sits a little above the corners).
    iris_vertical_bias: float = 0.1
    # Weight of the iris estimate against the eye-look blendshape estimate (0 = blendshapes only).
    iris_weight: float = 0.25
    # Eye rotation (deg) that an eye-look blendshape of 1.0 stands for.
    blendshape_full_scale_deg: float = 30.0
    # Both eyeBlink blendshapes above this: eyes closed, gaze not measurable.
    eyes_closed_threshold: float = 0.55
    # Gaze pitch below this (relative to the camera direction) counts as looking down.
    looking_down_pitch_deg: float = -25.0
    # Vertical field of view MediaPipe's face geometry assumes; we use the same camera model.
    camera_vertical_fov_deg: float = 63.0
    # One person's measured gaze pitch while looking into the lens (a calibration: presence
    # live --calibrate), taken off every gaze; 0: not calibrated. Only the vertical offset: on
    # the dev labels, offsets placed from each person's other contact frames (an optimistic
    # estimate, ~8 clips) lift eye contact's MCC from 0.73 to 0.84 vertically, and only to 0.76
    # both ways (eval/oracle_calibration.py; docs/accuracy.md).
    calibration_pitch_deg: float = 0.0
    # The gaze's error on one frame (one standard deviation, degrees), for each frame's
    # confidence in its eye-contact call: fitted on the dev eye-contact labels (the best
    # likelihood of the raters' calls given the measured angle, eval/fit_gaze_error.py: 5 deg;
    # 4 and 6 are close). A one-dimensional model of the angle to the lens: an approximation.
    gaze_error_deg: float = 5.0


@dataclass(frozen=True)
class PostureConfig:
    # Wrist/elbow presence below this: arms not measurable.
    min_arm_presence: float = 0.5
    min_shoulder_visibility: float = 0.5


@dataclass(frozen=True)
class ExpressionConfig:
    # Per-person neutral face shape: this percentile of each coordinate over the session.
    baseline_percentile: float = 50.0
    # Deformation from the neutral (cm, beyond the dead zone) that maps to expressiveness
    # 1 - 1/e (about 0.63).
    scale: float = 1.5
    # Deformation within this of neutral (cm) is jitter of a face at rest, not expression.
    dead_zone: float = 0.5
    smile_threshold: float = 0.5
    # The neutral face is learned from the session; with less face time than this (a still image,
    # a clip of a second) expressiveness is not measurable.
    min_baseline_s: float = 3.0


@dataclass(frozen=True)
class EpisodeConfig:
    look_away_min_s: float = 2.0
    staring_min_s: float = 8.0
    looking_down_min_s: float = 1.0
    arms_crossed_min_s: float = 1.0
    # Unmeasured gaps (a blink, a lost frame) up to this long do not break a bout or an episode.
    bridge_gap_s: float = 0.5
    # Minimum pitch swing (deg) of a nod, and the longest a single nod may take. 10 deg: chosen
    # on the dev clip-persons of the rated nods (eval/score_nods.py): at 4 deg the head's
    # frame-to-frame pitch jitter while talking (5-8 deg) gave 9 false nods a minute on clips
    # no rater saw a nod in; at 10, 0.5 a minute, every consensus nod still found.
    nod_min_amplitude_deg: float = 10.0
    nod_max_duration_s: float = 1.5
    # Nods are not counted from less head-pose time than this (a still image has none).
    nod_min_measured_s: float = 2.0


@dataclass(frozen=True)
class SmoothingConfig:
    # Majority vote over this window (centred): removes one-frame flips, keeps 0.5 s glances.
    gaze_window_s: float = 0.3
    posture_window_s: float = 1.0


@dataclass(frozen=True)
class AttentionConfig:
    # Gaze within this angle of the learned screen target counts as attention to the partner.
    tolerance_deg: float = 12.0


@dataclass(frozen=True)
class PartnerConfig:
    # A gaze ray within this angle of the partner's head counts as looking at them.
    partner_tolerance_deg: float = 12.0
    # Beyond this head turn the face model's head pose flattens (a head turned ~75° reads
    # 50-68°), and the body model's head direction is used where there is one (signals.facing).
    profile_yaw_deg: float = 45.0
    # Where only the head's direction is known (signals.facing: a face in profile or not found),
    # its horizontal direction within this angle of the partner's head counts. Chosen before
    # any one-room label was scored: the eyes turn up to 20-30° from the head before the head
    # follows; not tuned (no one-room set is large enough to tune on).
    body_tolerance_deg: float = 25.0
    # How far a head is from the camera is known only roughly (from the face's height or the
    # body's size in the picture against an average person's; on the talking clips the body's
    # and the face's estimates of one head differ by per-clip medians of 0-26%:
    # eval/facing_check.py). A head seen only by the body model and turned toward the other
    # (see partners.looking_at) is judged toward the nearest of the other head's places within
    # this share of its distance. A choice, not a fitted value.
    depth_uncertainty_share: float = 0.2
    # Synchrony: windows of this length, stepped by this much, lags up to max_lag_s either way.
    sync_window_s: float = 5.0
    sync_step_s: float = 1.0
    max_lag_s: float = 2.5
    surrogates: int = 200
    # Synchrony is "above chance" when stronger than this percentile of the surrogate pairs.
    # 99, not 95: on independent synthetic signals a 95th-percentile rule called 9-13% of
    # pairs in sync (the shuffled pairs' seams make them a little less correlated than real
    # recordings); see tests/test_partners.py.
    chance_percentile: float = 99.0
    # A smile answered by the partner's smile within this time is mirrored.
    mirror_window_s: float = 3.0
    # Mutual-gaze episodes and moments of connection at least this long.
    min_moment_s: float = 1.0


@dataclass(frozen=True)
class LiveConfig:
    """Live practice (the desktop overlay and the browser page). A live session analyses every
    frame it can; its numbers are finished as in batch analysis (analyzer.tracks)."""

    # "You've looked away for a while" after this long without eye contact.
    away_cue_s: float = 5.0
    # "Soften your gaze for a moment" after holding eye contact this long.
    soften_gaze_after_s: float = 10.0
    # The end-of-session report keeps frames at most at this rate and for at most this long, so
    # a session's memory does not grow with its length (the overlay keeps working after that).
    report_fps: float = 10.0
    max_report_s: float = 2 * 3600.0
    # Running numbers are kept for at most this many people (the least recently seen go).
    max_people: int = 8


@dataclass(frozen=True)
class AnalyzerConfig:
    analysis_fps: float = 10.0
    # Upper bound on people per scene (per tile in a gallery). None: decided from a pre-scan.
    max_people: int | None = None
    # The pose model runs on every n-th analyzed frame; posture changes slowly, faces do not.
    pose_every_n: int = 3
    layout: Layout = Layout.AUTO
    # Tracks seen for less than this are dropped as spurious detections.
    min_track_s: float = 1.0
    gaze: GazeConfig = field(default_factory=GazeConfig)
    posture: PostureConfig = field(default_factory=PostureConfig)
    expression: ExpressionConfig = field(default_factory=ExpressionConfig)
    episodes: EpisodeConfig = field(default_factory=EpisodeConfig)
    smoothing: SmoothingConfig = field(default_factory=SmoothingConfig)
    attention: AttentionConfig = field(default_factory=AttentionConfig)
    partners: PartnerConfig = field(default_factory=PartnerConfig)
    live: LiveConfig = field(default_factory=LiveConfig)

    def __post_init__(self) -> None:
        if not 0.1 <= self.analysis_fps <= 120:
            raise ValueError(f"analysis_fps must be between 0.1 and 120, got {self.analysis_fps}")
        if self.max_people is not None and not 1 <= self.max_people <= 8:
            raise ValueError(f"max_people must be between 1 and 8, got {self.max_people}")
        if self.pose_every_n < 1:
            raise ValueError(f"pose_every_n must be at least 1, got {self.pose_every_n}")

    def as_dict(self) -> dict[str, object]:
        d = asdict(self)
        d["layout"] = self.layout.value
        return d

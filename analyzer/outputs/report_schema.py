"""The versioned ``report.json`` schema, as pydantic models (the API serves the same models).

The JSON Schema generated from ``Report`` is committed as ``docs/report.schema.json``; the field
meanings are in ``docs/report.md``. Bump ``SCHEMA_VERSION`` on any change a reader would notice:
the minor number for added fields, the major number for renamed or removed ones.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

SCHEMA_VERSION = "1.4"
# Versions a reader of this code accepts (minor versions only add fields, which default).
READABLE_VERSIONS = ("1.1", "1.2", "1.3", "1.4")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class EpisodeModel(_Model):
    start_s: float = Field(description="Start, seconds from the beginning of the video.")
    end_s: float = Field(description="End, seconds from the beginning of the video.")
    duration_s: float

    @field_validator("duration_s")
    @classmethod
    def _to_the_millisecond(cls, v: float) -> float:
        return round(v, 3)


class BoutsModel(_Model):
    count: int = Field(description="Unbroken spans of eye contact (blinks do not break a span).")
    median_s: float | None
    longest_s: float | None


class EyeContactModel(_Model):
    ratio: float | None = Field(
        description="Share of measured time spent looking into the camera; null if never measured."
    )
    coverage: float = Field(
        description="Share of the session where eye contact could be measured (face found, "
        "eyes open)."
    )
    bouts: BoutsModel
    look_away_episodes: list[EpisodeModel] = Field(
        description="Spans of looking away from the camera lasting at least look_away_min_s."
    )
    staring_episodes: list[EpisodeModel] = Field(
        description="Unbroken eye contact lasting at least staring_min_s."
    )
    close_calls: float | None = Field(
        default=None,
        description="Share of the measured time whose eye-contact call was a close one "
        "(confidence under 0.8: the gaze within a few degrees of the tolerance; added in 1.4): "
        "moments that could go either way.",
    )


class AttentionModel(_Model):
    ratio: float | None = Field(
        description="Share of measured time looking at the learned screen target (usually the "
        "partner's face on the screen)."
    )
    coverage: float
    target_yaw_deg: float | None = Field(
        description="Where that target is, relative to the camera (yaw > 0: viewer's right)."
    )
    target_pitch_deg: float | None = Field(description="pitch > 0: above the camera.")
    calibration_confidence: float | None = Field(
        description="0-1: how clearly the gaze favoured one direction, and over how much time."
    )
    same_as_camera: bool | None = Field(
        description="The target is the camera itself: this person mostly looks into the lens."
    )


class PostureModel(_Model):
    arms_crossed_ratio: float | None
    openness: float | None = Field(description="Mean openness 0-1 over measured time.")
    coverage: float = Field(description="Share of the session where both arms were in view.")


class ExpressivenessModel(_Model):
    score: float | None = Field(
        description="Mean expressiveness 0-1 relative to this person's own neutral face."
    )
    smile_ratio: float | None
    coverage: float


class HeadModel(_Model):
    nods: int | None
    nods_per_min: float | None = Field(description="Nods per minute of time the head was measured.")
    coverage: float


class TileModel(_Model):
    x: int
    y: int
    width: int
    height: int


class PersonModel(_Model):
    id: int = Field(
        description="1 for the leftmost (or topmost) person, then onward; in speaker view the "
        "main picture's people come before the inset's."
    )
    position: PositionName
    tile: TileModel | None = Field(description="The gallery tile this person is in, if any.")
    face_visible_ratio: float
    eye_contact: EyeContactModel
    attention: AttentionModel
    posture: PostureModel
    expressiveness: ExpressivenessModel
    head: HeadModel
    looking_down_episodes: list[EpisodeModel]


class VideoModel(_Model):
    name: str = Field(description="File name of the input (no folder).")
    kind: Literal["video", "image", "camera"]
    duration_s: float | None
    fps: float | None = Field(description="The container's average frame rate.")
    width: int
    height: int
    rotation_deg: int = Field(description="Display rotation applied from the file's metadata.")
    frames_analyzed: int
    analysis_fps: float


LayoutKind = Literal["single", "side-by-side", "stacked", "pip", "grid"]
PositionName = Literal["left", "right", "top", "bottom", "center", "inset"]


class LayoutSpanModel(_Model):
    start_s: float
    end_s: float | None = Field(description="Null: to the end of the recording.")
    kind: LayoutKind
    tiles: list[TileModel] = Field(
        description="The camera pictures analyzed in this span (those with people)."
    )
    positions: list[PositionName] = Field(description="What each of those tiles is called.")


class LayoutModel(_Model):
    kind: LayoutKind = Field(
        description="The arrangement seen longest: one picture (single), a two-tile gallery "
        "(side-by-side, stacked), a speaker view with a small inset (pip), or a gallery of more "
        "tiles (grid)."
    )
    tiles: list[TileModel] = Field(description="The analyzed tiles of that arrangement.")
    spans: list[LayoutSpanModel] = Field(
        default_factory=list,
        description="Each stretch of the recording with one arrangement, in order (added in "
        "1.3): a call can change from gallery to speaker view and back.",
    )


class SynchronyModel(_Model):
    score: float | None = Field(
        description="Mean over windows of the best lagged correlation between the partners' "
        "signals (-1 to 1); null if too short or too little movement."
    )
    surrogate_mean: float | None = Field(
        description="The same for chance partners (one partner's recording circularly shifted "
        "and its 5 s segments reordered so none stays in place): the chance level. Null when "
        "the session is too short to make them (under about 15 s)."
    )
    chance_threshold: float | None = Field(
        description="The chance partners' 99th percentile (partners.chance_percentile)."
    )
    above_chance: bool | None = Field(
        description="score above chance_threshold; null when there is no chance level."
    )
    lead_lag_s: float | None = Field(
        description="Lag of the strongest correlation: positive when person 1 leads (person 2 "
        "follows that many seconds later). Only given when above_chance is true: a leader of "
        "chance correlation means nothing."
    )
    windows: int


class MirroringModel(_Model):
    person: int
    smiles: int | None = Field(
        description=(
            "Smiles this person started while the partner's face could be seen in the "
            "following mirror_window_s; null when either face was never measured."
        )
    )
    answered: int | None = Field(
        description="Of those, answered by the partner's smile within mirror_window_s."
    )
    answered_by_chance: float | None = Field(
        description=(
            "How many of this person's smiles a partner smiling as often, at random times, "
            "would answer within the window. Mirroring means `answered` well above this."
        )
    )


class ConnectionMomentModel(_Model):
    start_s: float
    end_s: float
    score: float = Field(description="Length weighted by shared warmth; higher first.")
    reasons: list[str]


class PartnersModel(_Model):
    people: list[int] = Field(description="The two partners' ids.")
    same_room: bool | None = Field(
        description="One camera, one room (true), or a call, each with their own camera "
        "(false); null when the layout could not be read with confidence (then nothing is said "
        "about looking at each other)."
    )
    looking_at_partner: list[float | None] = Field(
        description="Per partner, share of measured time their gaze was on the other's head "
        "(one room only; null on a call)."
    )
    mutual_gaze_ratio: float | None = Field(
        description="Share of the time both were measured that they looked at each other (one "
        "room) or both into their own cameras (a call)."
    )
    mutual_gaze_coverage: float
    mutual_gaze_episodes: list[EpisodeModel]
    head_synchrony: SynchronyModel
    expression_synchrony: SynchronyModel
    mirroring: list[MirroringModel]
    moments_of_connection: list[ConnectionMomentModel]


class GeneratorModel(_Model):
    name: Literal["presence"] = "presence"
    version: str
    mediapipe: str


class Report(_Model):
    schema_version: Literal["1.1", "1.2", "1.3", "1.4"] = "1.4"
    generator: GeneratorModel
    video: VideoModel
    layout: LayoutModel
    people: list[PersonModel]
    settings: dict[str, object]
    warnings: list[str]
    partners: PartnersModel | None = Field(
        default=None, description="Two people together (added in 1.2); null with one person."
    )


if __name__ == "__main__":
    import json
    import sys

    sys.stdout.write(json.dumps(Report.model_json_schema(), indent=2) + "\n")

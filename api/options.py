"""Analysis options a client may set when uploading (a safe subset of AnalyzerConfig)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from analyzer.config import AnalyzerConfig, EpisodeConfig, Layout


class AnalysisOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    fps: float = Field(default=10.0, ge=1.0, le=30.0, description="Frames analyzed per second.")
    layout: Layout = Field(
        default=Layout.AUTO,
        description="auto (found by itself), single, side-by-side, stacked, pip, grid.",
    )
    staring_s: float = Field(
        default=8.0, ge=1.0, le=600.0, description="Unbroken eye contact this long is a stare."
    )
    look_away_s: float = Field(
        default=2.0, ge=0.5, le=600.0, description="Looking away this long is a look-away episode."
    )
    max_people: int | None = Field(
        default=None, ge=1, le=8, description="Analyze at most this many people (default: all)."
    )
    reel: bool = Field(
        default=True,
        description="Make a moments reel (reel.mp4) of two people's moments of connection, "
        "kept with the results until the analysis is deleted.",
    )

    def to_config(self) -> AnalyzerConfig:
        return AnalyzerConfig(
            analysis_fps=self.fps,
            layout=self.layout,
            max_people=self.max_people,
            episodes=EpisodeConfig(staring_min_s=self.staring_s, look_away_min_s=self.look_away_s),
        )

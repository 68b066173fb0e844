"""Response bodies of the HTTP API (the report itself is analyzer.outputs.report_schema.Report)."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, Field

Status = Literal["queued", "running", "done", "failed"]


class Links(BaseModel):
    self: str
    report: str
    report_html: str
    timeline: str
    reel: str = Field(description="The moments reel (404 with the reason when there is none).")


class AnalysisOut(BaseModel):
    id: str
    status: Status
    progress: float = Field(description="0-1; 1 when done.")
    label: str | None
    input_name: str = Field(description="The uploaded file's name (no folders).")
    created_at: dt.datetime
    started_at: dt.datetime | None
    finished_at: dt.datetime | None
    attempts: int = Field(description="Times the analysis was started (restarts re-queue it).")
    error: str | None = Field(description="Why the analysis failed, in one line.")
    links: Links


class AnalysisAccepted(BaseModel):
    id: str
    status: Status
    status_url: str


class AnalysisPage(BaseModel):
    items: list[AnalysisOut]
    total: int
    limit: int
    offset: int


class Health(BaseModel):
    status: Literal["ok"]
    version: str
    queued: int
    running: int
    workers: int


class ErrorOut(BaseModel):
    detail: str

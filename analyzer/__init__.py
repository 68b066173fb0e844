"""Presence: per-person nonverbal-presence signals (eye contact, posture, expressiveness, nods)."""

from __future__ import annotations

__version__ = "0.1.0"

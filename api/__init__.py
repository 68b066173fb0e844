"""Presence HTTP service (filled in by a later issue)."""

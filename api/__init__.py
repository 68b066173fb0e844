"""Presence HTTP service: upload a clip, get a presence report (FastAPI, durable job store)."""

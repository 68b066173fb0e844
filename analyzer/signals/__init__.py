"""Pure functions from one frame's observations to per-person signals. No state, no I/O."""

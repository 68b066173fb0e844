"""Live practice overlay: a camera (or a video file played as one) with gentle, immediate cues.

    python webcam_demo.py --source 0                  # the first camera, in a window
    python webcam_demo.py --source clip.mp4 --no-window --output annotated.mp4 --report out/

Same as ``presence live``; see ``analyzer/live/desktop.py``.
"""

from __future__ import annotations

import sys

from analyzer.cli import main as presence_main


def main(argv: list[str] | None = None) -> int:
    return presence_main(["live", *(sys.argv[1:] if argv is None else argv)])


if __name__ == "__main__":
    sys.exit(main())

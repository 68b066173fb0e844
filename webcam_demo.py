"""Live practice overlay (a later issue). For now it says so, rather than pretending."""

from __future__ import annotations

import sys


def main() -> int:
    print(
        "webcam_demo: the live overlay is not built yet (see the live-mode issue)", file=sys.stderr
    )
    return 2


if __name__ == "__main__":
    sys.exit(main())

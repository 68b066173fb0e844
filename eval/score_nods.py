"""Nods against three independent raters: agreement between the raters, and the pipeline's
precision, recall and false nods per minute.

    PRESENCE_MODELS_DIR=../shared/models python eval/score_nods.py

Two rated sets: ``eval/ratings/nods`` (20 clip-persons of ``../shared/media``, split into dev
and test) and ``eval/ratings/nods_hdtf`` (4 more talking-head clips, all test, scored after
everything was chosen; their media are not in ``../shared/media``: see its README, and the set
is skipped when they are missing). Each rater marked the onset and offset of every nod
(protocol: eval/ratings/protocols/nods.md). A consensus nod is a span that at least two
raters marked (their spans overlap); it runs from the earliest to the latest of the
overlapping marks. A detected nod (its lowest point, ``Nod.time_s``) matches a consensus nod
when it falls inside it widened by ``SLACK_S``; each consensus nod matches at most one
detection. Nods marked by one rater only are neither required nor counted as false.
"""

from __future__ import annotations

import csv
from pathlib import Path

EVAL = Path(__file__).resolve().parent
MEDIA = EVAL.parent.parent / "shared" / "media"
HDTF_MEDIA = EVAL.parent.parent / "hdtf-media"
SLACK_S = 0.3
# The clip-persons the nod threshold was chosen on (two of the three with consensus nods, and
# every other one without); the rest are the test split, which nothing was chosen on.
DEV = {"N04", "N17", "N01", "N03", "N05", "N07", "N09", "N11", "N13", "N15", "N19"}

Span = tuple[float, float]


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def _overlap(a: Span, b: Span) -> bool:
    return a[0] <= b[1] and b[0] <= a[1]


def consensus(marks: list[list[Span]], min_raters: int = 2) -> tuple[list[Span], int]:
    """Spans at least ``min_raters`` raters marked, and the count of single-rater spans."""
    flat = sorted((s, r) for r, spans in enumerate(marks) for s in spans)
    groups: list[list[tuple[Span, int]]] = []
    for span, rater in flat:
        if groups and any(_overlap(span, s) for s, _ in groups[-1]):
            groups[-1].append((span, rater))
        else:
            groups.append([(span, rater)])
    agreed = [g for g in groups if len({r for _, r in g}) >= min_raters]
    lone = sum(1 for g in groups if len({r for _, r in g}) < min_raters)
    return [(min(s[0] for s, _ in g), max(s[1] for s, _ in g)) for g in agreed], lone


def match(truth: list[Span], found: list[float]) -> tuple[int, int, int]:
    """(true positives, false positives, misses)."""
    used: set[int] = set()
    tp = 0
    for t in sorted(found):
        hit = next(
            (
                i
                for i, (a, b) in enumerate(truth)
                if i not in used and a - SLACK_S <= t <= b + SLACK_S
            ),
            None,
        )
        if hit is not None:
            used.add(hit)
            tp += 1
    return tp, len(found) - tp, len(truth) - len(used)


def _clip_path(folder: Path, clip: str) -> Path | None:
    if folder.name == "nods_hdtf":
        path = HDTF_MEDIA / f"{clip}.mp4"
        return path if path.is_file() else None
    return next((MEDIA / "talking").glob(f"{clip}.mp4"), None) or next(
        (MEDIA / "conversation").glob(f"{clip}.mp4")
    )


def main() -> None:
    from analyzer.evaluation import pick_person
    from analyzer.models import model_paths
    from analyzer.pipeline import analyze

    models = model_paths(None)  # PRESENCE_MODELS_DIR
    reports: dict[Path, object] = {}
    # per split: true positives, false positives, misses, quiet seconds, false nods there
    tally: dict[str, list[float]] = {}
    pair_agree: list[tuple[int, int, int]] = []
    agreed = lone_total = 0
    for folder in (EVAL / "ratings" / "nods", EVAL / "ratings" / "nods_hdtf"):
        key = {r["id"]: r for r in _rows(folder / "key.csv")}
        if any(_clip_path(folder, r["clip"]) is None for r in key.values()):
            print(f"{folder.name}: media missing (see its README); skipped")
            continue
        raters = sorted(folder.glob("r[0-9].csv"))
        marks: dict[str, list[list[Span]]] = {i: [[] for _ in raters] for i in key}
        for r, path in enumerate(raters):
            for row in _rows(path):
                if row["start_s"]:
                    marks[row["clip"]][r].append((float(row["start_s"]), float(row["end_s"])))
        durations = {
            (r["clip"], r["person"]): float(r["duration_s"]) for r in _rows(folder / "clips.csv")
        }
        for cid, row in sorted(key.items()):
            clip = _clip_path(folder, row["clip"])
            assert clip is not None
            if clip not in reports:
                reports[clip] = analyze(clip, models, jobs=1)
            person = pick_person(reports[clip], row["person"] or None)  # type: ignore[arg-type]
            found = [] if person is None else [n.time_s for n in person.metrics.head.nod_list]
            truth, lone = consensus(marks[cid])
            lone_total += lone
            a, b, c = match(truth, found)
            agreed += a + c
            name = "hdtf test" if folder.name == "nods_hdtf" else "dev" if cid in DEV else "test"
            split = tally.setdefault(name, [0.0] * 5)
            split[0], split[1], split[2] = split[0] + a, split[1] + b, split[2] + c
            if not any(marks[cid]):  # no rater saw a nod
                split[3] += durations[(row["clip"], row["person"])]
                split[4] += len(found)
            # rater against rater: one rater's marks as detections (their midpoints) of another's
            for i in range(len(raters)):
                for j in range(len(raters)):
                    if i != j:
                        mids = [(s + e) / 2 for s, e in marks[cid][j]]
                        pair_agree.append(match(marks[cid][i], mids))
            print(
                f"{cid} {row['clip']:<32} {row['person'] or '':<6} raters "
                f"{[len(m) for m in marks[cid]]} consensus {len(truth)} found {len(found)} "
                f"(tp {a}, false {b}, missed {c})"
            )
    ptp = sum(x for x, _, _ in pair_agree)
    pf1 = 2 * ptp / (2 * ptp + sum(y for _, y, _ in pair_agree) + sum(z for _, _, z in pair_agree))
    print(f"raters: mean pairwise F1 {pf1:.2f} (one rater's nods matched against another's)")
    print(f"consensus nods {agreed:g}; nods marked by one rater only: {lone_total}")
    for name, (tp, fp, fn, quiet_s, quiet_false) in tally.items():
        prec = tp / (tp + fp) if tp + fp else float("nan")
        rec = tp / (tp + fn) if tp + fn else float("nan")
        per_min = 60 * quiet_false / quiet_s if quiet_s else float("nan")
        print(
            f"{name}: precision {prec:.2f} ({tp:g}/{tp + fp:g}), recall {rec:.2f} "
            f"({tp:g}/{tp + fn:g}); false nods where no rater saw one: {quiet_false:g} in "
            f"{quiet_s:.0f} s ({per_min:.1f} per minute)"
        )


if __name__ == "__main__":
    main()

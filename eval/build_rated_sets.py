"""Build the rated sets (eye contact, crossed arms, expressiveness, looking at each other in
one room) from independent raters' answers in eval/ratings/, with their agreement, split into
dev and test by source.

    python eval/build_rated_sets.py

Writes eval/{eye,arms,expr}_rated_{dev,test}.csv, eval/dyads_rated_test.csv and
eval/agreement.json. How the items were
chosen and shown to raters: eval/ratings/protocols/ and eval/LABELLING.md.

- An item is scored only where every rater gave the same definite answer (``?`` or any
  disagreement leaves it out); agreement is Krippendorff's alpha (nominal, ``?`` missing) over
  all items, and for expressiveness Spearman's rho between the raters' full rankings.
- Split by source (a clip, or a still): every frame of a clip is in the same split. Sources
  that any earlier choice of the pipeline was tuned on (the files of the dev manifests
  gaze_frames_dev and gaze_zoombi_source for eye contact, arms_photos_dev for crossed arms,
  expressiveness_dev for expressiveness) always go to dev, and sources of the earlier test
  splits for that signal (gaze_frames_test, arms_clips_test, expressiveness_test) to test, so
  tuning on a new dev set cannot reach an old test set; the others are dealt out: sources
  with most of the rarer answer first, each to the split holding fewer of it so far (frames),
  or alternately in the order of a hash of their names (clips for expressiveness). Only
  labels decide; no result of the pipeline was looked at.
"""

from __future__ import annotations

import csv
import hashlib
import json
from pathlib import Path

import krippendorff
import numpy as np
from scipy.stats import spearmanr

EVAL = Path(__file__).resolve().parent
RATINGS = EVAL / "ratings"
MEDIA_REL = "../../shared/media/"
# Earlier test manifests for each signal: their sources stay test (tuning on a new dev set
# must not reach them).
EARLIER_TEST = {
    "eye": ("gaze_frames_test",),
    "arms": ("arms_clips_test",),
    "expr": ("expressiveness_test",),
}
# The dev manifests earlier choices for each signal were tuned on.
TUNED_ON = {
    "eye": ("gaze_frames_dev", "gaze_zoombi_source"),
    "arms": ("arms_photos_dev",),
    "expr": ("expressiveness_dev",),
}
HEADER = ["file", "person", "start_s", "end_s", "eye_contact", "arms_crossed", "expressiveness"]
HEADER += ["note", "looks_at_partner"]


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def _sources(names: tuple[str, ...]) -> set[str]:
    out = set()
    for name in names:
        path = EVAL / f"{name}.csv"
        if not path.exists():  # retired from scoring, still where earlier choices came from
            path = EVAL / "superseded" / f"{name}.csv"
        for row in _rows(path):
            out.add(row["file"].removeprefix(MEDIA_REL))
    return out


def _hash(source: str) -> int:
    return int(hashlib.sha256(source.encode()).hexdigest(), 16)


def _tuned_sources(kind: str) -> set[str]:
    return _sources(TUNED_ON[kind])


def _held_out(kind: str) -> set[str]:
    return _sources(EARLIER_TEST[kind]) - _tuned_sources(kind)


def _splits(
    labels_by_source: dict[str, list[str]], minority: str, tuned: set[str], held: set[str]
) -> dict[str, str]:
    """dev or test for each source. Tuned-on sources go to dev, sources of an earlier test
    split (``held``) to test; the others are dealt out so that both splits hold both answers
    (a split with almost no 'no' items says little about false positives). Only the labels
    are looked at, never results."""
    split = {s: "dev" for s in labels_by_source if s in tuned}
    split.update({s: "test" for s in labels_by_source if s in held and s not in tuned})
    count = {"dev": [0, 0], "test": [0, 0]}
    for source, side in split.items():
        count[side][0] += labels_by_source[source].count(minority)
        count[side][1] += len(labels_by_source[source])
    rest = [s for s in labels_by_source if s not in split]
    # the sources with most of the rarer answer first (then by hash), each to the split that
    # holds fewer of it so far (then fewer items): both splits get a fair share of it
    for source in sorted(rest, key=lambda s: (-labels_by_source[s].count(minority), _hash(s))):
        labels = labels_by_source[source]
        if minority in labels:
            side = min(("test", "dev"), key=lambda k: (count[k][0], count[k][1]))
        else:  # a source without it: to the split with fewer items
            side = min(("test", "dev"), key=lambda k: count[k][1])
        split[source] = side
        count[side][0] += labels.count(minority)
        count[side][1] += len(labels)
    return split


def _alpha(answers: list[dict[str, str]], ids: list[str], codes: dict[str, int]) -> float:
    data = np.array([[codes.get(a.get(i, "?"), np.nan) for i in ids] for a in answers], dtype=float)
    return float(krippendorff.alpha(reliability_data=data, level_of_measurement="nominal"))


def _write(path: Path, rows: list[dict[str, str]]) -> None:
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=HEADER, lineterminator="\n")
        w.writeheader()
        for r in rows:
            w.writerow({k: r.get(k, "") for k in HEADER})


def build_frames(kind: str, column: str, codes: dict[str, int], minority: str) -> dict:
    tuned, held = _tuned_sources(kind), _held_out(kind)
    items = _rows(RATINGS / kind / "items.csv")
    raters = sorted((RATINGS / kind).glob("r[0-9].csv"))
    answers = [{r["id"]: r["label"].strip() for r in _rows(p)} for p in raters]
    ids = [it["id"] for it in items]
    kept_items = []
    for it in items:
        labels = {a.get(it["id"], "?") for a in answers}
        if len(labels) != 1 or labels & {"?", ""}:
            continue
        kept_items.append((it, labels.pop()))
    by_source: dict[str, list[str]] = {}
    for it, label in kept_items:
        by_source.setdefault(it["file"], []).append(label)
    split = _splits(by_source, minority, tuned, held)
    out: dict[str, list[dict[str, str]]] = {"dev": [], "test": []}
    for it, label in kept_items:
        row = {
            "file": MEDIA_REL + it["file"],
            "person": it["person"],
            "start_s": it["time_s"],
            column: label,
            "note": it["id"],
        }
        out[split[it["file"]]].append(row)
    kept = len(kept_items)
    for split, rows in out.items():
        _write(EVAL / f"{kind}_rated_{split}.csv", rows)
    return {
        "raters": len(raters),
        "items": len(items),
        "unanimous": kept,
        "krippendorff_alpha": round(_alpha(answers, ids, codes), 3),
        "dev": len(out["dev"]),
        "test": len(out["test"]),
    }


def build_expr() -> dict:
    tuned, held = _tuned_sources("expr"), _held_out("expr")
    key = {r["id"]: r for r in _rows(RATINGS / "expr" / "key.csv")}
    rankings = [
        {r["id"]: int(r["rank"]) for r in _rows(p)}
        for p in sorted((RATINGS / "expr").glob("ranking_r[0-9].csv"))
    ]
    ids = sorted(key)
    rho = spearmanr([rankings[0][i] for i in ids], [rankings[1][i] for i in ids]).statistic
    untuned = sorted({key[i]["file"] for i in ids} - tuned - held, key=_hash)
    split = {f: "dev" for f in tuned}
    split.update({f: "test" for f in held})
    split.update({f: ("test" if k % 2 == 0 else "dev") for k, f in enumerate(untuned)})
    out: dict[str, list[dict[str, str]]] = {"dev": [], "test": []}
    for i in ids:
        mean_rank = sum(r[i] for r in rankings) / len(rankings)
        # higher: more animated (rank 1 is the most animated of 20)
        score = len(ids) + 1 - mean_rank
        row = {
            "file": MEDIA_REL + key[i]["file"],
            "person": key[i]["person"],
            "expressiveness": f"{score:g}",
            "note": i,
        }
        out[split[key[i]["file"]]].append(row)
    for split, rows in out.items():
        _write(EVAL / f"expr_rated_{split}.csv", rows)
    return {
        "raters": len(rankings),
        "items": len(ids),
        "spearman_between_raters": round(float(rho), 3),
        "dev": len(out["dev"]),
        "test": len(out["test"]),
    }


def build_dyads() -> dict:
    """Two people in one room: does each look at the other's head? Three raters per person
    and frame; a check set only (nothing is tuned on it), so all of it is test."""
    key = {r["item"]: r for r in _rows(RATINGS / "dyads" / "key.csv")}
    raters = sorted((RATINGS / "dyads").glob("r[0-9].csv"))
    answers = [{r["item"]: r for r in _rows(p)} for p in raters]
    questions = (("l_looks_at_r", "left"), ("r_looks_at_l", "right"))
    flat = [{f"{i}:{q}": a[i][q].strip() for i in key for q, _ in questions} for a in answers]
    ids = [f"{i}:{q}" for i in key for q, _ in questions]
    rows = []
    for i in sorted(key):
        for q, side in questions:
            labels = {a[i][q].strip() for a in answers}
            if len(labels) != 1 or labels & {"?", ""}:
                continue
            rows.append(
                {
                    "file": MEDIA_REL + key[i]["file"],
                    "person": side,
                    "start_s": key[i]["frame_time_s"],  # the frame the raters saw
                    "looks_at_partner": "1" if labels.pop() == "yes" else "0",
                    "note": f"{i} {side}",
                }
            )
    _write(EVAL / "dyads_rated_test.csv", rows)
    return {
        "raters": len(raters),
        "items": len(ids),
        "unanimous": len(rows),
        "krippendorff_alpha": round(_alpha(flat, ids, {"yes": 1, "no": 0}), 3),
        "dev": 0,
        "test": len(rows),
    }


def main() -> None:
    agreement = {
        "eye_rated": build_frames("eye", "eye_contact", {"1": 1, "0": 0, "closed": 2}, "0"),
        "arms_rated": build_frames("arms", "arms_crossed", {"1": 1, "0": 0}, "1"),
        "expr_rated": build_expr(),
        "dyads_rated": build_dyads(),
    }
    (EVAL / "agreement.json").write_text(json.dumps(agreement, indent=2) + "\n")
    print(json.dumps(agreement, indent=2))


if __name__ == "__main__":
    main()

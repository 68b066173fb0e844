"""The accuracy harness itself: agreement statistics and manifest reading."""

from __future__ import annotations

import math
import random
from pathlib import Path

import pytest

from analyzer.errors import InputError
from analyzer.evaluation import binary_intervals, binary_scores, rank_scores, read_manifest


def test_scores_from_a_known_confusion_matrix() -> None:
    # 40 TP, 10 FP, 45 TN, 5 FN, and 7 items not measurable
    pairs = (
        [(True, True)] * 40
        + [(False, True)] * 10
        + [(False, False)] * 45
        + [(True, False)] * 5
        + [(True, None)] * 7
    )
    s = binary_scores(pairs)
    assert (s.n, s.measured, s.tp, s.fp, s.tn, s.fn) == (107, 100, 40, 10, 45, 5)
    assert s.coverage == pytest.approx(100 / 107)
    assert s.precision == pytest.approx(0.8)
    assert s.recall == pytest.approx(40 / 45)
    assert s.f1 == pytest.approx(2 * 0.8 * (40 / 45) / (0.8 + 40 / 45))
    mcc = (40 * 45 - 10 * 5) / math.sqrt(50 * 45 * 55 * 50)
    assert s.mcc == pytest.approx(mcc)
    pe = (50 * 45 + 50 * 55) / 100**2
    assert s.kappa == pytest.approx((0.85 - pe) / (1 - pe))


def test_degenerate_cases_are_none_not_zero() -> None:
    s = binary_scores([(True, None), (False, None)])
    assert s.measured == 0 and s.precision is None and s.mcc is None and s.kappa is None
    only_positive = binary_scores([(True, True)] * 5)
    assert only_positive.f1 == 1.0 and only_positive.mcc is None  # MCC undefined


def test_spearman() -> None:
    r = rank_scores([(1, 0.1), (2, 0.2), (3, 0.25), (4, None)])
    assert r.spearman == pytest.approx(1.0) and r.measured == 3 and r.n == 4


def test_manifest_paths_are_relative_to_the_manifest(tmp_path: Path) -> None:
    (tmp_path / "sets").mkdir()
    m = tmp_path / "sets" / "m.csv"
    m.write_text(
        "file,person,start_s,end_s,eye_contact,arms_crossed,expressiveness,note\n"
        "../media/a.mp4,left,1.5,,closed,,,blink\n"
        "../media/b.jpg,,,,1,0,3,\n"
    )
    a, b = read_manifest(m)
    assert a.file == (tmp_path / "media" / "a.mp4").resolve()
    assert (a.person, a.start_s, a.end_s, a.eyes_closed, a.eye_contact) == (
        "left",
        1.5,
        None,
        True,
        None,
    )
    assert (b.eye_contact, b.arms_crossed, b.expressiveness) == (True, False, 3.0)
    assert a.looks_at_partner is None  # an optional column


def test_looking_at_the_partner_is_an_optional_column(tmp_path: Path) -> None:
    m = tmp_path / "m.csv"
    m.write_text(
        "file,person,start_s,end_s,eye_contact,arms_crossed,expressiveness,note,looks_at_partner\n"
        "a.mp4,left,1.0,,,,,,1\n"
        "a.mp4,right,1.0,,,,,,0\n"
        "b.png,left,,,,,,,\n"
    )
    assert [i.looks_at_partner for i in read_manifest(m)] == [True, False, None]
    m.write_text(
        "file,person,start_s,end_s,eye_contact,arms_crossed,expressiveness,looks_at_partner\n"
        "a.mp4,left,1.0,,,,,yes\n"
    )
    with pytest.raises(InputError, match="looks_at_partner must be 1, 0 or empty"):
        read_manifest(m)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("a,b\n1,2\n", "missing columns"),
        (
            "file,person,start_s,end_s,eye_contact,arms_crossed,expressiveness\nx,,,,yes,,\n",
            "eye_contact must be 1, 0 or empty",
        ),
        (
            "file,person,start_s,end_s,eye_contact,arms_crossed,expressiveness\nx,,soon,,1,,\n",
            "start_s must be a number",
        ),
    ],
)
def test_bad_manifests_say_where(tmp_path: Path, text: str, message: str) -> None:
    m = tmp_path / "m.csv"
    m.write_text(text)
    with pytest.raises(InputError, match=message):
        read_manifest(m)


def _clustered(per_source: list[list[tuple[bool, bool]]]) -> list[tuple[bool, bool | None, str]]:
    return [
        (label, pred, f"clip{k}") for k, items in enumerate(per_source) for label, pred in items
    ]


def test_cluster_bootstrap_intervals_hold_the_estimate_and_are_repeatable() -> None:
    rng = random.Random(3)
    sources = [
        [
            (lab, lab if rng.random() < 0.85 else not lab)
            for lab in (rng.random() < 0.7 for _ in range(12))
        ]
        for _ in range(10)
    ]
    items = _clustered(sources)
    point = binary_scores((a, b) for a, b, _ in items)
    ci = dict((m, (lo, hi)) for m, lo, hi in binary_intervals(items))
    assert set(ci) == {"f1", "mcc", "kappa"}
    for metric, (lo, hi) in ci.items():
        v = getattr(point, metric)
        assert -1.0 <= lo <= v <= hi <= 1.0, (metric, lo, v, hi)
    assert binary_intervals(items) == binary_intervals(items)  # a fixed seed


def test_frames_of_one_clip_do_not_narrow_the_interval() -> None:
    """Copying every frame of every clip five times adds no evidence: a cluster bootstrap
    gives the same interval, where an item bootstrap would narrow it."""
    rng = random.Random(5)
    sources = [
        [
            (lab, lab if rng.random() < 0.8 else not lab)
            for lab in (rng.random() < 0.6 for _ in range(6))
        ]
        for _ in range(8)
    ]
    once = dict((m, (lo, hi)) for m, lo, hi in binary_intervals(_clustered(sources)))
    five = dict(
        (m, (lo, hi)) for m, lo, hi in binary_intervals(_clustered([s * 5 for s in sources]))
    )
    assert once["mcc"] == pytest.approx(five["mcc"], abs=0.02)


def test_one_source_has_no_interval() -> None:
    assert binary_intervals(_clustered([[(True, True), (False, False), (True, False)]])) == ()


def test_spearman_interval() -> None:
    r = rank_scores([(float(i), float(i) + (3 if i % 4 == 0 else 0)) for i in range(12)])
    assert r.spearman_ci95 is not None
    lo, hi = r.spearman_ci95
    assert lo <= (r.spearman or 0) <= hi <= 1.0

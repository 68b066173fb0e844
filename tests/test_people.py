"""Pairing faces with bodies and keeping people's ids, on synthetic observations."""

from __future__ import annotations

from collections import Counter

import numpy as np

from analyzer.people import (
    PersonTracker,
    appearance_distance,
    call_positions,
    dedupe_poses,
    merge_duplicate_people,
    pair_faces_with_poses,
    positions,
)
from analyzer.types import PersonDetection, Position, Region
from tests.builders import FRAME, NOSE, face, pose, upper_body


def _body_at(x: float) -> dict:
    """A facing body whose nose is at (x, 120)."""
    pts = upper_body(l_elbow=(385, 300), l_wrist=(390, 400), r_elbow=(255, 300), r_wrist=(250, 400))
    return {i: (px - 320 + x, py) for i, (px, py) in pts.items()}


def test_faces_pair_with_the_body_under_them() -> None:
    faces = [face(center=(150, 118)), face(center=(480, 118))]
    poses = [pose(_body_at(480)), pose(_body_at(150))]
    people = pair_faces_with_poses(faces, poses)
    assert len(people) == 2
    for p in people:
        assert p.face is not None and p.pose is not None
        assert abs(p.pose.landmarks_xy[NOSE][0] - p.face.eyes_mid_xy[0]) < 20


def test_body_without_a_face_and_face_without_a_body_are_both_people() -> None:
    people = pair_faces_with_poses([face(center=(150, 118))], [pose(_body_at(480))])
    assert len(people) == 2
    assert sum(p.face is None for p in people) == 1
    assert sum(p.pose is None for p in people) == 1


def test_duplicate_bodies_are_dropped() -> None:
    a = pose(_body_at(300))
    b = pose(_body_at(304), visibility=0.5)  # the same body again, less sure of itself
    c = pose(_body_at(520))
    assert [id(p) for p in dedupe_poses((b, a, c))] == [id(a), id(c)]


def test_a_face_found_twice_is_one_person() -> None:
    # a body left unpaired (it lags the moving head) finds the same face again in its head crop
    seen = PersonDetection(face(center=(300, 118)), None, (300.0, 118.0), FRAME)
    body = pose(_body_at(360))
    again = PersonDetection(face(center=(303, 120)), body, (303.0, 120.0), FRAME)
    other = PersonDetection(face(center=(520, 118)), None, (520.0, 118.0), FRAME)
    merged = merge_duplicate_people([seen, again, other])
    assert len(merged) == 2
    assert merged[0].face is seen.face and merged[0].pose is body  # the body joins the first
    assert merged[1] is other


def _det(x: float, region: Region = FRAME) -> PersonDetection:
    return PersonDetection(face=None, pose=None, anchor_xy=(x, 200.0), region=region)


def test_tracker_keeps_ids_through_small_moves_and_absences() -> None:
    tr = PersonTracker()
    k1 = tr.update(0.0, [_det(100), _det(500)])
    k2 = tr.update(0.1, [_det(510), _det(110)])  # listed in the other order
    assert k2 == [k1[1], k1[0]]
    k3 = tr.update(0.2, [_det(505)])  # the left person is out of view
    assert k3 == [k1[1]]
    k4 = tr.update(5.0, [_det(120), _det(500)])  # and back
    assert k4 == k1


def test_people_in_different_tiles_never_swap() -> None:
    left, right = Region(0, 0, 320, 480), Region(320, 0, 320, 480)
    tr = PersonTracker()
    k1 = tr.update(0.0, [_det(300, left), _det(340, right)])
    k2 = tr.update(0.1, [_det(345, right), _det(298, left)])
    assert k2 == [k1[1], k1[0]]


def test_positions_left_to_right_in_one_room() -> None:
    order, names = positions([(500, 0), (100, 0)])
    assert order == [1, 0] and names == [Position.LEFT, Position.RIGHT]
    assert positions([(1, 1)])[1] == [Position.CENTER]
    assert positions([(9, 0), (1, 0), (5, 0)]) == (
        [1, 2, 0],
        [Position.LEFT, Position.CENTER, Position.RIGHT],
    )


def test_call_positions_by_the_tile_each_was_in_most() -> None:
    # stacked tiles: top before bottom, whatever the anchors say
    order, names = call_positions(
        [Counter({Position.BOTTOM: 50}), Counter({Position.TOP: 50})], [(300, 300), (310, 100)]
    )
    assert order == [1, 0] and names == [Position.TOP, Position.BOTTOM]
    # speaker view: the main picture before the inset
    order, names = call_positions(
        [Counter({Position.INSET: 80}), Counter({Position.CENTER: 80})], [(800, 400), (400, 200)]
    )
    assert order == [1, 0] and names == [Position.CENTER, Position.INSET]
    # only the inset's person is seen: still the inset, not the main picture
    assert call_positions([Counter({Position.INSET: 9})], [(800, 400)])[1] == [Position.INSET]


def test_call_positions_after_a_swap_or_a_layout_change() -> None:
    # tiles swapped after a while: each keeps the place where they were longer
    a = Counter({Position.LEFT: 70, Position.RIGHT: 30})
    b = Counter({Position.RIGHT: 70, Position.LEFT: 30})
    assert call_positions([b, a], [(0, 0), (0, 0)]) == ([1, 0], [Position.LEFT, Position.RIGHT])
    # gallery, then speaker view: the gallery places win where they were seen longer
    a = Counter({Position.LEFT: 100, Position.INSET: 50})
    b = Counter({Position.RIGHT: 100, Position.CENTER: 50})
    assert call_positions([a, b], [(0, 0), (0, 0)]) == ([0, 1], [Position.LEFT, Position.RIGHT])
    # both mostly in one place (a swap halfway): one place each, never the same for both
    a = Counter({Position.LEFT: 51, Position.RIGHT: 49})
    b = Counter({Position.LEFT: 50, Position.RIGHT: 50})
    _, names = call_positions([a, b], [(0, 0), (0, 0)])
    assert sorted(names) == sorted([Position.LEFT, Position.RIGHT])


def _look(bin_: int) -> np.ndarray:
    h = np.full(128, 0.2 / 127, np.float32)
    h[bin_] = 0.8  # most of the colour in one hue-saturation bin
    return h


def _seen(x: float, look: np.ndarray, region: Region = FRAME) -> PersonDetection:
    return PersonDetection(None, None, (x, 200.0), region, appearance=look)


def test_appearance_follows_partners_when_tiles_swap() -> None:
    left, right = Region(0, 0, 320, 480), Region(320, 0, 320, 480)
    red, blue = _look(3), _look(90)
    tr = PersonTracker()
    k1 = tr.update(0.0, [_seen(160, red, left), _seen(480, blue, right)])
    for i in range(1, 5):
        tr.update(0.1 * i, [_seen(160, red, left), _seen(480, blue, right)])
    swapped = tr.update(1.0, [_seen(160, blue, left), _seen(480, red, right)])
    assert swapped == [k1[1], k1[0]]
    assert appearance_distance(red, blue) is not None and appearance_distance(red, blue) > 0.4


def test_a_changed_look_alone_is_still_the_same_person() -> None:
    # the light changes: the only person there looks different, and nobody else looks like that
    tr = PersonTracker()
    k1 = tr.update(0.0, [_seen(300, _look(3))])
    assert tr.update(0.1, [_seen(305, _look(90))]) == k1


def test_someone_else_stepping_into_a_place_is_not_its_owner() -> None:
    red, blue = _look(3), _look(90)
    tr = PersonTracker()
    k1 = tr.update(0.0, [_seen(150, red), _seen(500, blue)])
    # red leaves; blue steps into red's place
    assert tr.update(2.0, [_seen(160, blue)]) == [k1[1]]


def test_where_someone_sat_is_kept_in_bounded_memory() -> None:
    """The median of a person's place comes from an even sample of the whole session: a day of
    frames holds no more points than seven minutes, and the median stays where they sat."""
    from analyzer.people import _EvenSample

    spots = _EvenSample()
    for i in range(200_000):  # 5.5 h at 10 per second; the first half on the left
        spots.add((100.0 if i < 90_000 else 500.0, 50.0 + i % 7))
    assert len(spots.points) < 2 * _EvenSample.KEEP
    assert spots.median() == (500.0, 53.0)

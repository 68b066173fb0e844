"""Plain sentences about two partners, shared by the terminal summary and report.html."""

from __future__ import annotations

from analyzer.types import Mirroring, Synchrony


def synchrony_sentence(name: str, s: Synchrony, ids: tuple[int, int]) -> str:
    """``name``: what moved ("Head movement"). Says only what was tested: too short to measure,
    measured but too short to compare with chance, no more than chance, or beyond chance with
    who tended to lead."""
    if s.score is None:
        return f"{name}: not enough of the session to tell (it needs about 10 s of both)."
    if s.above_chance is None or s.surrogate_mean is None:
        return (
            f"{name}: strength {s.score:.2f}, but the session is too short to compare with "
            "chance (that needs about 15 s of both)."
        )
    if not s.above_chance:
        return (
            f"{name}: no more in step than chance would give (strength {s.score:.2f}, "
            f"chance level {s.surrogate_mean:.2f})."
        )
    lead = s.lead_lag_s or 0.0
    if abs(lead) < 0.1:
        who = "neither led"
    elif lead > 0:
        who = f"person {ids[0]} tended to lead by {lead:.1f} s"
    else:
        who = f"person {ids[1]} tended to lead by {-lead:.1f} s"
    return (
        f"{name}: in step beyond chance (strength {s.score:.2f} against {s.surrogate_mean:.2f} "
        f"by chance); {who}."
    )


def mirroring_sentence(m: Mirroring) -> str:
    if m.smiles is None or m.answered is None or m.answered_by_chance is None:
        return f"Person {m.person_id}: smiles not measurable (a face not seen)."
    return (
        f"Person {m.person_id} smiled {m.smiles} time(s) while the other could be seen, "
        f"{m.answered} answered by a smile (about {m.answered_by_chance:.0f} would be by chance)."
    )

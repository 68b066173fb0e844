"""Accuracy against human labels: manifests in, precision/recall/F1/MCC/kappa/coverage out.

A manifest (CSV, see ``eval/LABELLING.md``) lists labelled images, video instants, spans or
whole clips. ``evaluate`` runs the real pipeline once per file (with the shipped settings) and
compares, per signal, what it measured with the label. Items the pipeline could not measure are
not counted as right or wrong; the share measured is reported as ``coverage``.
"""

from __future__ import annotations

import csv
import math
import warnings
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np
import numpy.typing as npt

from analyzer.config import AnalyzerConfig
from analyzer.errors import AnalyzerError, InputError
from analyzer.partners import looking_at_partner
from analyzer.types import AnalysisReport, PersonReport, PersonSample

SIGNALS = ("eye_contact", "arms_crossed", "expressiveness", "looks_at_partner")
# the yes/no signals, in the tables' order
BINARY = ("eye_contact", "arms_crossed", "looks_at_partner")


@dataclass(frozen=True)
class LabelledItem:
    file: Path
    person: str | None
    start_s: float | None
    end_s: float | None
    eye_contact: bool | None
    eyes_closed: bool
    arms_crossed: bool | None
    expressiveness: float | None
    note: str = ""
    # in one room: does this person look at the other one's head (an optional column)
    looks_at_partner: bool | None = None


def _bool(value: str, column: str, line: int, path: Path) -> bool | None:
    v = value.strip().lower()
    if v == "":
        return None
    if v in ("1", "0"):
        return v == "1"
    raise InputError(f"{path}:{line}: {column} must be 1, 0 or empty, got {value!r}")


def _float(value: str, column: str, line: int, path: Path) -> float | None:
    if value.strip() == "":
        return None
    try:
        return float(value)
    except ValueError:
        raise InputError(f"{path}:{line}: {column} must be a number, got {value!r}") from None


def read_manifest(path: Path) -> list[LabelledItem]:
    """Items of a manifest; relative file paths are relative to the manifest's folder."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as e:
        raise InputError(f"{path}: cannot read the manifest ({e.strerror})") from e
    rows = list(csv.DictReader(text.splitlines()))
    need = {"file", "person", "start_s", "end_s", "eye_contact", "arms_crossed", "expressiveness"}
    if not rows or not need <= set(rows[0]):
        missing = sorted(need - set(rows[0])) if rows else sorted(need)
        raise InputError(f"{path}: not a manifest (missing columns: {', '.join(missing)})")
    items = []
    for line, r in enumerate(rows, start=2):
        ec_text = r["eye_contact"].strip().lower()
        closed = ec_text == "closed"
        items.append(
            LabelledItem(
                file=(path.parent / r["file"]).resolve(),
                person=r["person"].strip() or None,
                start_s=_float(r["start_s"], "start_s", line, path),
                end_s=_float(r["end_s"], "end_s", line, path),
                eye_contact=None if closed else _bool(r["eye_contact"], "eye_contact", line, path),
                eyes_closed=closed,
                arms_crossed=_bool(r["arms_crossed"], "arms_crossed", line, path),
                expressiveness=_float(r["expressiveness"], "expressiveness", line, path),
                note=r.get("note", "") or "",
                looks_at_partner=_bool(
                    r.get("looks_at_partner", "") or "", "looks_at_partner", line, path
                ),
            )
        )
    return items


@dataclass(frozen=True)
class BinaryScores:
    """Agreement of a yes/no signal with labels, over the items the pipeline could measure."""

    n: int
    measured: int
    tp: int
    fp: int
    tn: int
    fn: int
    # 95% intervals (cluster bootstrap over the sources: every frame of a clip together)
    ci95: tuple[tuple[str, float, float], ...] = ()

    @property
    def coverage(self) -> float:
        return self.measured / self.n if self.n else 0.0

    def interval(self, metric: str) -> tuple[float, float] | None:
        return next(((lo, hi) for m, lo, hi in self.ci95 if m == metric), None)

    @property
    def precision(self) -> float | None:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else None

    @property
    def recall(self) -> float | None:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else None

    @property
    def f1(self) -> float | None:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p is not None and r is not None and p + r > 0 else None

    @property
    def accuracy(self) -> float | None:
        return (self.tp + self.tn) / self.measured if self.measured else None

    @property
    def mcc(self) -> float | None:
        tp, fp, tn, fn = self.tp, self.fp, self.tn, self.fn
        den = math.sqrt((tp + fp) * (tp + fn) * (tn + fp) * (tn + fn))
        return (tp * tn - fp * fn) / den if den else None

    @property
    def kappa(self) -> float | None:
        m = self.measured
        if not m:
            return None
        po = (self.tp + self.tn) / m
        pe = (
            (self.tp + self.fp) * (self.tp + self.fn) + (self.tn + self.fn) * (self.tn + self.fp)
        ) / (m * m)
        return (po - pe) / (1 - pe) if pe < 1 else None

    def as_dict(self) -> dict[str, object]:
        out: dict[str, object] = {k: v for k, v in asdict(self).items() if k != "ci95"}
        for k in ("coverage", "precision", "recall", "f1", "mcc", "kappa", "accuracy"):
            v = getattr(self, k)
            out[k] = None if v is None else round(v, 4)
        out["ci95"] = {m: [round(lo, 4), round(hi, 4)] for m, lo, hi in self.ci95}
        return out


def binary_scores(pairs: Iterable[tuple[bool, bool | None]]) -> BinaryScores:
    tp = fp = tn = fn = n = 0
    for label, pred in pairs:
        n += 1
        if pred is None:
            continue
        if label and pred:
            tp += 1
        elif label:
            fn += 1
        elif pred:
            fp += 1
        else:
            tn += 1
    return BinaryScores(n=n, measured=tp + fp + tn + fn, tp=tp, fp=fp, tn=tn, fn=fn)


BOOTSTRAP_RESAMPLES = 1000
MIN_SOURCES = 5  # fewer sources: no interval is given (it would pretend to precision)


def _resamples(n: int) -> Iterator[npt.NDArray[np.int64]]:
    """``BOOTSTRAP_RESAMPLES`` draws of ``n`` indices out of ``n``, with replacement, from a
    fixed seed (the same intervals on every run)."""
    rng = np.random.default_rng(0)
    for _ in range(BOOTSTRAP_RESAMPLES):
        yield rng.integers(0, n, n)


def _percentile_interval(values: list[float]) -> tuple[float, float] | None:
    if len(values) < BOOTSTRAP_RESAMPLES // 2:  # most resamples had nothing to measure
        return None
    lo, hi = np.percentile(values, [2.5, 97.5])
    return float(lo), float(hi)


def binary_intervals(
    items: Sequence[tuple[bool, bool | None, str]], metrics: Sequence[str] = ("f1", "mcc", "kappa")
) -> tuple[tuple[str, float, float], ...]:
    """95% percentile intervals of ``metrics`` by a cluster bootstrap: the sources (the third
    element: a clip, a still) are drawn with replacement, each with all its items, since
    frames of one clip are not independent of each other."""
    clusters: dict[str, list[tuple[bool, bool | None]]] = {}
    for label, pred, source in items:
        clusters.setdefault(source, []).append((label, pred))
    groups = list(clusters.values())
    if len(groups) < MIN_SOURCES:  # a handful of sources has a handful of resamples
        return ()
    drawn: dict[str, list[float]] = {m: [] for m in metrics}
    for pick in _resamples(len(groups)):
        scores = binary_scores(p for i in pick for p in groups[i])
        for m in metrics:
            v = getattr(scores, m)
            if v is not None:
                drawn[m].append(v)
    out = []
    for m in metrics:
        ci = _percentile_interval(drawn[m])
        if ci is not None:
            out.append((m, *ci))
    return tuple(out)


@dataclass(frozen=True)
class RankScores:
    n: int
    measured: int
    spearman: float | None
    spearman_ci95: tuple[float, float] | None = None  # bootstrap over the clips

    @property
    def coverage(self) -> float:
        return self.measured / self.n if self.n else 0.0

    def as_dict(self) -> dict[str, object]:
        ci = self.spearman_ci95
        return {
            "n": self.n,
            "measured": self.measured,
            "coverage": round(self.coverage, 4),
            "spearman": None if self.spearman is None else round(self.spearman, 4),
            "ci95": {} if ci is None else {"spearman": [round(ci[0], 4), round(ci[1], 4)]},
        }


def rank_scores(pairs: Sequence[tuple[float, float | None]]) -> RankScores:
    from scipy.stats import spearmanr

    def rho_of(pairs_: Sequence[tuple[float, float]]) -> float | None:
        if len(pairs_) < 3:
            return None
        r = spearmanr([a for a, _ in pairs_], [b for _, b in pairs_]).statistic
        return None if r is None or math.isnan(float(r)) else float(r)

    measured = [(a, b) for a, b in pairs if b is not None]
    rho = rho_of(measured)
    ci = None
    if rho is not None:
        drawn = []
        with warnings.catch_warnings():  # a resample of equal values has no rank order
            warnings.simplefilter("ignore")
            for pick in _resamples(len(measured)):
                v = rho_of([measured[i] for i in pick])
                if v is not None:
                    drawn.append(v)
        ci = _percentile_interval(drawn)
    return RankScores(n=len(pairs), measured=len(measured), spearman=rho, spearman_ci95=ci)


@dataclass(frozen=True)
class ClosedEyes:
    """Items labelled 'eyes closed': how many came out not measurable (as they should)."""

    n: int
    unmeasured: int

    def as_dict(self) -> dict[str, int]:
        return {"n": self.n, "unmeasured": self.unmeasured}


@dataclass(frozen=True)
class ManifestResult:
    name: str
    eye_contact: BinaryScores | None = None
    eyes_closed: ClosedEyes | None = None
    arms_crossed: BinaryScores | None = None
    expressiveness: RankScores | None = None
    looks_at_partner: BinaryScores | None = None
    errors: tuple[str, ...] = field(default_factory=tuple)

    def as_dict(self) -> dict[str, object]:
        out: dict[str, object] = {"name": self.name}
        for key in (
            "eye_contact",
            "eyes_closed",
            "arms_crossed",
            "expressiveness",
            "looks_at_partner",
        ):
            v = getattr(self, key)
            if v is not None:
                out[key] = v.as_dict()
        out["errors"] = list(self.errors)
        return out


def pick_person(report: AnalysisReport, position: str | None) -> PersonReport | None:
    people = list(report.people)
    if position is not None:
        match = [p for p in people if p.track.position.value == position]
        return match[0] if match else None
    if len(people) <= 1:
        return people[0] if people else None

    def size(p: PersonReport) -> float:
        widths = sorted(s.face_width_px for s in p.track.samples if s.face_width_px is not None)
        return widths[len(widths) // 2] if widths else 0.0

    return max(people, key=size)


def _samples_for(item: LabelledItem, person: PersonReport, period_s: float) -> list[PersonSample]:
    samples = person.track.samples
    if item.start_s is None:
        return list(samples)
    if item.end_s is None:
        nearest = min(samples, key=lambda s: abs(s.time_s - item.start_s))  # type: ignore[operator]
        return [nearest] if abs(nearest.time_s - item.start_s) <= period_s else []
    return [s for s in samples if item.start_s <= s.time_s <= item.end_s]


@dataclass(frozen=True)
class LabelledFrame:
    """A frame labelled for eye contact and the pipeline's sample of it."""

    item: LabelledItem
    sample: PersonSample


def eye_contact_frames(path: Path, analyze: Analyze, cfg: AnalyzerConfig) -> list[LabelledFrame]:
    """Every item of a manifest labelled for eye contact with the samples the pipeline measured
    for it, picked as ``evaluate_manifest`` picks them (items with no person or no sample there
    are left out): for the scripts that look at the gaze behind the calls (eval/)."""
    reports: dict[Path, AnalysisReport] = {}
    period_s = 0.6 / cfg.analysis_fps
    frames = []
    for item in read_manifest(path):
        if item.eye_contact is None:
            continue
        if item.file not in reports:
            reports[item.file] = analyze(item.file)
        person = pick_person(reports[item.file], item.person)
        if person is not None:
            frames += [LabelledFrame(item, s) for s in _samples_for(item, person, period_s)]
    return frames


def _majority(values: Iterable[bool | None]) -> bool | None:
    measured = [v for v in values if v is not None]
    if not measured:
        return None
    return sum(measured) * 2 > len(measured)


Analyze = Callable[[Path], AnalysisReport]


def evaluate_manifest(path: Path, analyze: Analyze, cfg: AnalyzerConfig) -> ManifestResult:
    items = read_manifest(path)
    reports: dict[Path, AnalysisReport | str] = {}
    ec: list[tuple[bool, bool | None, str]] = []
    arms: list[tuple[bool, bool | None, str]] = []
    expr: list[tuple[float, float | None]] = []
    looks: list[tuple[bool, bool | None, str]] = []
    looking: dict[int, list[bool | None]] = {}  # a person's series, once per person
    closed_n = closed_unmeasured = 0
    errors = []
    period_s = 0.6 / cfg.analysis_fps
    for item in items:
        if item.file not in reports:
            try:
                reports[item.file] = analyze(item.file)
            except AnalyzerError as e:
                reports[item.file] = str(e)
                errors.append(str(e))
        report = reports[item.file]
        person = None if isinstance(report, str) else pick_person(report, item.person)
        samples = [] if person is None else _samples_for(item, person, period_s)
        source = str(item.file)  # both people of a recording are one source
        if item.eye_contact is not None:
            ec.append((item.eye_contact, _majority(s.eye_contact for s in samples), source))
        if item.eyes_closed:
            closed_n += 1
            closed_unmeasured += _majority(s.eye_contact for s in samples) is None
        if item.arms_crossed is not None:
            arms.append((item.arms_crossed, _majority(s.arms_crossed for s in samples), source))
        if item.expressiveness is not None:
            score = None if person is None else person.metrics.expressiveness.score
            expr.append((item.expressiveness, score))
        if item.looks_at_partner is not None:
            at = None
            if person is not None and not isinstance(report, str):
                at = _looking_at_partner(report, person, samples, cfg, looking)
            looks.append((item.looks_at_partner, at, source))
    return ManifestResult(
        name=path.stem,
        eye_contact=_scored(ec) if ec else None,
        eyes_closed=ClosedEyes(closed_n, closed_unmeasured) if closed_n else None,
        arms_crossed=_scored(arms) if arms else None,
        expressiveness=rank_scores(expr) if expr else None,
        looks_at_partner=_scored(looks) if looks else None,
        errors=tuple(errors),
    )


def _looking_at_partner(
    report: AnalysisReport,
    person: PersonReport,
    samples: Sequence[PersonSample],
    cfg: AnalyzerConfig,
    series_of: dict[int, list[bool | None]],
) -> bool | None:
    """What the report's partner analysis says of ``person`` looking at the other person on
    ``samples``: measured only where it makes the claim (two people, in one room).
    ``series_of`` keeps each person's series (by the person's identity) for their next items."""
    if report.partners is None or report.partners.same_room is not True or not samples:
        return None
    if id(person) not in series_of:
        other = next(p for p in report.people if p is not person)
        series_of[id(person)] = looking_at_partner(
            person.track.samples,
            other.track.samples,
            cfg.partners,
            cfg.smoothing.gaze_window_s,
        )
    series = series_of[id(person)]
    index = {id(s): i for i, s in enumerate(person.track.samples)}
    return _majority(series[index[id(s)]] for s in samples)


def _scored(items: Sequence[tuple[bool, bool | None, str]]) -> BinaryScores:
    scores = binary_scores((label, pred) for label, pred, _ in items)
    return replace(scores, ci95=binary_intervals(items))


def _fmt(v: float | None) -> str:
    return "-" if v is None else f"{v:.3f}"


def text_table(results: Sequence[ManifestResult]) -> str:
    lines = [
        f"{'set':<28} {'signal':<15} {'n':>4} {'cover':>6} {'prec':>6} {'recall':>6} "
        f"{'F1':>6} {'MCC':>6} {'kappa':>6} {'rho':>6}"
    ]
    for r in results:
        for key in BINARY:
            s = getattr(r, key)
            if s is not None:
                lines.append(
                    f"{r.name:<28} {key:<15} {s.n:>4} {s.coverage:>6.2f} {_fmt(s.precision):>6} "
                    f"{_fmt(s.recall):>6} {_fmt(s.f1):>6} {_fmt(s.mcc):>6} {_fmt(s.kappa):>6} "
                    f"{'':>6}"
                )
        if r.eyes_closed is not None:
            c = r.eyes_closed
            lines.append(
                f"{r.name:<28} {'eyes closed':<15} {c.n:>4} not measurable in {c.unmeasured}/{c.n}"
            )
        if r.expressiveness is not None:
            x = r.expressiveness
            lines.append(
                f"{r.name:<28} {'expressiveness':<15} {x.n:>4} {x.coverage:>6.2f} "
                f"{'':>6} {'':>6} {'':>6} {'':>6} {'':>6} {_fmt(x.spearman):>6}"
            )
        lines.extend(f"{r.name:<28} error: {e}" for e in r.errors)
    return "\n".join(lines)


@dataclass(frozen=True)
class Target:
    signal: str
    metric: str
    minimum: float


TARGETS = (
    Target("eye_contact", "f1", 0.93),
    Target("eye_contact", "mcc", 0.85),
    Target("arms_crossed", "f1", 0.90),
    Target("expressiveness", "spearman", 0.80),
)

ANCHORS: tuple[tuple[str, str, str], ...] = (
    (
        "eye contact",
        "Chong et al. 2020, Nature Communications: precision 0.936, recall 0.943",
        "eye contact with a head-camera wearer, as good as expert human coders",
    ),
    (
        "eye contact",
        "Smith et al. 2013, Gaze Locking: MCC > 0.83",
        "looking into the camera, Columbia Gaze set (still images)",
    ),
    (
        "eye contact",
        "Tran et al. 2019, ICE: F1 0.846",
        "eye contact in video chat, with per-session self-calibration",
    ),
    ("crossed arms", "none published from 2D video", "-"),
    ("expressiveness", "none comparable; our target: Spearman rho >= 0.8", "rankings of clips"),
)


def _metric(result: ManifestResult, signal: str, metric: str) -> float | None:
    s = getattr(result, signal)
    return None if s is None else getattr(s, metric)


def _agreement(name: str, agreement: Mapping[str, Mapping[str, object]]) -> str:
    """Inter-rater agreement of a rated set (``eye_rated_test`` -> ``eye_rated``), or '-'."""
    a = agreement.get(name.rsplit("_", 1)[0])
    if a is None:
        return "-"
    if "krippendorff_alpha" in a:
        kept = f"{a['unanimous']}/{a['items']} unanimous kept"
        return f"alpha {a['krippendorff_alpha']} ({a['raters']} raters; {kept})"
    return f"rho {a['spearman_between_raters']} ({a['raters']} raters' rankings)"


def _ci(scores: BinaryScores | RankScores, metric: str) -> str:
    ci = scores.interval(metric) if isinstance(scores, BinaryScores) else scores.spearman_ci95
    return "" if ci is None else f" [{ci[0]:.2f}, {ci[1]:.2f}]"


def markdown_report(
    results: Sequence[ManifestResult],
    notes: str = "",
    agreement: Mapping[str, Mapping[str, object]] | None = None,
) -> str:
    """docs/accuracy.md: the tables, the anchors, the targets and whether each is met.
    ``agreement``: eval/agreement.json (the rated sets' inter-rater agreement)."""
    agreement = agreement or {}
    out = [
        "# Accuracy",
        "",
        "Generated by `presence eval eval/*.csv --json eval/baseline.json --markdown "
        "docs/accuracy.md --notes eval/accuracy_notes.md` with the shipped settings (10 analyzed "
        "frames per second); `tests/test_accuracy.py` fails if a later change does worse than "
        "`eval/baseline.json`. Do not edit the tables by hand. How the sets were labelled, and "
        "which are test splits that nothing was tuned on: [eval/LABELLING.md]"
        "(../eval/LABELLING.md).",
        "",
        "Precision, recall, F1, Matthews correlation (MCC) and Cohen's kappa count only the items "
        "the pipeline could measure; `coverage` is the share of labelled items it could measure "
        "(a face not found, eyes shut, arms out of the picture are not guesses). Brackets: 95% "
        "intervals by a bootstrap over the sources (every frame of a clip drawn together, 1000 "
        "resamples; none with fewer than 5 sources); with few sources they are wide, and that is "
        "what they should say. Resamples where a measure is undefined (one class only) are left "
        "out, which narrows the interval somewhat. "
        "`agreement`: between independent raters (Krippendorff's alpha over all items; only "
        "items every rater answered alike are scored), for the `*_rated_*` sets.",
        "",
        "## Published anchors",
        "",
        "| signal | published anchor | what it measured |",
        "|---|---|---|",
        *(f"| {a} | {b} | {c} |" for a, b, c in ANCHORS),
        "",
        "## Yes/no signals",
        "",
        "| set | signal | n | agreement | coverage | precision | recall | F1 | MCC | kappa |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        for key in BINARY:
            s = getattr(r, key)
            if s is not None:
                out.append(
                    f"| {r.name} | {key.replace('_', ' ')} | {s.n} | "
                    f"{_agreement(r.name, agreement)} | {s.coverage:.2f} | "
                    f"{_fmt(s.precision)} | {_fmt(s.recall)} | "
                    f"{_fmt(s.f1)}{_ci(s, 'f1')} | {_fmt(s.mcc)}{_ci(s, 'mcc')} | "
                    f"{_fmt(s.kappa)}{_ci(s, 'kappa')} |"
                )
    closed = [r for r in results if r.eyes_closed is not None]
    if closed:
        out += ["", "Items labelled *eyes closed* (they must come out not measurable):", ""]
        for r in closed:
            c = r.eyes_closed
            assert c is not None
            out.append(f"- {r.name}: {c.unmeasured} of {c.n} not measurable")
    ranks = [r for r in results if r.expressiveness is not None]
    if ranks:
        out += [
            "",
            "## Expressiveness ranking",
            "",
            "| set | clips | agreement | coverage | Spearman rho |",
            "|---|---|---|---|---|",
        ]
        for r in ranks:
            x = r.expressiveness
            assert x is not None
            out.append(
                f"| {r.name} | {x.n} | {_agreement(r.name, agreement)} | {x.coverage:.2f} | "
                f"{_fmt(x.spearman)}{_ci(x, 'spearman')} |"
            )
    out += [
        "",
        "## Targets",
        "",
        "| signal | target | set | value | met |",
        "|---|---|---|---|---|",
    ]
    for t in TARGETS:
        for r in results:
            v = _metric(r, t.signal, t.metric)
            if getattr(r, t.signal) is None:
                continue
            met = "yes" if v is not None and v >= t.minimum else "**no**"
            out.append(
                f"| {t.signal.replace('_', ' ')} | {t.metric} ≥ {t.minimum} | {r.name} | "
                f"{_fmt(v)} | {met} |"
            )
    errors = [(r.name, e) for r in results for e in r.errors]
    if errors:
        out += ["", "Files the pipeline could not analyze:", ""]
        out += [f"- {name}: {e}" for name, e in errors]
    if notes:
        out += ["", notes.strip()]
    return "\n".join(out) + "\n"

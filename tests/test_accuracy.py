"""Accuracy on the labelled sets must not fall below the committed baseline.

The baseline (eval/baseline.json) is what `presence eval eval/*.csv --json eval/baseline.json`
measured when it was last raised on purpose. A change that makes any signal worse on any set by
more than the tolerance fails here; a change that makes it better should commit a new baseline
(and docs/accuracy.md, made the same way) so that the gain is kept.
"""

from __future__ import annotations

import json

import pytest

from analyzer.config import AnalyzerConfig
from analyzer.evaluation import SIGNALS, ManifestResult, evaluate_manifest
from tests.conftest import PROJECT_ROOT, Analyzer

EVAL = PROJECT_ROOT / "eval"
BASELINE = json.loads((EVAL / "baseline.json").read_text())
TOLERANCE = 0.02  # about one item in the smaller sets; runs are deterministic on one machine
MANIFESTS = sorted(EVAL.glob("*.csv"))
CHECKED = ("coverage", "precision", "recall", "f1", "mcc", "kappa", "spearman")


def test_every_manifest_has_a_baseline() -> None:
    assert {r["name"] for r in BASELINE["results"]} == {m.stem for m in MANIFESTS}


def test_baseline_was_measured_with_the_shipped_settings() -> None:
    assert BASELINE["settings"] == AnalyzerConfig().as_dict()


@pytest.mark.parametrize("manifest", MANIFESTS, ids=[m.stem for m in MANIFESTS])
def test_accuracy_not_below_baseline(analyzed: Analyzer, manifest) -> None:  # type: ignore[no-untyped-def]
    result: ManifestResult = evaluate_manifest(manifest, analyzed, AnalyzerConfig())
    now = result.as_dict()
    then = next(r for r in BASELINE["results"] if r["name"] == manifest.stem)
    assert now["errors"] == then["errors"]
    drops = []
    for signal in SIGNALS:
        if signal not in then:
            continue
        for metric in CHECKED:
            old = then[signal].get(metric)
            new = now[signal].get(metric)  # type: ignore[union-attr]
            if old is not None and (new is None or new < old - TOLERANCE):
                drops.append(f"{signal}.{metric}: {old} -> {new}")
    if "eyes_closed" in then:
        assert now["eyes_closed"]["unmeasured"] >= then["eyes_closed"]["unmeasured"]  # type: ignore[index]
    assert not drops, f"{manifest.stem} got worse: " + "; ".join(drops)

"""The session report says what it means (issue 12 §4): played cues only in the cue dose,
dropouts, speed changes, re-baselines and interrupted sessions marked, a PNG sharp enough to
print, legends outside the data."""

from __future__ import annotations

import json
import struct
from types import SimpleNamespace

import numpy as np
import pytest

from pi_app.analysis.types import StrideMetrics
from pi_app.records import CueEvent
from pi_app.store.report import played_cues_per_min, session_marks, summary_rows
from pi_app.store.store import StoredEvent, StoredStride


def stride(k, state, t0=10.0, period=0.75):
    m = StrideMetrics(index=k, t_start_s=t0 + k * period, t_end_s=t0 + (k + 1) * period,
                      cadence_spm=160.0)
    return StoredStride(metrics=m, drift_state=state)


def event(kind, t_s, **detail):
    return StoredEvent(t_unix_s=0.0, t_s=None, kind=kind,
                       detail=json.dumps({"t_s": t_s, **detail}))


def session(events=(), states=("in_band",) * 10, status="ended"):
    strides = [stride(k, s) for k, s in enumerate(states)]
    summary = SimpleNamespace(status=status, t_first_s=10.0,
                              t_last_s=strides[-1].metrics.t_end_s)
    return SimpleNamespace(summary=summary, strides=strides, events=list(events), cues=[],
                           steps=[])


def test_marks_dropouts_speed_changes_rebaselines_and_interruption():
    states = ["in_band"] * 4 + ["suppressed"] * 3 + ["building_baseline"] * 3 + \
        ["in_band"] * 2 + ["suppressed"] * 2 + ["in_band"]
    data = session([event("sensor_lost", 12.0, role="thorax"),
                    event("sensor_back", 14.0, role="thorax"),
                    event("baseline_restart", 15.0),
                    event("sensor_lost", 18.0, role="pelvis")],
                   states=states, status="interrupted")
    marks = session_marks(data)
    assert marks.dropouts == [(12.0, 14.0, "thorax"),
                              (18.0, data.summary.t_last_s, "pelvis")]
    assert marks.speed_changes == [10.0 + 4 * 0.75, 10.0 + 12 * 0.75]
    assert marks.rebaselines == [(15.0, "re-baseline (B)")]
    assert marks.interrupted
    events_row = dict(summary_rows_of(data))["Events"]
    assert "2 sensor dropout(s)" in events_row and "INTERRUPTED" in events_row


def summary_rows_of(data):
    data.summary.id, data.summary.athlete_name, data.summary.athlete_id = 1, "A", ""
    data.summary.start_unix_s, data.summary.duration_s = 0.0, 60.0
    data.summary.simulated, data.summary.notes = False, ""
    return summary_rows(data)


def test_cue_dose_counts_played_cues_not_withheld_decisions():
    cues = [CueEvent(t_s=10.0 + k, kind="thorax_late", intensity=0.5, played=k % 10 == 0,
                     reason="" if k % 10 == 0 else "min interval") for k in range(60)]
    rate = played_cues_per_min(cues, 10.0, np.array([0.0, 0.5, 1.0]))
    np.testing.assert_allclose(rate, [3 / 0.5, 3 / 0.5])   # 6 played in 60 decisions


@pytest.fixture(scope="module")
def report_png(tmp_path_factory):
    from pi_app.cli import main
    from pi_app.app import import_recording
    from pi_app.store.store import SessionStore
    pytest.importorskip("matplotlib")
    root = tmp_path_factory.mktemp("report")
    rec = root / "run.csv"
    assert main(["record", "--simulate", "--seed", "2", "--seconds", "12", "-o", str(rec),
                 "--quiet"]) == 0
    with SessionStore.open(root / "state") as store:
        sid = import_recording(store, rec)
    out = root / "r.png"
    assert main(["report", str(sid), "-o", str(out), "--state-dir", str(root / "state")]) == 0
    return out


@pytest.mark.slow
def test_png_report_is_at_least_150_dpi_on_a4(report_png):
    head = report_png.read_bytes()[:24]
    width_px, height_px = struct.unpack(">II", head[16:24])
    assert width_px >= 8.27 * 150 and height_px >= 11.69 * 150


@pytest.mark.slow
def test_legends_are_outside_the_plotted_data(monkeypatch, tmp_path):
    """Every legend's box lies above its panel (none overlaps the axes area)."""
    from matplotlib.figure import Figure
    boxes = []
    real_savefig = Figure.savefig

    def spy(fig, *a, **k):
        fig.canvas.draw()
        renderer = fig.canvas.get_renderer()
        for ax in fig.axes:
            leg = ax.get_legend()
            if leg is not None:
                boxes.append((leg.get_window_extent(renderer), ax.get_window_extent(renderer)))
        return real_savefig(fig, *a, **k)
    monkeypatch.setattr(Figure, "savefig", spy)
    from pi_app.cli import main
    from pi_app.app import import_recording
    from pi_app.store.store import SessionStore
    rec = tmp_path / "run.csv"
    assert main(["record", "--simulate", "--seed", "2", "--seconds", "12", "-o", str(rec),
                 "--quiet"]) == 0
    with SessionStore.open(tmp_path / "state") as store:
        sid = import_recording(store, rec)
    assert main(["report", str(sid), "-o", str(tmp_path / "r.pdf"), "--state-dir",
                 str(tmp_path / "state")]) == 0
    assert boxes
    for legend_box, axes_box in boxes:
        assert legend_box.y0 >= axes_box.y1 - 1.0

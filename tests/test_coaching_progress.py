"""`pi-app progress`: per-session numbers from the store, verdicts with their statistic, the
figure written (stored sessions built with known truth, seeded)."""

import json

import numpy as np
import pytest

from pi_app.cli import main
from pi_app.coaching.progress import athlete_points, verdicts
from pi_app.store import SessionStore
from pi_app.store.athletes import add_athlete, find_athlete
from pi_app.store.schema import STRIDE_COLUMNS


def _session(conn, athlete_id, k, in_band_frac, rng, feedback="full", n=200, cues=3):
    cur = conn.execute(
        "INSERT INTO sessions (athlete_name, start_unix_s, end_unix_s, t_first_s, t_last_s, "
        "athlete_ref, programme_session, planned_duration_s, feedback) "
        "VALUES ('Ana', ?, ?, 0.0, ?, ?, ?, ?, ?)",
        (1e9 + k * 86400, 1e9 + k * 86400 + 600, 600.0, athlete_id, k, 600.0, feedback))
    sid = cur.lastrowid
    center, half = 300.0, 15.0
    inside = rng.random(n) < in_band_frac
    rel = np.where(inside, center + rng.uniform(-10, 10, n), center + 30 + rng.uniform(0, 5, n))
    rows = []
    for i in range(n):
        t0 = i * 3.0
        row = dict.fromkeys(STRIDE_COLUMNS)
        row.update(session_id=sid, stride=i, t_start_s=t0, t_end_s=t0 + 0.7, cadence_spm=170.0,
                   pelvis_rom_deg=12.0 + 0.1 * k, thorax_rom_deg=22.0, pelvis_phase_deg=200.0,
                   thorax_phase_deg=(200 + rel[i]) % 360, rel_phase_deg=rel[i] % 360,
                   quality="", drift=0, drifting_metrics="", band_center_deg=center,
                   band_half_width_deg=half, band_source="baseline")
        rows.append(tuple(row[c] for c in STRIDE_COLUMNS))
    conn.executemany(f"INSERT INTO strides ({','.join(STRIDE_COLUMNS)}) VALUES "
                     f"({','.join('?' * len(STRIDE_COLUMNS))})", rows)
    for c in range(cues):
        conn.execute("INSERT INTO cues VALUES (?, ?, 'rel_phase', 1.0, 1, '', 5.0)",
                     (sid, 10.0 * c))
    return sid


@pytest.fixture
def state(tmp_path):
    rng = np.random.default_rng(4)
    with SessionStore.open(tmp_path) as store:
        ana = add_athlete(store, "Ana")
        with store.conn as conn:
            for k, frac in enumerate([0.5, 0.6, 0.7, 0.8, 0.9, 0.95], start=1):
                _session(conn, ana.id, k, frac, rng)
            _session(conn, ana.id, 7, 0.9, rng, feedback="none", cues=0)
    return tmp_path


def test_points_and_verdicts(state):
    with SessionStore.open(state, read_only=True) as store:
        points = athlete_points(store, find_athlete(store, "ana"))
    assert len(points) == 7 and points[-1].retention
    assert 40 < points[0].in_band_pct < 60 and points[4].in_band_pct > 80
    assert points[0].cues_per_min == pytest.approx(0.3)
    found = {v.metric: v for v in verdicts(points)}
    assert found["in_band"].word == "improving"
    assert "Theil-Sen slope" in found["in_band"].text and "Kendall tau" in found["in_band"].text
    assert found["cadence"].word == "stable"          # constant cadence
    assert found["pelvis_rom"].word == "rising"
    assert found["retention"].word == "improving"
    assert "no cues" in found["retention"].text


def test_too_few_sessions_say_so(tmp_path):
    rng = np.random.default_rng(1)
    with SessionStore.open(tmp_path) as store:
        ana = add_athlete(store, "Ana")
        with store.conn as conn:
            _session(conn, ana.id, 1, 0.5, rng)
        found = verdicts(athlete_points(store, ana))
    assert found[0].word == "too few sessions" and "n=1" in found[0].text


def test_cli_writes_the_figure(state, tmp_path, capsys):
    out = tmp_path / "progress.png"
    assert main(["progress", "ana", "-o", str(out), "--state-dir", str(state), "--json"]) == 0
    assert out.stat().st_size > 20_000
    data = json.loads(capsys.readouterr().out)
    assert len(data["sessions"]) == 7 and data["sessions"][-1]["retention"]
    assert any(v["metric"] == "in_band" and v["word"] == "improving" for v in data["verdicts"])
    assert main(["progress", "ana", "-o", str(tmp_path / "p.jpg"), "--state-dir",
                 str(state)]) == 2


def test_a_stride_with_a_band_centre_but_no_width_is_not_judged(tmp_path):
    """A stored stride whose band lost its half width (a hand-edited or half-written row) is
    left out of "in band" instead of failing the whole progress view."""
    rng = np.random.default_rng(2)
    with SessionStore.open(tmp_path) as store:
        ana = add_athlete(store, "Ana")
        with store.conn as conn:
            sid = _session(conn, ana.id, 1, 1.0, rng, n=10)
            conn.execute("UPDATE strides SET band_half_width_deg = NULL "
                         "WHERE session_id = ? AND stride < 5", (sid,))
        points = athlete_points(store, ana)
    assert points[0].in_band_pct == pytest.approx(100.0)     # the 5 complete ones, all inside

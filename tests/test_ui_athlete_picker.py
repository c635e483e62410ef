"""Choosing the athlete on the dashboard before a run (pi_app.ui.athlete_picker) and the
coaching side of it (pi_app.app.choose_on_dashboard)."""


import pygame
import pytest

from pi_app.clock import ManualClock
from pi_app.app import choose_on_dashboard
from pi_app.coaching.live import athletes_by_recency
from pi_app.store import SessionStore
from pi_app.store.athletes import add_athlete
from pi_app.ui.athlete_picker import AthletePicker, choose_athlete, draw_picker, key_name

NAMES = ["Ana Silva", "Ben Ode", "Cleo Park"]


def test_arrows_and_enter_choose_a_row():
    p = AthletePicker(NAMES, 30.0, now_s=0.0)
    p.key("down", 1.0)
    assert p.key("enter", 2.0).name == "Ben Ode"


def test_number_chooses_its_row_and_esc_chooses_none():
    assert AthletePicker(NAMES, 30.0, 0.0).key("3", 1.0).name == "Cleo Park"
    result = AthletePicker(NAMES, 30.0, 0.0).key("escape", 1.0)
    assert result.name is None and "no athlete" in result.why
    # The last row is "no athlete" too.
    p = AthletePicker(NAMES, 30.0, 0.0)
    p.key("up", 1.0)
    assert p.rows()[p.index] is None and p.key("enter", 2.0).name is None


def test_typing_narrows_the_list_and_a_new_name_is_added():
    p = AthletePicker(NAMES, 30.0, 0.0)
    for ch in "ben":
        p.text(ch, 1.0)
    assert p.rows() == ["Ben Ode", None]
    assert p.key("enter", 2.0).name == "Ben Ode"
    p = AthletePicker(NAMES, 30.0, 0.0)
    for ch in "Dia  Ray":
        p.text(ch, 1.0)
    assert p.rows() == [None] and p.new_name() == "Dia Ray"
    result = p.key("enter", 2.0)
    assert result.name == "Dia Ray" and "new" in result.why
    p = AthletePicker(NAMES, 30.0, 0.0)
    for ch in "x":
        p.text(ch, 1.0)
    p.key("backspace", 1.5)
    assert p.typed == "" and len(p.rows()) == 4


def test_no_key_for_the_timeout_runs_without_an_athlete_and_a_key_restarts_it():
    p = AthletePicker(NAMES, 30.0, now_s=0.0)
    assert p.tick(29.9) is None
    p.key("down", 20.0)                        # the coach is there: the countdown restarts
    assert p.tick(49.9) is None and p.remaining_s(45.0) == pytest.approx(5.0)
    result = p.tick(50.0)
    assert result.name is None and "no key pressed for 30 s" in result.why


def test_key_names_come_from_pygames_codes():
    assert key_name(pygame.K_UP) == "up" and key_name(pygame.K_RETURN) == "enter"
    assert key_name(pygame.K_KP_ENTER) == "enter" and key_name(pygame.K_2) == "2"
    assert key_name(pygame.K_KP3) == "3" and key_name(pygame.K_a) is None


@pytest.fixture
def screen(monkeypatch):
    monkeypatch.setenv("SDL_VIDEODRIVER", "dummy")
    pygame.display.init()
    from pi_app.ui.display import WindowScreen
    screen = WindowScreen(pygame.display.set_mode((1280, 720)), fullscreen=False)
    yield type("UI", (), {"screen": screen})()
    pygame.display.quit()


def _post_key(key, text=None):
    pygame.event.post(pygame.event.Event(pygame.KEYDOWN, key=key, mod=0, unicode=text or ""))
    if text:
        pygame.event.post(pygame.event.Event(pygame.TEXTINPUT, text=text))


def test_on_screen_keys_choose_and_the_screen_shows_the_list(screen):
    clock = ManualClock()
    pygame.event.clear()
    _post_key(pygame.K_DOWN)
    _post_key(pygame.K_RETURN)
    assert choose_athlete(screen, NAMES, 30.0, clock).name == "Ben Ode"
    # Typed letters arrive as text input; a digit while typing is part of the name.
    pygame.event.clear()
    for ch in "Cleo":
        _post_key(pygame.key.key_code(ch.lower()), ch)
    _post_key(pygame.K_RETURN)
    assert choose_athlete(screen, NAMES, 30.0, clock).name == "Cleo Park"
    surface = pygame.Surface((1280, 720))
    p = AthletePicker(NAMES, 30.0, 0.0)
    draw_picker(surface, p, 12.0)
    # The first row is highlighted (selected); the second is not.
    from pi_app.ui import widgets as W
    assert tuple(surface.get_at((50, 215)))[:3] == W.OK_DARK
    assert tuple(surface.get_at((50, 263)))[:3] == W.BG


def test_no_choice_never_blocks_the_run(screen):
    clock = ManualClock()
    pygame.event.clear()
    frames = []
    result = choose_athlete(screen, NAMES, 30.0, clock, on_frame=frames.append)
    assert result.name is None and clock.now_s() == pytest.approx(30.0, abs=0.11)
    assert frames[0] == pytest.approx(30.0) and frames[-1] < 0.2


def test_closing_the_window_chooses_none_and_the_app_still_quits(screen):
    pygame.event.clear()
    pygame.event.post(pygame.event.Event(pygame.QUIT))
    assert choose_athlete(screen, NAMES, 30.0, ManualClock()).name is None
    assert any(e.type == pygame.QUIT for e in pygame.event.get())


def test_dashboard_choice_lists_the_store_most_recent_first(tmp_path, screen):
    assert athletes_by_recency(tmp_path) == []
    # With no athlete in the store (or no store) there is nothing to choose: no picker.
    assert choose_on_dashboard(screen, tmp_path, 30.0, ManualClock()) == ""
    with SessionStore.open(tmp_path) as store:
        for name in NAMES:
            add_athlete(store, name)
        store.conn.execute("INSERT INTO sessions (start_unix_s, athlete_ref, athlete_name) "
                           "SELECT 100.0, id, name FROM athletes WHERE name = 'Cleo Park'")
        store.conn.commit()
    assert athletes_by_recency(tmp_path)[0] == "Cleo Park"
    pygame.event.clear()
    _post_key(pygame.K_RETURN)
    statuses = []
    assert choose_on_dashboard(screen, tmp_path, 30.0, ManualClock(),
                               status=statuses.append) == "Cleo Park"
    assert statuses == []                 # chosen before the first frame: nothing to say
    pygame.event.clear()
    clock = ManualClock()
    assert choose_on_dashboard(screen, tmp_path, 2.0, clock, status=statuses.append) == ""
    # One status line per second shown, not one per frame.
    assert statuses == [f"waiting for the coach to choose the athlete ({n} s left)"
                        for n in (2, 1, 0)]
    assert choose_on_dashboard(None, tmp_path, 30.0, ManualClock()) == ""   # headless
    assert choose_on_dashboard(screen, tmp_path, 0.0, ManualClock()) == ""  # switched off


@pytest.mark.slow
def test_run_on_the_dashboard_records_the_athlete_the_coach_chose(tmp_path, monkeypatch):
    """`pi-app run` without --athlete: the list comes up on the dashboard, the coach presses
    2, and the session belongs to that athlete (as with --athlete)."""
    from pi_app import app as app_root
    from pi_app.cli import build_parser
    from pi_app.commands import run as run_cmd
    from pi_app.ui.display import LiveUI, WindowScreen
    config = tmp_path / "lab.toml"
    config.write_text('[sensors]\nsimulate = "steady"\nacquisition = "thread"\n'
                      '[buzzer]\nenabled = false\n[audio]\nenabled = false\n', encoding="utf-8")
    with SessionStore.open(tmp_path) as store:
        for name in NAMES:
            add_athlete(store, name)
    monkeypatch.setenv("SDL_VIDEODRIVER", "dummy")
    pygame.display.init()
    ui = LiveUI(WindowScreen(pygame.display.set_mode((1280, 720)), fullscreen=False),
                simulated=True)
    monkeypatch.setattr(run_cmd, "_open_display", lambda cfg, headless: ui)
    real_run_live = app_root.run_live

    def short_run_live(cfg, clock, bus, **kwargs):
        kwargs.update(seconds=1.0, install_signals=False)
        return real_run_live(cfg, clock, bus, **kwargs)
    monkeypatch.setattr(app_root, "run_live", short_run_live)
    pygame.event.clear()
    _post_key(pygame.K_2)
    args = build_parser().parse_args(["run", "--config", str(config), "--state-dir",
                                      str(tmp_path)])
    assert run_cmd.run(args) == 0
    with SessionStore.open(tmp_path, read_only=True) as store:
        (summary,) = store.list_sessions()
    assert summary.athlete_name == "Ben Ode" and summary.athlete_ref is not None


def test_waiting_for_the_coach_keeps_systemds_start_timeout_away(monkeypatch):
    """Under systemd the list extends the start-up timeout (TimeoutStartSec runs until READY)
    and says in the status line that it waits for the coach (the real datagrams)."""
    import socket
    import uuid

    from pi_app.service import ServiceNotifier
    name = f"pi-app-test-{uuid.uuid4().hex}"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind("\0" + name)
    sock.setblocking(False)
    try:
        notifier = ServiceNotifier(ManualClock(), env={"NOTIFY_SOCKET": "@" + name})
        assert notifier.extend_start(20.0)
        assert notifier.status("waiting for the coach to choose the athlete (29 s left)")
        got = []
        while True:
            try:
                got.append(sock.recv(4096).decode())
            except BlockingIOError:
                break
    finally:
        sock.close()
    assert got == ["EXTEND_TIMEOUT_USEC=20000000",
                   "STATUS=waiting for the coach to choose the athlete (29 s left)"]

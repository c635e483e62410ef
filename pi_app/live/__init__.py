"""The live app: sensor thread, analysis thread and UI wired together.

    sensor thread (SensorThread: drains the FIFOs into rings every drain interval)
        │ rings
    analysis thread (LiveSession.step: coach commands ▸ align ▸ Analyzer ▸ cue engine ▸
        │             snapshot ▸ session hooks)
        │ SnapshotBox (newest snapshot)          ▲ CommandQueue (coach keys)
    UI main thread (draws the newest snapshot, turns keys into commands; optional)

`LiveSession` is the analysis side with no thread in it: `step()` analyses whatever the
sensor thread has delivered since the last call. `LiveApp` runs it on a thread next to the
sensor thread (real or scaled clock); `run_stepped` instead drives the sensor reader and the
session in one loop on a `ManualClock`, deterministic and as fast as the CPU allows (tests,
`pi-app demo --headless --speed X`). Cues are decided in the analysis step, so the display
never delays them.

Session hooks (`SessionHook`: on_chunk, on_update, on_cue, on_event) receive everything the
analysis produced, in order, on the analysis thread: the event log (pi_app.live.events) and
the session store subscribe this way. A hook that raises is counted and shown, never fatal.

Modules: `session` (LiveSession, run_stepped, hooks, heartbeats), `threads` (LiveApp),
`snapshot` (what the dashboard reads, coach commands), `printer` (headless stride lines),
`events` (the JSON-lines event log), `service_status` (what systemd is told). The live app
is built from the config in one place, the composition root `pi_app.app`.
"""

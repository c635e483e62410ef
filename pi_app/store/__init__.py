"""Session store: one SQLite database of recorded sessions (raw samples, steps, strides, cues,
events), written live by `SessionRecorder` and read by the sessions/export/report/replay
commands."""

from pi_app.store.store import (SessionData, SessionInfo, SessionStore, SessionStoreError,
                                SessionSummary, StoredEvent, StoredStride, database_path)
from pi_app.store.writer import SessionRecorder

__all__ = ["SessionData", "SessionInfo", "SessionRecorder", "SessionStore",
           "SessionStoreError", "SessionSummary", "StoredEvent", "StoredStride",
           "database_path"]

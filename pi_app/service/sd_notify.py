"""The systemd notification datagram (sd_notify(3)) in a few lines of stdlib.

systemd passes `NOTIFY_SOCKET` to a `Type=notify` service: a filesystem path, or an abstract
socket name written with a leading '@'. A message is newline-separated `KEY=value` lines
(`READY=1`, `STATUS=...`, `WATCHDOG=1`, `STOPPING=1`) sent as one datagram.
"""

from __future__ import annotations

import os
import socket
from typing import Mapping


def notify_address(env: Mapping[str, str] | None = None) -> str | None:
    """The socket address from `NOTIFY_SOCKET` ('@name' becomes the abstract '\\0name'), or
    None when unset or of a kind we cannot use (e.g. vsock)."""
    value = (os.environ if env is None else env).get("NOTIFY_SOCKET", "")
    if value.startswith("@"):
        return "\0" + value[1:]
    if value.startswith("/"):
        return value
    return None


def sd_notify(message: str, env: Mapping[str, str] | None = None) -> bool:
    """Send `message` to systemd; True when it was sent, False when there is no socket or
    sending failed (notification is best effort: it must never stop the app)."""
    address = notify_address(env)
    if address is None:
        return False
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
            # Non-blocking: if nobody drains the socket, a full queue must cost a missed
            # notification (the watchdog then restarts us), never a hung main loop.
            sock.setblocking(False)
            sock.connect(address)
            sock.send(message.encode("utf-8", "replace"))
    except OSError:
        return False
    return True

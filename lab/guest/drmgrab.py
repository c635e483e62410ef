"""Read back what a KMS/DRM device scans out, as root, without being its master: the CRTC's
current framebuffer (GETCRTC), its buffer handle (GETFB2, needs CAP_SYS_ADMIN), mapped through
the dumb-buffer interface (MAP_DUMB + mmap) and written as a PNG. Stdlib only (runs on the
guest's system Python).

    python3 drmgrab.py /dev/dri/card0 out.png      -> prints one JSON line (fb id, size, format)
"""

from __future__ import annotations

import ctypes
import fcntl
import json
import mmap
import os
import struct
import sys
import zlib

_IOC_READ_WRITE = 3


def _iowr(nr: int, size: int) -> int:
    return (_IOC_READ_WRITE << 30) | (size << 16) | (ord("d") << 8) | nr


class _CardRes(ctypes.Structure):
    _fields_ = [("fb_id_ptr", ctypes.c_uint64), ("crtc_id_ptr", ctypes.c_uint64),
                ("connector_id_ptr", ctypes.c_uint64), ("encoder_id_ptr", ctypes.c_uint64),
                ("count_fbs", ctypes.c_uint32), ("count_crtcs", ctypes.c_uint32),
                ("count_connectors", ctypes.c_uint32), ("count_encoders", ctypes.c_uint32),
                ("min_width", ctypes.c_uint32), ("max_width", ctypes.c_uint32),
                ("min_height", ctypes.c_uint32), ("max_height", ctypes.c_uint32)]


class _ModeInfo(ctypes.Structure):
    _fields_ = [("clock", ctypes.c_uint32)] + [
        (n, ctypes.c_uint16) for n in ("hdisplay", "hsync_start", "hsync_end", "htotal",
                                       "hskew", "vdisplay", "vsync_start", "vsync_end",
                                       "vtotal", "vscan")] + [
        ("vrefresh", ctypes.c_uint32), ("flags", ctypes.c_uint32), ("type", ctypes.c_uint32),
        ("name", ctypes.c_char * 32)]


class _Crtc(ctypes.Structure):
    _fields_ = [("set_connectors_ptr", ctypes.c_uint64), ("count_connectors", ctypes.c_uint32),
                ("crtc_id", ctypes.c_uint32), ("fb_id", ctypes.c_uint32),
                ("x", ctypes.c_uint32), ("y", ctypes.c_uint32),
                ("gamma_size", ctypes.c_uint32), ("mode_valid", ctypes.c_uint32),
                ("mode", _ModeInfo)]


class _FbCmd2(ctypes.Structure):
    _fields_ = [("fb_id", ctypes.c_uint32), ("width", ctypes.c_uint32),
                ("height", ctypes.c_uint32), ("pixel_format", ctypes.c_uint32),
                ("flags", ctypes.c_uint32), ("handles", ctypes.c_uint32 * 4),
                ("pitches", ctypes.c_uint32 * 4), ("offsets", ctypes.c_uint32 * 4),
                ("modifier", ctypes.c_uint64 * 4)]


class _MapDumb(ctypes.Structure):
    _fields_ = [("handle", ctypes.c_uint32), ("pad", ctypes.c_uint32),
                ("offset", ctypes.c_uint64)]


GETRESOURCES = _iowr(0xA0, ctypes.sizeof(_CardRes))
GETCRTC = _iowr(0xA1, ctypes.sizeof(_Crtc))
MAP_DUMB = _iowr(0xB3, ctypes.sizeof(_MapDumb))
GETFB2 = _iowr(0xCE, ctypes.sizeof(_FbCmd2))
# drm_fourcc.h: little-endian 32-bit pixels, blue in the lowest byte.
XRGB8888 = int.from_bytes(b"XR24", "little")
ARGB8888 = int.from_bytes(b"AR24", "little")


def _crtc_ids(fd: int) -> list[int]:
    res = _CardRes()
    fcntl.ioctl(fd, GETRESOURCES, res)
    ids = (ctypes.c_uint32 * max(1, res.count_crtcs))()
    res2 = _CardRes(crtc_id_ptr=ctypes.addressof(ids), count_crtcs=res.count_crtcs)
    fcntl.ioctl(fd, GETRESOURCES, res2)
    return list(ids[:res2.count_crtcs])


def scanout(device: str) -> tuple[dict, bytes]:
    """(facts, RGB bytes) of the first CRTC that shows a framebuffer."""
    fd = os.open(device, os.O_RDWR | os.O_CLOEXEC)
    try:
        for crtc_id in _crtc_ids(fd):
            crtc = _Crtc(crtc_id=crtc_id)
            fcntl.ioctl(fd, GETCRTC, crtc)
            if crtc.fb_id:
                break
        else:
            raise RuntimeError(f"no CRTC of {device} shows a framebuffer (nothing displayed)")
        fb = _FbCmd2(fb_id=crtc.fb_id)
        fcntl.ioctl(fd, GETFB2, fb)
        if fb.pixel_format not in (XRGB8888, ARGB8888):
            raise RuntimeError(f"framebuffer format {fb.pixel_format:#x} not supported")
        if not fb.handles[0]:
            raise RuntimeError("GETFB2 returned no buffer handle (needs root)")
        md = _MapDumb(handle=fb.handles[0])
        fcntl.ioctl(fd, MAP_DUMB, md)
        pitch, width, height = fb.pitches[0], fb.width, fb.height
        size = fb.offsets[0] + pitch * height
        with mmap.mmap(fd, size, mmap.MAP_SHARED, mmap.PROT_READ, offset=md.offset) as m:
            raw = m[fb.offsets[0]:size]
    finally:
        os.close(fd)
    rows = []
    for y in range(height):
        row = raw[y * pitch: y * pitch + width * 4]
        rgb = bytearray(width * 3)
        rgb[0::3] = row[2::4]
        rgb[1::3] = row[1::4]
        rgb[2::3] = row[0::4]
        rows.append(bytes(rgb))
    facts = {"crtc_id": crtc.crtc_id, "fb_id": crtc.fb_id, "width": width, "height": height,
             "mode": crtc.mode.name.decode(errors="replace"),
             "vrefresh_hz": crtc.mode.vrefresh, "modifier": fb.modifier[0]}
    return facts, b"".join(rows)


def write_png(path: str, width: int, height: int, rgb: bytes) -> None:
    """An 8-bit RGB PNG (no filter)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(
            ">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    stride = width * 3
    lines = b"".join(b"\x00" + rgb[y * stride:(y + 1) * stride] for y in range(height))
    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n")
        f.write(chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)))
        f.write(chunk(b"IDAT", zlib.compress(lines, 6)))
        f.write(chunk(b"IEND", b""))


def main(argv: list[str]) -> int:
    device, out = argv[1], argv[2]
    try:
        facts, rgb = scanout(device)
    except (OSError, RuntimeError) as err:
        print(json.dumps({"ok": False, "error": str(err)}))
        return 1
    write_png(out, facts["width"], facts["height"], rgb)
    # A blank screen is not a dashboard: count distinct colours on a coarse grid.
    w, h = facts["width"], facts["height"]
    colours = {rgb[(y * w + x) * 3:(y * w + x) * 3 + 3] for y in range(0, h, 8)
               for x in range(0, w, 8)}
    facts.update(ok=True, png=out, distinct_colours=len(colours),
                 crc32=zlib.crc32(rgb) & 0xFFFFFFFF)
    print(json.dumps(facts))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

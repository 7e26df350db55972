"""Draw the demo's receipt images (examples/vision/receipts/*.png) with zlib alone.

Each is a 96x128 white slip with dark bars for its printed lines, a pattern of its own
so every file has its own bytes (and digest). The images carry no readable text: the
recorded answers come from the loopback simulator (record_from_simulator.py), which
knows each receipt's total by the image's digest, not from a model reading it.

    python examples/vision/make_receipts.py
"""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

HERE = Path(__file__).resolve().parent
WIDTH, HEIGHT = 96, 128
RECEIPTS = 6


def png(rows: list[bytes]) -> bytes:
    """An 8-bit grayscale PNG of these rows (each WIDTH bytes)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = struct.pack(">I", zlib.crc32(kind + data))
        return struct.pack(">I", len(data)) + kind + data + crc

    header = struct.pack(">IIBBBBB", WIDTH, len(rows), 8, 0, 0, 0, 0)
    raw = b"".join(b"\x00" + row for row in rows)
    body = chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b"")
    return b"\x89PNG\r\n\x1a\n" + body


def receipt(number: int) -> list[bytes]:
    """White paper; a line of 'text' every 10 pixels, its length set by the receipt's number."""
    rows = []
    for y in range(HEIGHT):
        line, inside = divmod(y - 8, 10)
        length = 20 + (number * 17 + line * 29) % 60
        printed = 0 <= line < 11 and inside < 4
        rows.append(bytes(40 if printed and 8 <= x < 8 + length else 250 for x in range(WIDTH)))
    return rows


def main() -> None:
    folder = HERE / "receipts"
    folder.mkdir(exist_ok=True)
    for number in range(1, RECEIPTS + 1):
        (folder / f"r{number}.png").write_bytes(png(receipt(number)))
    print(f"wrote {RECEIPTS} receipts to {folder}")


if __name__ == "__main__":
    main()

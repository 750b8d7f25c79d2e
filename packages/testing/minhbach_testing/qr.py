"""QR codes on pages read back as a phone would read them: zxing-cpp, a decoder of its own.

`read_qr_png` reads a screenshot (Chromium's drawing of the page); `read_qr_svg` draws the
inline SVG the notifier writes (one path of rectangles, `M x y h w v h h -w z`, in modules,
inside a quiet zone) with Pillow and reads that.
"""

from __future__ import annotations

import io
import re

import zxingcpp
from PIL import Image, ImageDraw

_VIEW_BOX = re.compile(r'viewBox="0 0 (\d+) (\d+)"')
_TRANSLATE = re.compile(r'transform="translate\((\d+) (\d+)\)"')
_RECTANGLE = re.compile(r"M(\d+) (\d+)h(\d+)v(\d+)h-\3z")
PIXELS_PER_MODULE = 8


def read_qr_png(png: bytes) -> str | None:
    """The text of the one QR code in a PNG picture; None when none can be read."""
    return _read(Image.open(io.BytesIO(png)))


def read_qr_svg(svg: str) -> str | None:
    """The text of a QR code drawn as the notifier's inline SVG; None when none can be read."""
    box, shift = _VIEW_BOX.search(svg), _TRANSLATE.search(svg)
    assert box and shift, f"not a QR code as the notifier draws one: {svg[:200]}"
    width, height = (int(v) * PIXELS_PER_MODULE for v in box.groups())
    dx, dy = (int(v) for v in shift.groups())
    picture = Image.new("L", (width, height), 255)
    pen = ImageDraw.Draw(picture)
    rectangles = _RECTANGLE.findall(svg)
    assert rectangles, "a QR code with no dark modules"
    for x, y, w, h in ((int(v) for v in r) for r in rectangles):
        left, top = (x + dx) * PIXELS_PER_MODULE, (y + dy) * PIXELS_PER_MODULE
        pen.rectangle((left, top, left + w * PIXELS_PER_MODULE - 1, top + h * PIXELS_PER_MODULE - 1), fill=0)
    return _read(picture)


def _read(picture: Image.Image) -> str | None:
    found = zxingcpp.read_barcode(picture)
    if found is None:
        return None
    assert found.format == zxingcpp.BarcodeFormat.QRCode, f"a {found.format}, not a QR code"
    return found.text

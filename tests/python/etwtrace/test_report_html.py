"""The HTML report in a real headless browser (Debian's chromium, which
.ci/run installs, driven by Playwright from PyPI with executable_path): no
console errors, a search finds a known function, a click on a frame
zooms, and a screenshot is not blank. Skipped where chromium is not
installed (the test-versions chroots) and in the sanitizer run; where it
is, a missing playwright fails in CI (CI set) and skips elsewhere.
"""

import os
import shutil
import struct
import zlib

import pytest

from etwtrace_helpers import IN_CI, SANITIZED, capture, needs_core, run

CHROMIUM = shutil.which('chromium') or shutil.which('chromium-browser')
try:
    from playwright.sync_api import sync_playwright
except ImportError:      # pragma: no cover - depends on the environment
    sync_playwright = None

pytestmark = [
    needs_core,
    pytest.mark.skipif(CHROMIUM is None, reason='chromium is not installed (Debian: chromium)'),
    pytest.mark.skipif(SANITIZED, reason='the browser would inherit the preloaded sanitizer runtime; '
                                         'the page is written by C code the other tests run sanitized'),
    pytest.mark.skipif(sync_playwright is None and not IN_CI,
                       reason='playwright is not installed (pip); in CI this test fails instead'),
]


def png_pixels(data):
    """(width, height, rows of RGB(A) bytes) of an 8-bit RGB/RGBA PNG."""
    assert data[:8] == b'\x89PNG\r\n\x1a\n'
    pos, idat, width = 8, b'', None
    while pos < len(data):
        length, kind = struct.unpack('>I4s', data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        if kind == b'IHDR':
            width, height, depth, colour = struct.unpack('>IIBB', body[:10])
            assert depth == 8 and colour in (2, 6), (depth, colour)
            channels = 3 if colour == 2 else 4
        elif kind == b'IDAT':
            idat += body
        pos += 12 + length
    raw = zlib.decompress(idat)
    stride = width * channels
    rows, prev = [], bytearray(stride)
    for y in range(height):
        kind, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - channels] if i >= channels else 0
            b, c = prev[i], prev[i - channels] if i >= channels else 0
            if kind == 1:
                line[i] = (line[i] + a) & 255
            elif kind == 2:
                line[i] = (line[i] + b) & 255
            elif kind == 3:
                line[i] = (line[i] + (a + b) // 2) & 255
            elif kind == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        rows.append(bytes(line))
        prev = line
    return width, height, rows, channels


@pytest.fixture(scope='module')
def page_file(tmp_path_factory):
    tmp = tmp_path_factory.mktemp('html')
    capture(tmp, 'report_known.py', mode='instrumented')
    out = tmp / 'report.html'
    run(['-m', 'etwtrace', 'report', tmp / 'report_known.etl', '--format', 'html', '-o', out])
    return out


def test_html_report_in_chromium(page_file, tmp_path):
    assert sync_playwright, 'CI needs playwright (pip; the Makefile installs it) to drive chromium'
    errors, requests = [], []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=['--no-sandbox'])
        try:
            page = browser.new_page(viewport={'width': 1200, 'height': 800})
            page.on('console', lambda m: errors.append(m.text) if m.type == 'error' else None)
            page.on('pageerror', lambda e: errors.append(str(e)))
            page.on('request', lambda r: requests.append(r.url) if not r.url.startswith('file:') else None)
            page.goto(page_file.as_uri())
            page.wait_for_selector('#top tbody tr')
            assert page.title() == 'report_known.etl'

            # The table lists the program's functions with their call counts.
            rows = page.locator('#top tbody tr').all_inner_texts()
            leaf = [r for r in rows if 'leaf' in r and 'report_known.py:12' in r]
            assert leaf and '\t8\t' in leaf[0], rows[:10]

            # Search: matches highlighted and counted.
            page.fill('#search', '/^rec$/')
            matched = page.inner_text('#matched')
            assert matched.startswith('Matched: ') and '(6 frames)' in matched, matched
            page.fill('#search', 'no_such_function_xyz')
            assert page.inner_text('#matched') == 'No match'
            page.fill('#search', '')

            # Hover shows time and percent; a click zooms: the clicked frame
            # becomes the full width and is named in the canvas state.
            box = page.locator('#flame').bounding_box()
            before = page.screenshot()
            page.mouse.move(box['x'] + 5, box['y'] + 18 + 9)        # first frame of the second row
            details = page.inner_text('#details')
            assert '%' in details and ('ms' in details or 's' in details), details
            assert page.get_attribute('#flame', 'data-zoom') == ''
            page.mouse.click(box['x'] + 5, box['y'] + 18 + 9)
            zoomed = page.get_attribute('#flame', 'data-zoom')
            assert zoomed, 'a click did not zoom'
            assert details.split('  ')[0] in page.inner_text('#details')
            after = page.screenshot()
            assert after != before
            page.click('#reset')
            assert page.get_attribute('#flame', 'data-zoom') == ''

            shot = tmp_path / 'report.png'
            page.screenshot(path=str(shot))
        finally:
            browser.close()
    assert errors == []
    assert requests == [], 'the page must not load anything from the network'
    width, height, rows, channels = png_pixels(shot.read_bytes())
    assert (width, height) == (1200, 800)
    colours = {row[i:i + 3] for row in rows[150:450:7] for i in range(0, width * channels, channels * 5)}
    assert len(colours) > 20, 'the flame graph area is (nearly) blank'
    if os.environ.get('REPORT_SCREENSHOT'):
        shutil.copy(shot, os.environ['REPORT_SCREENSHOT'])

"""What reading one uploaded photo costs: the upload check, then the encoder's decoding, as a
search by photo does them, in a fresh process whose resident memory is sampled every
millisecond meanwhile. Used by tests/security/test_photo_bombs.py (a bound on memory) and
bench/photo_bombs.py (the figures)."""

from __future__ import annotations

import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

READ_ONE_PHOTO = """
import sys, threading, time
from pathlib import Path
import psutil
from recommender.encoders import decode
from shop.images import InvalidImage, check_image

data = Path(sys.argv[1]).read_bytes()
process = psutil.Process()
before = peak = process.memory_info().rss
reading = True

def sample():
    global peak
    while reading:
        peak = max(peak, process.memory_info().rss)
        time.sleep(0.001)

sampler = threading.Thread(target=sample)
sampler.start()
started = time.perf_counter()
reason = ""
try:
    check_image(data)
    checked = time.perf_counter()
    decode(data)
except InvalidImage as refused:
    checked, reason = time.perf_counter(), str(refused)
done = time.perf_counter()
reading = False
sampler.join()
print(checked - started, done - checked, peak - before)
print(reason)
"""


@dataclass(frozen=True)
class PhotoCost:
    check_seconds: float
    decode_seconds: float  # 0 when the check refused the photo
    peak_bytes: int  # above the process's memory before it read the photo
    refused: str  # the check's reason, "" when accepted

    @property
    def accepted(self) -> bool:
        return not self.refused


def photo_cost(data: bytes) -> PhotoCost:
    with tempfile.TemporaryDirectory() as folder:
        photo = Path(folder) / "photo"
        photo.write_bytes(data)
        result = subprocess.run(
            [sys.executable, "-c", READ_ONE_PHOTO, str(photo)],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=120,
        )
    if result.returncode:
        raise RuntimeError(f"reading the photo failed:\n{result.stderr}")
    figures, reason = [*result.stdout.splitlines(), ""][:2]
    check, decode, peak = figures.split()
    return PhotoCost(float(check), float(decode), int(peak), reason)

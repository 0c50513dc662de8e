"""The evaluation's two halves of a catalogue (`manage.py split_catalogue` writes one).

Ranking changes are tuned on "tuning" and confirmed on "held-out", a catalogue the tuning
never looked at. A product's half is fixed by its catalogue id.
"""

import zlib

SPLITS = ("tuning", "held-out")


def split_of(external_id: str) -> str:
    return SPLITS[zlib.crc32(external_id.encode()) % 2]

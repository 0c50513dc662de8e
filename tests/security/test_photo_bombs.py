"""Small files that decode huge (tests/security/hostile_images.py's PHOTO_BOMBS): what reading
one costs a web worker is bounded by construction, not by luck.

A review sent a 1,592-byte lossless WebP of 40 megapixels (2.6 s, a worker from 229 MB to
1,296 MB) and a 90 KB 16-bit PNG (4.7 s: converted through float64 at full size). Each bomb
here goes through what a search by photo does with an upload (the check, then the encoder's
decoding) in a fresh process, whose memory is sampled meanwhile. The bound is the decoding
itself (``MAX_DECODED_BYTES``): nothing is converted or copied at full size. Time is not
asserted here (machines are noisy); bench/photo_bombs.py measures it, and every bomb also goes
through every upload path in test_hostile_uploads.py under its 5 s guard.
"""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from shop.images import MAX_DECODED_BYTES
from shop.models import Product
from tests.factories.catalogue import admin_product_form
from tests.security.hostile_images import KINDS, PHOTO_BOMBS
from tests.security.photo_cost import photo_cost

# The process's own allocations around the decode (libraries' buffers, the small copies).
SLACK_BYTES = 48 * 2**20


@pytest.mark.slow
@pytest.mark.parametrize("name", PHOTO_BOMBS)
def test_reading_a_photo_bomb_stays_within_the_decoding_bound(name):
    kind = KINDS[name]
    cost = photo_cost(kind.data)
    assert cost.accepted == kind.accepted, cost.refused
    seconds = cost.check_seconds + cost.decode_seconds
    print(f"{name}: {seconds:.2f} s, peak {cost.peak_bytes / 2**20:.0f} MiB {cost.refused}")
    assert cost.peak_bytes <= MAX_DECODED_BYTES + SLACK_BYTES


@pytest.mark.django_db
def test_one_request_decodes_photos_up_to_its_budget_then_refuses_them(admin_client, settings):
    """Each photo is bounded; an admin save carrying many big ones is bounded in all."""
    settings.PHOTO_DECODE_MB_PER_REQUEST = 400  # two 160 MB PNGs fit, a third does not
    bomb = KINDS["png_rgba_40_megapixels"].data

    def save(photos: int):
        uploads = [SimpleUploadedFile(f"{row}.png", bomb, "image/png") for row in range(photos)]
        form = admin_product_form(uploads[0], title="Big", slug="big")
        for row, upload in enumerate(uploads[1:], start=1):
            form |= {f"images-{row}-image": upload, f"images-{row}-position": str(row)}
        form["images-TOTAL_FORMS"] = str(photos)
        return admin_client.post(reverse("admin:shop_product_add"), form)

    refused = save(3)
    assert refused.status_code == 400
    assert "the photos sent at once are too large together" in refused.content.decode()
    assert not Product.objects.filter(slug="big").exists()
    assert save(2).status_code == 302  # within the budget
    assert Product.objects.get(slug="big").images.count() == 2

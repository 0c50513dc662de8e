"""Search documents for the products that existed before migration 0006."""

from django.db import migrations

BACKFILL = """
UPDATE shop_product SET search_document = shop_product_search_document(shop_product)
WHERE search_document IS NULL;
"""


class Migration(migrations.Migration):
    dependencies = [("shop", "0006_product_search_document")]

    operations = [migrations.RunSQL(BACKFILL, migrations.RunSQL.noop)]

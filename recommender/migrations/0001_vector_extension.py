from django.db import migrations
from pgvector.django import VectorExtension


class Migration(migrations.Migration):
    """pgvector, in a migration of its own (pgvector-python's convention)."""

    initial = True
    dependencies = []
    operations = [VectorExtension()]

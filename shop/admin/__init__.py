"""The shop's admin by sub-domain (found by Django's admin autodiscovery through this package)."""

from shop.admin import catalogue, orders  # noqa: F401  (registers the model admins)

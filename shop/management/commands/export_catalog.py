"""``export_catalog``: the spelling the issue tracker and other shops use; runs
``export_catalogue``."""

from shop.management.commands.export_catalogue import Command as ExportCatalogue


class Command(ExportCatalogue):
    help = "Another name of export_catalogue, which it runs. " + ExportCatalogue.help

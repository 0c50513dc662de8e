"""``import_catalog``: the command's name before the project settled on one spelling; kept so
that scripts written for it still run."""

from shop.management.commands.import_catalogue import Command as ImportCatalogue


class Command(ImportCatalogue):
    help = "The former name of import_catalogue, which it runs. " + ImportCatalogue.help

from imports.command import ImportCommand


class Command(ImportCommand):
    resource = "products"

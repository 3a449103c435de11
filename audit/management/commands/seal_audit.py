from django.core.management.base import BaseCommand

from audit.sealing import seal_tenant
from core.tenancy import tenant_model


class Command(BaseCommand):
    help = "Seal the audit entries written since the last seal, for one shop (--tenant) or every shop."

    def add_arguments(self, parser):
        parser.add_argument("--tenant", help="Subdomain of the shop (default: every active shop).")

    def handle(self, *args, **options):
        shops = tenant_model().objects.filter(is_active=True).order_by("pk")
        if options["tenant"]:
            shops = shops.filter(subdomain=options["tenant"])
        for shop in shops:
            blocks = seal_tenant(shop)
            entries = sum(len(block.entry_ids) for block in blocks)
            latest = blocks[-1].digest[:16] + "…" if blocks else "nothing new"
            self.stdout.write(f"{shop.subdomain}: {entries} entries in {len(blocks)} new block(s); {latest}")

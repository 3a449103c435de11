from django.core.management.base import BaseCommand, CommandError

from audit.sealing import read_published, trail_verify
from core.tenancy import tenant_model


class Command(BaseCommand):
    help = (
        "Verify a shop's whole sealed audit trail (or every shop's): each entry against its digest, "
        "each block against the chain, and with --published FILE against the seals published outside "
        "the database. Names the first entry that doesn't match and exits non-zero."
    )

    def add_arguments(self, parser):
        parser.add_argument("--tenant", help="Subdomain of the shop (default: every active shop).")
        parser.add_argument("--published", help="The file AUDIT_SEAL_PUBLISH_PATH names (JSON lines).")

    def handle(self, *args, **options):
        shops = tenant_model().objects.filter(is_active=True).order_by("pk")
        if options["tenant"]:
            shops = shops.filter(subdomain=options["tenant"])
            if not shops:
                raise CommandError(f"No active shop with subdomain {options['tenant']!r}.")
        published = read_published(options["published"]) if options["published"] else None
        failed = []
        for shop in shops:
            verdict = trail_verify(shop, published=published)
            if verdict.ok:
                self.stdout.write(self.style.SUCCESS(f"{shop.subdomain}: {verdict.message}"))
            else:
                failed.append(shop.subdomain)
                self.stdout.write(self.style.ERROR(f"{shop.subdomain}: {verdict.message}"))
        if failed:
            raise CommandError(f"The audit trail of {', '.join(failed)} does not verify.")

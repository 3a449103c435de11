from django.core.management.base import BaseCommand, CommandError

from core.tenancy import activate, add_tenant_argument, tenant_from_options
from inventory.selectors import stock_mismatches
from inventory.services import stock_reconcile


class Command(BaseCommand):
    help = (
        "Compare every product's stock with the sum of its stock movements (one aggregate query, "
        "streamed). Lists each mismatch and exits non-zero when there is any; --fix writes a "
        "correction movement for each, with a reason, instead of editing stock silently."
    )

    def add_arguments(self, parser):
        parser.add_argument("--fix", action="store_true", help="Write correction movements.")
        add_tenant_argument(parser)

    def handle(self, *args, **options):
        with activate(tenant_from_options(options)):
            self._reconcile(options)

    def _reconcile(self, options):
        found = 0
        for row in stock_mismatches().iterator(chunk_size=2000):
            found += 1
            difference = row["stock"] - row["ledger_sum"]
            self.stdout.write(
                f"{row['sku']}  {row['name']}: stock {row['stock']}, ledger {row['ledger_sum']}, "
                f"difference {difference:+d}"
            )
            if options["fix"]:
                stock_reconcile(product_id=row["pk"])
        if not found:
            self.stdout.write(self.style.SUCCESS("Every product's stock equals the sum of its movements."))
            return
        if options["fix"]:
            self.stdout.write(
                self.style.WARNING(f"{found} mismatch(es) corrected with correction movements.")
            )
            return
        raise CommandError(
            f"{found} product(s) whose stock doesn't match the ledger (run with --fix to correct)."
        )

from django.core.management.base import BaseCommand, CommandError

from core.money import format_money
from core.tenancy import activate, add_tenant_argument, tenant_from_options
from orders.reconciliation import payment_mismatches


class Command(BaseCommand):
    help = (
        "Check every order's status and totals against its payments (succeeded charges and refunds): "
        "balances, cancelled and refunded orders, refunds per charge, payments left pending. Lists each "
        "mismatch and exits non-zero when there is any. Fixes nothing: money is corrected through the "
        "order's own actions, by a person."
    )

    def add_arguments(self, parser):
        add_tenant_argument(parser)

    def handle(self, *args, **options):
        with activate(tenant_from_options(options)):
            found = 0
            for mismatch in payment_mismatches():
                found += 1
                self.stdout.write(
                    f"{mismatch.number} ({mismatch.status}): total {format_money(mismatch.total)}, "
                    f"paid {format_money(mismatch.paid)}, refunded {format_money(mismatch.refunded)}: "
                    f"{mismatch.problem}"
                )
        if found:
            raise CommandError(f"{found} payment mismatch(es): see above.")
        self.stdout.write(self.style.SUCCESS("Every order agrees with its payments."))

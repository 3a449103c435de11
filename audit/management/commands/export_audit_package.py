import json
from datetime import datetime, time

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from audit.packages import audit_package
from core.tenancy import add_tenant_argument, tenant_from_options


def _day(text: str, *, end: bool = False):
    try:
        day = datetime.strptime(text, "%Y-%m-%d").date()
    except ValueError as error:
        raise CommandError(f"{text!r} is not a date like 2026-11-30.") from error
    moment = datetime.combine(day, time.min, tzinfo=timezone.get_current_timezone())
    return moment + timezone.timedelta(days=1) if end else moment


class Command(BaseCommand):
    help = (
        "Write a shop's audit entries of a period, with the sealed blocks that cover them, to a JSON "
        "file that audit/verify_package.py verifies offline (standard library only)."
    )

    def add_arguments(self, parser):
        add_tenant_argument(parser)
        parser.add_argument("--from", dest="since", required=True, help="First day, e.g. 2026-11-01.")
        parser.add_argument("--to", dest="until", required=True, help="Last day (included).")
        parser.add_argument("--output", "-o", required=True, help="The file to write.")

    def handle(self, *args, **options):
        since, until = _day(options["since"]), _day(options["until"], end=True)
        if until <= since:
            raise CommandError("--to must not be before --from.")
        package = audit_package(tenant_from_options(options), since=since, until=until)
        with open(options["output"], "w", encoding="utf-8") as output:
            json.dump(package, output, ensure_ascii=False, indent=1)
        unsealed = sum(1 for entry in package["entries"] if entry.get("not_yet_sealed"))
        self.stdout.write(
            f"{len(package['entries'])} entries ({unsealed} not yet sealed) in {len(package['blocks'])} "
            f"block(s) written to {options['output']}."
        )

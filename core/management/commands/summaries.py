"""``manage.py summaries --check | --rebuild | --fold``: the dashboard's summary tables against their
source rows (see ``core.summaries``)."""

from django.core.management.base import BaseCommand, CommandError

from core.summaries import summaries_check, summaries_fold, summaries_rebuild, summaries_zone


class Command(BaseCommand):
    help = (
        "Check the summary tables against the rows they sum (exit status 1 when a key differs), rebuild "
        "them from those rows (after a bulk load or a change of TIME_ZONE), or fold their delta rows."
    )

    def add_arguments(self, parser):
        action = parser.add_mutually_exclusive_group(required=True)
        action.add_argument("--check", action="store_true", help="compare every key with its source rows")
        action.add_argument("--rebuild", action="store_true", help="recompute every table, then check")
        action.add_argument("--fold", action="store_true", help="fold the delta rows into one row per key")

    def handle(self, *args, check=False, rebuild=False, fold=False, **options):
        if fold:
            summaries_fold()
            self.stdout.write("Summary tables folded.")
            return
        if rebuild:
            summaries_rebuild()
            self.stdout.write(f"Summary tables rebuilt (days and hours in {summaries_zone()}).")
        differences = summaries_check()
        for table, count in differences.items():
            self.stdout.write(f"{table}: {'exact' if not count else f'{count} key(s) differ'}")
        if any(differences.values()):
            raise CommandError(
                "Some summary figures differ from the rows they sum: run `manage.py summaries --rebuild`."
            )

from django.core.management.base import BaseCommand

from backoffice.roles import setup_roles


class Command(BaseCommand):
    help = "Create or update the Operations, Support and Auditor groups with their exact permissions."

    def handle(self, *args, **options):
        counts = setup_roles(verbosity=options["verbosity"], stdout=self.stdout)
        for role, count in counts.items():
            self.stdout.write(f"{role}: {count} permissions")

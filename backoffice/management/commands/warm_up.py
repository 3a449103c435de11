from django.core.management.base import BaseCommand

from backoffice.warmup import warm_up


class Command(BaseCommand):
    help = "Render the dashboard and every admin list once (what a gunicorn worker does before serving)."

    def handle(self, *args, **options):
        timings = warm_up()
        for name, seconds in timings.items():
            self.stdout.write(f"{name:<32} {seconds * 1000:7.0f} ms")
        self.stdout.write(f"{len(timings)} pages in {sum(timings.values()):.2f} s")

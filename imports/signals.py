from functools import partial

from django.db import transaction
from django.dispatch import Signal

from .models import ImportJob

# A background import job finished (done or failed, its worker lost included), sent once the outcome
# is committed: sender=ImportJob, job=<ImportJob as finished>. For the apps that follow imports (an
# e-mail to the person who started it).
import_job_finished = Signal()


def announce_finished(job_id) -> None:
    """Send ``import_job_finished`` for the job as it is now, once the transaction commits."""
    job = ImportJob.unscoped.get(pk=job_id)
    transaction.on_commit(partial(import_job_finished.send, sender=ImportJob, job=job))

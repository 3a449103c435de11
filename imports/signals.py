from django.dispatch import Signal

# A background import job finished (done or failed, its worker lost included), sent once the outcome
# is committed: sender=ImportJob, job=<ImportJob as finished>. For the apps that follow imports (an
# e-mail to the person who started it).
import_job_finished = Signal()

"""Celery tasks of imports: background imports, and the check for imports whose worker died.

Tasks carry the tenant's id: a worker serves every shop, and activates the job's own for its run.
"""

import logging

from celery import shared_task
from celery.signals import worker_ready

from core.tenancy import activate, default_tenant, tenant_model

from .jobs import FAIL_STALE_TASK, RUN_TASK, import_job_run
from .models import ImportJob
from .progress import import_jobs_fail_stale

logger = logging.getLogger(__name__)


def _tenant(tenant_id):
    return tenant_model().objects.get(pk=tenant_id) if tenant_id is not None else default_tenant()


@shared_task(name=RUN_TASK, acks_late=True, reject_on_worker_lost=True)
def run_import_job(job_id: int, tenant_id: int | None = None) -> str:
    """Import a queued job's file. Safe to run twice: a job already done, failed or running under a
    live worker is left alone, and the import itself is idempotent (keyed rows, stock set not added)."""
    with activate(_tenant(tenant_id)):
        report = import_job_run(job_id, background=True)
    return "skipped" if report is None else report.summary()


@shared_task(name=FAIL_STALE_TASK)
def fail_stale_import_jobs() -> int:
    """Mark failed the running imports whose worker stopped sending heartbeats (every shop)."""
    failed = import_jobs_fail_stale(ImportJob.unscoped.all())
    if failed:
        logger.warning("%s import job(s) had lost their worker: marked failed", failed)
    return failed


@worker_ready.connect
def _fail_stale_jobs_on_start(sender=None, **kwargs):
    # A worker that starts after a crash finds the jobs the dead one left running.
    try:
        fail_stale_import_jobs()
    except Exception:
        logger.exception("Could not check for stale import jobs")

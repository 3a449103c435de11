"""A background import tells the apps that follow imports (e-mail) how it ended, once; an import run
in the request (its person is watching the page) or from the command line does not."""

from datetime import timedelta

import pytest
from django.utils import timezone

from imports.jobs import import_job_create, import_job_run, import_job_start
from imports.models import ImportJob
from imports.progress import import_jobs_fail_stale
from imports.signals import import_job_finished
from inventory.models import Category

pytestmark = pytest.mark.django_db


@pytest.fixture
def heard():
    events = []

    def hear(sender, job, **kwargs):
        events.append((job.pk, job.status, job.attempts))

    import_job_finished.connect(hear, weak=False)
    yield events
    import_job_finished.disconnect(hear)


def new_job(content: bytes, user=None) -> ImportJob:
    Category.objects.get_or_create(name="Phones", slug="phones")
    return import_job_create(
        resource="products", file_name="p.csv", content=content, file_format="csv", user=user
    )


GOOD = b"sku,name,category,price,stock\nA-1,Phone,phones,1.00,2\n"
BAD = b"sku,name,category,price,stock\nA-1,,phones,1.00,2\n"


def test_a_background_job_announces_it_is_done_or_failed_after_the_commit(
    heard, ops_user, django_capture_on_commit_callbacks
):
    done, failed = new_job(GOOD, ops_user), new_job(BAD, ops_user)

    with django_capture_on_commit_callbacks(execute=True):
        import_job_run(done.pk, background=True)
        import_job_run(failed.pk, background=True)
        import_job_run(done.pk, background=True)  # delivered twice: not this run's, says nothing

    assert heard == [(done.pk, "done", 1), (failed.pk, "failed", 1)]


def test_a_job_run_in_the_request_announces_nothing(heard, ops_user, django_capture_on_commit_callbacks):
    job = new_job(GOOD, ops_user)
    with django_capture_on_commit_callbacks(execute=True):
        import_job_start(job, rows=1)
    assert ImportJob.objects.get(pk=job.pk).status == "done"
    assert heard == []


def test_a_job_whose_worker_died_is_announced_failed(heard, ops_user, django_capture_on_commit_callbacks):
    job = new_job(GOOD, ops_user)
    ImportJob.objects.filter(pk=job.pk).update(
        status="running", attempts=1, heartbeat_at=timezone.now() - timedelta(hours=1)
    )
    with django_capture_on_commit_callbacks(execute=True):
        assert import_jobs_fail_stale() == 1
        assert import_jobs_fail_stale() == 0

    assert heard == [(job.pk, "failed", 1)]

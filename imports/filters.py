"""A list filter for the records an import created or changed (what the job page links to): the
records whose audit entries are in the job's change set."""

from django.contrib.contenttypes.models import ContentType
from django.db.models.functions import Cast
from unfold.contrib.filters.admin import DropdownFilter

from audit.models import AuditEntry

from .models import ImportJob

RECENT_IMPORTS = 10


class ImportedByFilter(DropdownFilter):
    title = "import"
    parameter_name = "import_job"

    def lookups(self, request, model_admin):
        jobs = ImportJob.objects.filter(resource=model_admin.import_resource, change_set__isnull=False)
        recent = list(jobs.order_by("-created_at", "-id")[:RECENT_IMPORTS])
        chosen = self._job()
        if chosen is not None and chosen not in recent:
            recent.append(chosen)
        return [(str(job.pk), f"{job.file_name} (#{job.pk})") for job in recent]

    def _job(self) -> ImportJob | None:
        value = self.value()
        if not value or not str(value).isdigit():
            return None
        return ImportJob.objects.filter(pk=int(value)).first()

    def queryset(self, request, queryset):
        if not self.value():
            return queryset
        job = self._job()
        if job is None or not job.change_set_id:
            return queryset.none()
        model = queryset.model
        written = (
            AuditEntry.objects.filter(
                change_set_id=job.change_set_id, content_type=ContentType.objects.get_for_model(model)
            )
            .annotate(record=Cast("object_id", type(model._meta.pk)()))
            .values("record")
        )
        return queryset.filter(pk__in=written)

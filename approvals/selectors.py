"""Reads of change requests: those of a record (for its page), what a person may see, who approved."""

from django.contrib.auth import get_user_model
from django.contrib.contenttypes.models import ContentType

from .models import ChangeRequest
from .services import APPROVE_PERMISSION, approval_note

# People who read everything (auditors) see every request, as the dashboard counts them.
EVERYTHING_READER = "audit.view_auditentry"
ON_A_PAGE = 5  # requests a record's page lists (the pending ones, then the latest decided)


def sees_every_request(user) -> bool:
    return user.has_perm(APPROVE_PERMISSION) or user.has_perm(EVERYTHING_READER)


def may_see(user, change_request: ChangeRequest) -> bool:
    return sees_every_request(user) or change_request.requested_by_id == user.pk


def requests_visible_to(user, queryset=None):
    """Every request for approvers and auditors; one's own requests for everyone else."""
    queryset = ChangeRequest.objects.all() if queryset is None else queryset
    return queryset if sees_every_request(user) else queryset.filter(requested_by=user)


def requests_for(record, *, user) -> list[ChangeRequest]:
    """The requests that change ``record`` and ``user`` may see: those waiting first, then the latest."""
    content_type = ContentType.objects.get_for_model(type(record))
    found = requests_visible_to(user).filter(content_type=content_type, object_ids__contains=[str(record.pk)])
    pending = list(
        found.filter(status=ChangeRequest.Status.PENDING).select_related("requested_by")[:ON_A_PAGE]
    )
    decided = list(
        found.exclude(status=ChangeRequest.Status.PENDING)
        .select_related("requested_by", "decided_by")
        .order_by("-decided_at", "-id")[: max(0, ON_A_PAGE - len(pending))]
    )
    return pending + decided


def approvers():
    """The people who approved at least one request of the open shop (the audit log's filter)."""
    ids = ChangeRequest.objects.filter(status=ChangeRequest.Status.APPROVED).values("decided_by")
    return get_user_model().objects.filter(pk__in=ids).order_by("username")


def change_sets_approved_by(user_id):
    """The change sets that approved requests of ``user_id`` recorded (a subquery)."""
    return ChangeRequest.objects.filter(
        status=ChangeRequest.Status.APPROVED, decided_by_id=user_id, change_set__isnull=False
    ).values("change_set_id")


def approved_request_for(record, *, operation: str) -> ChangeRequest | None:
    """The approved request of ``operation`` that released ``record`` (an import's job), if any."""
    content_type = ContentType.objects.get_for_model(type(record))
    return (
        ChangeRequest.objects.filter(
            operation=operation,
            status=ChangeRequest.Status.APPROVED,
            content_type=content_type,
            object_ids__contains=[str(record.pk)],
        )
        .select_related("requested_by", "decided_by")
        .first()
    )


def approval_note_for(record, *, operation: str) -> str:
    """What the reasons of a change released by an approval end with ("; asked by …"), or ""."""
    request = approved_request_for(record, operation=operation)
    return approval_note(request, request.decided_by) if request is not None else ""

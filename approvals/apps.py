from django.apps import AppConfig

from core.registry import RecordPanel, SidebarItem, register_record_panel, register_sidebar_item


class ApprovalsConfig(AppConfig):
    """Four eyes: a shop's rules hold big changes as change requests that someone else approves."""

    name = "approvals"
    verbose_name = "Approvals"

    def ready(self):
        from audit import registry as audit

        from . import registry
        from .filters import ApprovedByFilter
        from .kinds import BULK_ROWS
        from .models import ApprovalRule, ChangeRequest
        from .panels import requests_panel
        from .undo import OPERATION, UNDO, undo_apply, undo_approval_notice, undo_hold

        registry.rule_kind(
            registry.RuleKind(
                name=BULK_ROWS,
                label="Bulk action",
                template="bulk actions that change more than {threshold} rows",
                order=40,
            )
        )
        registry.rule_kind(
            registry.RuleKind(
                name=UNDO,
                label="Undo",
                template="undos of more than {threshold} records",
                every="every undo",
                order=60,
            )
        )
        registry.operation(
            registry.Operation(name=OPERATION, apply=undo_apply, model="audit.changeset", own_change_set=True)
        )
        audit.guard_undo(undo_hold, explain=undo_approval_notice)
        audit.track(ChangeRequest)
        audit.track(ApprovalRule)
        audit.filter_log(ApprovedByFilter)
        register_record_panel(
            RecordPanel(
                name="change_requests",
                template="admin/approvals/record_requests.html",
                context=requests_panel,
            )
        )
        register_sidebar_item(
            SidebarItem(
                group="Audit",
                title="Change requests",
                icon="approval",
                model="approvals.changerequest",
                order=420,
            )
        )
        register_sidebar_item(
            SidebarItem(
                group="Audit", title="Approval rules", icon="rule", model="approvals.approvalrule", order=430
            )
        )

from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

from backoffice.roles import APPROVER, OPERATIONS


@pytest.fixture
def ops_approver(roles):
    """Olga works in operations and approves too: her own changes still need someone else."""
    user = get_user_model().objects.create_user(username="olga", password="pw-olga", is_staff=True)
    user.groups.add(Group.objects.get(name=OPERATIONS), Group.objects.get(name=APPROVER))
    return user


@pytest.fixture
def rule(db):
    """Set a shop rule as its superuser does: ``rule("price_change", 20)``."""
    from approvals.models import ApprovalRule
    from approvals.services import approval_rule_create

    def make(kind, threshold, active=True):
        return approval_rule_create(
            approvalrule=ApprovalRule(kind=kind, threshold=Decimal(str(threshold)), is_active=active)
        )

    return make

"""What other apps' records protect from deletion, found without naming them: the reverse side of
their ``PROTECT`` foreign keys (an order line protects its product)."""

from django.db import models
from django.db.models import Q


def protecting_relations(model) -> list:
    """The reverse relations through which another app's rows protect rows of ``model``."""
    return [
        relation
        for relation in model._meta.related_objects
        if relation.one_to_many
        and relation.on_delete is models.PROTECT
        and relation.related_model._meta.app_label != model._meta.app_label
    ]


def referenced_elsewhere(queryset):
    """The rows of ``queryset`` that another app's records refer to (and so protect)."""
    relations = protecting_relations(queryset.model)
    if not relations:
        return queryset.none()
    condition = Q()
    for relation in relations:
        condition |= Q(**{f"{relation.field.related_query_name()}__isnull": False})
    return queryset.filter(condition).distinct()


def protectors_text(model) -> str:
    """``order lines``: what protects rows of ``model``, as people call it."""
    return ", ".join(
        str(relation.related_model._meta.verbose_name_plural) for relation in protecting_relations(model)
    )

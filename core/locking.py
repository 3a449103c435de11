"""Row locks, always taken in primary-key order.

Every writer that locks several rows of a table goes through ``locked_in_pk_order``, so two
transactions lock the same rows in the same order and can't deadlock each other.
"""


def locked_in_pk_order(queryset, pks):
    """``queryset``'s rows with these primary keys, row-locked (``SELECT … FOR UPDATE``) in
    primary-key order; the lock is held until the transaction ends."""
    return queryset.select_for_update().filter(pk__in=list(pks)).order_by("pk")

"""Lookups that stay on PostgreSQL's indexes.

A case-insensitive "contains" that the trigram indexes can serve:
Django's ``__icontains`` compiles to ``UPPER(col) LIKE UPPER('%term%')`` on PostgreSQL; a
``gin_trgm_ops`` index on ``col`` (as on product and customer names) doesn't serve that expression,
so every such search reads the whole table. ``ILIKE '%term%'`` on the column itself uses the index.

And ``one_of``: a batch's thousands of keys as one array parameter.
"""

from django.contrib.postgres.fields import ArrayField
from django.db.models import CharField, F, Lookup, Value
from django.db.models.lookups import IContains


class TrigramContains(IContains):
    """``TrigramContains(F("name"), "lamp")``: usable wherever a boolean expression is, e.g. in ``Q``."""

    lookup_name = "trigram_contains"

    def as_sql(self, compiler, connection):
        lhs_sql, lhs_params = self.process_lhs(compiler, connection)
        rhs_sql, rhs_params = self.process_rhs(compiler, connection)
        return f"{lhs_sql} ILIKE {rhs_sql}", (*lhs_params, *rhs_params)


class EqualsAny(Lookup):
    lookup_name = "equals_any"

    def as_sql(self, compiler, connection):
        lhs, lhs_params = self.process_lhs(compiler, connection)
        rhs, rhs_params = self.process_rhs(compiler, connection)
        return f"{lhs} = ANY({rhs})", [*lhs_params, *rhs_params]


def one_of(field: str, values):
    """``field IN values`` as ``= ANY(array)``: one parameter instead of thousands (a 2,000-placeholder
    query costs more to build than to run)."""
    values = list(values)
    return EqualsAny(F(field), Value(values, output_field=ArrayField(CharField())))

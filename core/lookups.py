"""A case-insensitive "contains" that PostgreSQL's trigram indexes can serve.

Django's ``__icontains`` compiles to ``UPPER(col) LIKE UPPER('%term%')`` on PostgreSQL; a
``gin_trgm_ops`` index on ``col`` (as on product and customer names) doesn't serve that expression,
so every such search reads the whole table. ``ILIKE '%term%'`` on the column itself uses the index.
"""

from django.db.models.lookups import IContains


class TrigramContains(IContains):
    """``TrigramContains(F("name"), "lamp")``: usable wherever a boolean expression is, e.g. in ``Q``."""

    lookup_name = "trigram_contains"

    def as_sql(self, compiler, connection):
        lhs_sql, lhs_params = self.process_lhs(compiler, connection)
        rhs_sql, rhs_params = self.process_rhs(compiler, connection)
        return f"{lhs_sql} ILIKE {rhs_sql}", (*lhs_params, *rhs_params)

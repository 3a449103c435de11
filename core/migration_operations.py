"""Migration operations Django's own don't cover."""

from django.db import migrations
from django.db.models import Index


class AlterKeyIndex(migrations.AlterField):
    """``AlterField`` of a foreign key whose only change is ``db_index``: drops (or builds) the key's
    one-column index and nothing else.

    Django's ``AlterField`` also drops the key's constraint and adds it back, which re-checks every
    row of the table under a lock that blocks writes: minutes on a big table, for an index that an
    ``Index`` of the model already covers.
    """

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        model = to_state.apps.get_model(app_label, self.model_name)
        if not self.allow_migrate_model(schema_editor.connection.alias, model):
            return
        old = from_state.apps.get_model(app_label, self.model_name)._meta.get_field(self.name)
        new = model._meta.get_field(self.name)
        if _without_index(old) != _without_index(new):
            raise ValueError(
                f"AlterKeyIndex changes db_index only, not {self.model_name}.{self.name}'s other options."
            )
        if old.db_index and not new.db_index:
            meta_indexes = {index.name for index in model._meta.indexes}
            for name in schema_editor._constraint_names(
                model, [old.column], index=True, type_=Index.suffix, exclude=meta_indexes
            ):
                schema_editor.execute(schema_editor._delete_index_sql(model, name))
        elif new.db_index and not old.db_index:
            schema_editor.execute(schema_editor._create_index_sql(model, fields=[new]))


def _without_index(field):
    _, path, args, kwargs = field.deconstruct()
    kwargs.pop("db_index", None)
    return path, args, kwargs

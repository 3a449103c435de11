"""The list's active filters as chips (Unfold's label, linking to the list without that filter), so a
filtered list says what it is filtered by and each filter can be removed in one click."""

from dataclasses import dataclass

from django.contrib.admin.filters import RelatedFieldListFilter


@dataclass(frozen=True)
class FilterChip:
    text: str
    remove_url: str


def active_filter_chips(changelist) -> list[FilterChip]:
    chips = []
    for spec in changelist.filter_specs:
        parameters = [name for name in spec.expected_parameters() if changelist.params.get(name)]
        if not parameters:
            continue
        values = _selected(spec, changelist, parameters)
        if values:
            remove = changelist.get_query_string(remove=spec.expected_parameters())
            chips.append(FilterChip(f"{spec.title}: {values}", remove))
    return chips


def _selected(spec, changelist, parameters) -> str:
    """What the filter is set to, as its own choices name it."""
    if isinstance(spec, RelatedFieldListFilter) and all(choice[0] == "" for choice in spec.lookup_choices):
        # An autocomplete filter offers no choices (Unfold's offers the blank one): name the chosen
        # records, never list every record the field could point to (a million products).
        ids = _values(changelist, parameters)
        # The default manager: only the open shop's records (an id from another shop names nothing).
        chosen = spec.field.related_model._default_manager.filter(pk__in=ids)[:5]
        return ", ".join(str(obj) for obj in chosen)
    for choice in spec.choices(changelist):
        if "form" in choice:  # Unfold's filters: a small form per filter, bound to the list's parameters
            return _form_values(choice["form"], changelist, parameters)
        if choice.get("selected") and choice.get("display") is not None and choice.get("query_string"):
            if _is_all(choice):
                continue
            return str(choice["display"])
    return ", ".join(_values(changelist, parameters))


def _is_all(choice) -> bool:
    return str(choice["display"]) in {"All", ""}


def _form_values(form, changelist, parameters) -> str:
    shown = []
    for name in parameters:
        values = _values(changelist, [name])
        field = form.fields.get(name)
        labels = dict(_flat(getattr(field, "choices", []) or [])) if field is not None else {}
        texts = [str(labels.get(value, value)) for value in values]
        if name.endswith("_from"):
            texts = [f"from {text}" for text in texts]
        elif name.endswith("_to"):
            texts = [f"to {text}" for text in texts]
        shown += texts
    return (
        " ".join(shown) if any(name.endswith(("_from", "_to")) for name in parameters) else ", ".join(shown)
    )


def _flat(choices):
    for value, label in choices:
        if isinstance(label, (list, tuple)):
            yield from _flat(label)
        else:
            yield str(value), label


def _values(changelist, parameters) -> list[str]:
    values = []
    lists = getattr(changelist, "filter_params", {})
    for name in parameters:
        value = lists.get(name, changelist.params.get(name))
        values += [str(v) for v in value] if isinstance(value, list) else [str(value)]
    return [value for value in values if value]

from . import registry
from .selectors import requests_for


def requests_panel(request, record) -> dict | None:
    """On the page of a record that approvable changes touch: its requests (waiting, then decided)."""
    if record._meta.label_lower not in registry.approvable_models():
        return None
    found = requests_for(record, user=request.user)
    return {"requests": found} if found else None

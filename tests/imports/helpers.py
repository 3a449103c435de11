"""Driving the admin's import through the test client: upload, map, preview, confirm."""

import html
import re

from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse


def import_url(resource_admin: str, step: str = "import") -> str:
    """``inventory_product`` -> its import page (``import``, ``import_map``, ``process_import``)."""
    return reverse(f"admin:{resource_admin}_{step}")


def upload(client, admin: str, name: str, content: bytes, **extra):
    file = SimpleUploadedFile(name, content)
    response = client.post(import_url(admin), {"format": "", "import_file": file, **extra})
    assert response.status_code == 200, response.status_code
    return response


def mapping_data(response, **changes) -> dict:
    """The mapping form as the page shows it (every guess kept), with ``changes`` (``column_3="price"``)."""
    form = response.context["mapping_form"]
    data = {name: form.initial.get(name, "") for name in form.fields}
    data = {name: value for name, value in data.items() if value is not False}
    data["started_from"] = form.initial.get("start_from", "")
    for name, value in changes.items():
        if value is False:
            data.pop(name, None)
        else:
            data[name] = value
    return data


def column_field(response, header: str) -> str:
    """The name of the mapping form's field for the file's column ``header``."""
    form = response.context["mapping_form"]
    return next(f"column_{index}" for index, name in enumerate(form.headers) if name == header)


def remap(client, admin: str, response, **changes):
    page = client.post(import_url(admin, "import_map"), mapping_data(response, **changes))
    assert page.status_code == 200, page.status_code
    return page


def confirm(client, admin: str, preview):
    form = preview.context["confirm_form"]
    assert form is not None, text(preview)[-3000:]
    return client.post(
        import_url(admin, "process_import"),
        {name: form.initial.get(name, "") for name in form.fields},
        follow=True,
    )


def text(response) -> str:
    """The page as a person reads it: tags dropped, entities decoded, spaces collapsed."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", response.content.decode())).split())

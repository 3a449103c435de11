"""Uploaded import files: the server names them, a client never names a path, and nobody reaches them
by URL; a job's file is streamed only to staff who may read it."""

import importlib
import re
import tempfile
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import clear_url_caches, reverse

from backoffice.models import Tenant
from core.tenancy import activate
from imports.jobs import import_job_create
from imports.models import ImportJob
from inventory.models import Category, Product
from tests.admin_helpers import has_message

pytestmark = pytest.mark.django_db

PRODUCT_IMPORT = reverse("admin:inventory_product_import")
PRODUCT_CONFIRM = reverse("admin:inventory_product_process_import")
GOOD_FILE = b"sku,name,category,price\nP-1,Lamp,phones,10.00\n"


@pytest.fixture
def phones(db):
    return Category.objects.create(name="Phones", slug="phones")


def preview(client, content=GOOD_FILE, name="supplier.csv", **headers):
    file = SimpleUploadedFile(name, content, content_type="text/csv")
    response = client.post(PRODUCT_IMPORT, {"format": "csv", "import_file": file}, **headers)
    assert response.status_code == 200
    return response


def confirmation(response) -> dict:
    form = response.context["confirm_form"]
    assert form is not None, response.content.decode()[-2000:]
    return {name: form.initial.get(name, "") for name in form.fields}


def test_the_confirmation_cannot_name_a_file_to_import(client_for, ops_user, phones):
    secret = Path(tempfile.gettempdir()) / "someone-elses.csv"
    secret.write_bytes(b"sku,name,category,price\nLEAK,Their secret,phones,1\n")
    client = client_for(ops_user)
    try:
        for name in (secret.name, str(secret), f"../{Path(tempfile.gettempdir()).name}/{secret.name}"):
            response = client.post(
                PRODUCT_CONFIRM,
                {"upload": name},
                follow=True,
            )
            assert has_message(response, "This upload can't be found: upload the file again.")
        assert secret.exists()  # not moved, not deleted
        assert not ImportJob.objects.exists() and not Product.objects.exists()
    finally:
        secret.unlink(missing_ok=True)


def test_an_upload_is_confirmed_only_by_who_uploaded_it_in_their_shop_and_only_once(
    client_for, ops_user, phones, django_user_model
):
    from django.test import Client

    from backoffice.roles import OPERATIONS

    colleague = django_user_model.objects.create_user("otto", is_staff=True)
    colleague.groups.add(*ops_user.groups.all())
    assert colleague.groups.get().name == OPERATIONS
    acme = Tenant.objects.create(name="Acme", subdomain="acme")
    ops_user.tenants.add(acme, Tenant.objects.get(subdomain="main"))
    client = client_for(ops_user)
    data = confirmation(preview(client))

    other = Client()
    other.force_login(colleague)
    refused = other.post(PRODUCT_CONFIRM, data, follow=True)
    assert has_message(refused, "made by someone else, or in another shop")
    in_acme = client.post(PRODUCT_CONFIRM, data, follow=True, HTTP_HOST="acme.localhost")
    assert has_message(in_acme, "made by someone else, or in another shop")
    assert not ImportJob.unscoped.exists()

    done = client.post(PRODUCT_CONFIRM, data, follow=True)
    assert has_message(done, "Imported supplier.csv: 1 new")
    again = client.post(PRODUCT_CONFIRM, data, follow=True)
    assert has_message(again, "confirmed already")
    assert ImportJob.objects.count() == 1 and Product.objects.count() == 1


def test_a_tampered_confirmation_is_refused(client_for, ops_user, phones):
    client = client_for(ops_user)
    data = confirmation(preview(client))
    token = data["upload"]

    response = client.post(PRODUCT_CONFIRM, {**data, "upload": token[:-2] + "xx"}, follow=True)

    assert has_message(response, "This upload can't be found")
    assert not ImportJob.objects.exists()


def test_stored_import_files_have_server_chosen_names_outside_media(client_for, ops_user, phones, settings):
    client = client_for(ops_user)

    client.post(PRODUCT_CONFIRM, confirmation(preview(client, name="../../etc/evil name.csv")), follow=True)

    job = ImportJob.objects.get()
    assert job.file_name == "evil name.csv"  # shown to people; never used as a path
    assert re.fullmatch(rf"imports/{job.tenant_id}/[0-9a-f]{{32}}\.csv", job.file.name)
    assert Path(job.file.path).is_relative_to(settings.PRIVATE_FILES_ROOT)
    assert not Path(settings.MEDIA_ROOT).exists() or not any(Path(settings.MEDIA_ROOT).rglob("*.csv"))
    with pytest.raises(ValueError, match="no URL"):
        job.file.url  # noqa: B018


@pytest.fixture
def development_urls(settings):
    """The URLs as `./dev demo` (DEBUG on) has them."""
    import backoffice.urls

    settings.DEBUG = True
    importlib.reload(backoffice.urls)
    clear_url_caches()
    yield
    settings.DEBUG = False
    importlib.reload(backoffice.urls)
    clear_url_caches()


def test_import_files_are_not_served_even_in_development(client, settings, development_urls):
    products = Path(settings.MEDIA_ROOT) / "products" / "lamp.svg"
    products.parent.mkdir(parents=True)
    products.write_text("<svg/>")
    # Where import files were kept before (under MEDIA_ROOT), and where they are now.
    legacy = Path(settings.MEDIA_ROOT) / "imports" / "2026" / "01" / "other-shop.csv"
    legacy.parent.mkdir(parents=True)
    legacy.write_bytes(GOOD_FILE)
    job = import_job_create(resource="products", file_name="x.csv", content=GOOD_FILE, file_format="csv")

    assert client.get("/media/products/lamp.svg").status_code == 200  # product images still are
    assert client.get("/media/imports/2026/01/other-shop.csv").status_code == 404
    assert client.get(f"/media/{job.file.name}").status_code == 404


def test_a_jobs_file_is_streamed_to_staff_who_may_read_it(
    client, client_for, ops_user, support_user, auditor, phones
):
    job = import_job_create(
        resource="products", file_name="supplier.csv", content=GOOD_FILE, file_format="csv"
    )
    url = reverse("admin:imports_importjob_file", args=[job.pk])

    assert client.get(url).status_code == 302  # to the login page
    for reader in (ops_user, auditor):
        response = client_for(reader).get(url)
        assert response.status_code == 200, reader
        assert b"".join(response.streaming_content) == GOOD_FILE
        assert response["Content-Disposition"] == 'attachment; filename="supplier.csv"'
    assert client_for(support_user).get(url).status_code == 403  # support doesn't read import jobs
    page = client_for(ops_user).get(reverse("admin:imports_importjob_change", args=[job.pk]))
    assert url in page.content.decode()


def test_another_shops_import_file_is_not_found(client_for, ops_user):
    acme = Tenant.objects.create(name="Acme", subdomain="acme")
    with activate(acme):
        job = import_job_create(
            resource="products", file_name="acme.csv", content=GOOD_FILE, file_format="csv"
        )

    response = client_for(ops_user).get(reverse("admin:imports_importjob_file", args=[job.pk]))

    assert response.status_code == 404

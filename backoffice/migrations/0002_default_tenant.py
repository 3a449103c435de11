"""The default tenant: the shop a single-shop install serves at its bare host."""

from django.conf import settings
from django.db import migrations


def create_default_tenant(apps, schema_editor):
    Tenant = apps.get_model("backoffice", "Tenant")
    Tenant.objects.get_or_create(
        subdomain=settings.DEFAULT_TENANT_SUBDOMAIN, defaults={"name": settings.DEFAULT_TENANT_NAME}
    )


class Migration(migrations.Migration):
    dependencies = [("backoffice", "0001_initial")]

    operations = [migrations.RunPython(create_default_tenant, migrations.RunPython.noop)]

from django.conf import settings
from django.contrib import admin
from django.templatetags.static import static
from django.urls import include, path
from django.utils.functional import lazy
from django.views.generic import RedirectView

from .health import healthz

# A request that lost the database half-way answers the outage page (503), not a 500.
handler500 = "backoffice.outage.server_error"

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="admin:index", permanent=False)),
    path("healthz", healthz, name="healthz"),
    # Lazy: the hashed name exists only once collectstatic has run, and `migrate` (which imports the
    # URLs for its checks) runs before it.
    path(
        "favicon.ico", RedirectView.as_view(url=lazy(static, str)("backoffice/favicon.svg"), permanent=True)
    ),
    path("admin/", admin.site.urls),
]

if settings.DEBUG:
    from django.urls import re_path
    from django.views.static import serve

    # Product images only (production serves MEDIA_ROOT from the web server). Import files live
    # outside MEDIA_ROOT and have no URL at all: see imports.uploads.
    urlpatterns.append(
        re_path(
            rf"^{settings.MEDIA_URL.strip('/')}/(?P<path>products/.*)$",
            serve,
            {"document_root": settings.MEDIA_ROOT},
        )
    )
if settings.DEBUG_TOOLBAR:
    urlpatterns.append(path("__debug__/", include("debug_toolbar.urls")))

"""The admin site: Unfold's, with the context every page shares built at a cost that doesn't grow with
the number of admins, menu items and settings.

Unfold's ``each_context`` merges its settings with its defaults about 30 times a page, tries to import
every plain string of them as a dotted path, copies the sidebar and asks each of its items again what
``backoffice.navigation`` already asked, and Django's builds the list of every app and model (two
``reverse()`` and four permission checks each) that no page of ours shows. Here: the settings merged
once per value of ``settings.UNFOLD``, the sidebar taken as built, and the app list built only when
a template reads it. What the pages receive is what Unfold would give them (a test compares both)."""

from django.conf import settings
from django.utils.functional import SimpleLazyObject
from unfold.settings import get_config
from unfold.sites import UnfoldAdminSite


class BackofficeAdminSite(UnfoldAdminSite):
    _merged_config: tuple[object, dict] | None = None

    def _config(self) -> dict:
        """Unfold's settings merged with its defaults, merged again only when ``settings.UNFOLD``
        is another object (a test's override)."""
        given = getattr(settings, self.settings_name, None)
        if self._merged_config is None or self._merged_config[0] is not given:
            self._merged_config = (given, get_config(self.settings_name))
        return self._merged_config[1]

    def _get_config(self, key, *args):
        config = self._config()
        if config.get(key):
            return self._get_value(config[key], *args)
        return None

    def each_context(self, request):
        request._backoffice_lazy_app_list = True
        try:
            return super().each_context(request)
        finally:
            del request._backoffice_lazy_app_list

    def get_app_list(self, request, app_label=None):
        # Inside each_context: the app list every page carries ("available_apps"), which our
        # sidebar shows only with Unfold's "all applications" on; built when a template reads it.
        build = super().get_app_list
        if getattr(request, "_backoffice_lazy_app_list", False):
            return SimpleLazyObject(lambda: build(request, app_label))
        return build(request, app_label)

    def get_sidebar_list(self, request):
        # backoffice.navigation.sidebar_navigation gives only the items this user may open, each with
        # its resolved link and whether it is open; Unfold would copy them and ask all of it again.
        navigation = self._get_value(self._get_config("SIDEBAR", request).get("navigation"), request)
        return [
            {**group, "items": [{**item, "has_permission": True} for item in group["items"]]}
            for group in navigation
        ]

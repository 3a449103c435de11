"""What the apps contribute to the site's pages, registered in their ``AppConfig.ready()``: dashboard
sections, sidebar entries and command-palette searches. The kernel keeps the lists; the site
(``backoffice.dashboard``, ``backoffice.navigation``) renders what is registered and never names an
app's model itself."""

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class DashboardSection:
    """A section of the dashboard. ``figures()`` runs its aggregate queries (cached together, with a
    ``computed_at``); ``context(figures, user)`` is what ``template`` shows. It is shown to people who
    may open the list its cards link to (``view_permission``) and whose work it is
    (``work_permission``), or who read everything."""

    name: str
    template: str
    view_permission: str
    work_permission: str
    figures: Callable[[], dict]
    context: Callable[[dict, object], dict]
    order: int = 0


@dataclass(frozen=True)
class SidebarItem:
    """A link to a model's list, shown to people who may view it. Items are listed by ``order``, in
    groups that appear in the order of their first item."""

    group: str
    title: str
    icon: str
    model: str  # "app_label.model_name"
    order: int = 0


@dataclass(frozen=True)
class CommandSearch:
    """Results of the command palette for one model, for people who may view it: ``search(term)`` ->
    a few ``unfold.dataclasses.SearchResult`` found on an index."""

    model: str  # "app_label.model_name"
    search: Callable[[str], list]
    order: int = 0


@dataclass(frozen=True)
class RecordPanel:
    """A panel above a record's page (its change form): ``context(request, record)`` returns what
    ``template`` shows, or None when there is nothing to show for that record. ``models`` are the
    "app_label.model_name" it is for (empty: every record)."""

    name: str
    template: str
    context: Callable[[object, object], dict | None]
    models: frozenset = frozenset()


_sections: dict[str, DashboardSection] = {}
_sidebar: dict[tuple[str, str], SidebarItem] = {}
_searches: dict[str, CommandSearch] = {}


def register_dashboard_section(section: DashboardSection) -> None:
    _sections[section.name] = section


def register_sidebar_item(item: SidebarItem) -> None:
    _sidebar[item.group, item.title] = item


def register_sidebar_group(group: str, items: list[tuple[str, str, str]], *, order: int) -> None:
    """A group's items, given as (title, icon, "app_label.model_name"), in that order from ``order``."""
    for position, (title, icon, model) in enumerate(items, start=order):
        register_sidebar_item(SidebarItem(group=group, title=title, icon=icon, model=model, order=position))


def register_command_search(search: CommandSearch) -> None:
    _searches[search.model] = search


_panels: dict[str, RecordPanel] = {}


def register_record_panel(panel: RecordPanel) -> None:
    _panels[panel.name] = panel


def record_panels(request, record) -> list[tuple[str, dict]]:
    """(template, context) of each registered panel with something to show on ``record``'s page."""
    label = record._meta.label_lower
    shown = []
    for panel in _panels.values():
        if panel.models and label not in panel.models:
            continue
        context = panel.context(request, record)
        if context:
            shown.append((panel.template, context))
    return shown


def dashboard_sections() -> list[DashboardSection]:
    return sorted(_sections.values(), key=lambda section: section.order)


def sidebar_items() -> list[SidebarItem]:
    return sorted(_sidebar.values(), key=lambda item: item.order)


def command_searches() -> list[CommandSearch]:
    return sorted(_searches.values(), key=lambda search: search.order)


def may_view(user, model: str) -> bool:
    """Whether ``user`` may open the list of ``model`` ("app_label.model_name")."""
    app_label, name = model.split(".")
    return user.has_perm(f"{app_label}.view_{name}") or user.has_perm(f"{app_label}.change_{name}")

from django.apps import AppConfig

from core.registry import SidebarItem, register_sidebar_item


class NotificationsConfig(AppConfig):
    """E-mail to customers and staff: it follows what the orders and imports announce, keeps every
    message in an outbox, and sends them from Celery workers."""

    name = "notifications"
    verbose_name = "Outbox"

    def ready(self):
        # Receivers connect to the orders' and imports' signals; tasks register (the outbox queues
        # them by name).
        from . import receivers, tasks  # noqa: F401
        from .admin import show_emails_on_order_pages

        show_emails_on_order_pages()
        register_sidebar_item(
            SidebarItem(
                group="E-mail", title="Outbox", icon="outgoing_mail", model="notifications.message", order=300
            )
        )

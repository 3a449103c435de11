from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    """E-mail to customers and staff: it follows what the orders and imports announce, keeps every
    message in an outbox, and sends them from Celery workers."""

    name = "notifications"
    verbose_name = "Outbox"

    def ready(self):
        from . import receivers  # noqa: F401  (connects to the orders' and imports' signals)
        from .admin import show_emails_on_order_pages

        show_emails_on_order_pages()

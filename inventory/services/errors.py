"""What the catalogue's services refuse with (a ``DomainError``: a message for the person who asked)."""

from django.core.exceptions import ValidationError

from core.exceptions import DomainError

from ..models import Product


class CatalogueError(DomainError):
    pass


class InsufficientStock(DomainError):
    def __init__(self, *, product: Product, available: int, requested: int):
        self.product, self.available, self.requested = product, available, requested
        super().__init__(
            f"Not enough stock for {product.name} ({product.sku}): "
            f"{available} available, {requested} requested."
        )


def validation_message(error: ValidationError) -> str:
    if hasattr(error, "message_dict"):
        return "; ".join(
            f"{field}: {' '.join(messages)}" if field != "__all__" else " ".join(messages)
            for field, messages in error.message_dict.items()
        )
    return " ".join(error.messages)

from django.db.models import F
from django.dispatch import Signal, receiver

# Sent once an order is committed: sender=Order, order=<Order>, lines={product_id: quantity}.
order_placed = Signal()


@receiver(order_placed)
def _raise_popularity(sender, order, lines, **kwargs):
    from inventory.models import Product

    # Sorted, so concurrent receivers touch rows in the same order (no deadlocks).
    for product_id in sorted(lines, key=str):
        Product.objects.filter(pk=product_id).update(
            popularity_score=F("popularity_score") + lines[product_id]
        )

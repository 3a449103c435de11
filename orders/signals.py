from django.dispatch import Signal, receiver

from inventory.services import product_popularity_raise

# Sent once an order is committed: sender=Order, order=<Order>, lines={product_id: quantity}.
order_placed = Signal()


@receiver(order_placed)
def _raise_popularity(sender, order, lines, **kwargs):
    product_popularity_raise(quantities=lines)

"""What happened to an order, for the apps that follow orders (popularity, e-mail to the customer).

Each signal is sent once the transaction that made the change has committed (``transaction.on_commit``),
so an order that was rolled back announces nothing. sender=Order and order=<Order> for all of them.
"""

from django.dispatch import Signal, receiver

from inventory.services import product_popularity_raise

# An order was placed (paid, or awaiting payment on delivery): lines={product_id: quantity}.
order_placed = Signal()
# An order awaiting payment was paid (an order charged when placed is announced by order_placed alone).
order_paid = Signal()
order_shipped = Signal()
# Money went back to the customer (a full or partial refund): amount=<Decimal> given back,
# refund=<str> naming this refund (an order refunded in parts announces each part).
order_refunded = Signal()
# The order was cancelled: amount=<Decimal> given back (0 when nothing had been charged).
order_cancelled = Signal()


@receiver(order_placed)
def _raise_popularity(sender, order, lines, **kwargs):
    product_popularity_raise(quantities=lines)

from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from .models import Product
from .services import catalogue_cache_clear


@receiver(post_save, sender=Product)
@receiver(post_delete, sender=Product)
def _forget_cached_product(sender, instance, **kwargs):
    catalogue_cache_clear(product_ids=[instance.pk])

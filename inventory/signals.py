from django.db.models.signals import post_delete, post_save
from django.dispatch import Signal, receiver

from .models import Product
from .services import catalogue_cache_clear

# A background import job finished (done or failed, its worker lost included), sent once the outcome
# is committed: sender=ImportJob, job=<ImportJob as finished>. For the apps that follow imports (an
# e-mail to the person who started it).
import_job_finished = Signal()


@receiver(post_save, sender=Product)
@receiver(post_delete, sender=Product)
def _forget_cached_product(sender, instance, **kwargs):
    catalogue_cache_clear(product_ids=[instance.pk])

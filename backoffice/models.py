from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models
from django.db.models.signals import post_save
from django.dispatch import receiver

from core.tenancy import forget_tenant_caches

DNS_LABEL = RegexValidator(
    r"^(?!-)[a-z0-9-]{1,63}(?<!-)$",
    "A subdomain is 1 to 63 lower-case letters, digits or hyphens, not starting or ending with a hyphen.",
)


class Tenant(models.Model):
    """One shop. Its staff open it at ``<subdomain>.<base domain>``; the default tenant also at the
    bare host (``localhost``, ``127.0.0.1``, the base domain itself)."""

    name = models.CharField(max_length=120)
    subdomain = models.CharField(max_length=63, unique=True, validators=[DNS_LABEL])
    is_active = models.BooleanField("active", default=True)
    members = models.ManyToManyField(
        settings.AUTH_USER_MODEL,
        blank=True,
        related_name="tenants",
        help_text="Staff who may open this shop (superusers may open every shop).",
    )
    # E-mails to the shop's customers and staff come from DEFAULT_FROM_EMAIL's address under this name,
    # and answers go to the shop's own address.
    email_sender_name = models.CharField(
        "e-mail sender name",
        max_length=120,
        blank=True,
        help_text="The name e-mails from this shop come from (the shop's name when empty).",
    )
    email_reply_to = models.EmailField(
        "e-mail reply-to address",
        blank=True,
        help_text="Where answers to this shop's e-mails go (none when empty).",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name

    def save(self, *args, **kwargs):
        self.subdomain = self.subdomain.strip().lower()
        super().save(*args, **kwargs)

    @property
    def sender_name(self) -> str:
        return self.email_sender_name or self.name


@receiver(post_save, sender=Tenant)
def _forget_cached_tenant(sender, instance, **kwargs):
    forget_tenant_caches(subdomains=[instance.subdomain])

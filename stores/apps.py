from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


class StoresConfig(AppConfig):
    name = "stores"
    verbose_name = _("Stores")

    def ready(self):
        # Later migrations add models; keep the role groups' permissions complete after each.
        post_migrate.connect(_sync_roles, dispatch_uid="stores.sync_roles")
        from celery.schedules import crontab
        from django.conf import settings

        settings.CELERY_BEAT_SCHEDULE.setdefault(
            "stores.purge_idempotency_keys",
            {"task": "stores.purge_idempotency_keys", "schedule": crontab(hour=3, minute=30)},
        )


def _sync_roles(sender, using="default", **kwargs):
    from .roles import sync_role_groups

    sync_role_groups(using=using)

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CouponsConfig(AppConfig):
    """Coupons (优惠券): templates and their versioned terms, issuing, exchange for points,
    expiry. Checkouts use them through sales; campaigns issue them to segments."""

    name = "coupons"
    verbose_name = _("Coupons")

    def ready(self):
        from celery.schedules import crontab
        from django.conf import settings

        from members import hooks

        from .bulk import register_bulk_operations
        from .services import issue_on_registration

        # A new member gets the registration coupons of the templates that say so.
        hooks.member_opened.connect(issue_on_registration)
        # Issuing to a filter of the member list, or to a file of phones, as bulk jobs.
        register_bulk_operations()
        settings.CELERY_BEAT_SCHEDULE.setdefault(
            "coupons-expire",
            {"task": "coupons.expire_coupons", "schedule": crontab(hour=0, minute=20)},
        )
        settings.CELERY_BEAT_SCHEDULE.setdefault(
            "coupons-automatic",
            {"task": "coupons.issue_automatic_coupons", "schedule": crontab(hour=6, minute=30)},
        )

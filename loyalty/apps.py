from django.apps import AppConfig
from django.conf import settings
from django.utils.translation import gettext_lazy as _


class LoyaltyConfig(AppConfig):
    name = "loyalty"
    verbose_name = _("Points and tiers")

    def ready(self):
        from celery.schedules import crontab
        from django.db.models.signals import post_migrate

        from members import hooks

        from .bulk import register_bulk_operations
        from .services import opening

        # The rule book's triggers follow the models it loads (a new rule table is watched
        # from the next migrate on, not left stale in every process until a restart).
        post_migrate.connect(_install_rulebook_triggers, dispatch_uid="loyalty.rulebook")
        register_bulk_operations()

        # A new member gets a points account, their opening points and the registration bonus.
        hooks.member_opened.connect(opening.open_points_for_new_member)
        hooks.members_imported.connect(opening.open_accounts_for_imported_members)

        # Nightly expiry just after midnight (as of the new day), birthdays in the morning,
        # tier review on the 1st of each month (holiday bonuses: sales.apps).
        settings.CELERY_BEAT_SCHEDULE.setdefault(
            "loyalty-expire-points",
            {"task": "loyalty.expire_points", "schedule": crontab(hour=0, minute=10)},
        )
        settings.CELERY_BEAT_SCHEDULE.setdefault(
            "loyalty-birthday-bonuses",
            {"task": "loyalty.grant_birthday_bonuses", "schedule": crontab(hour=7, minute=0)},
        )
        settings.CELERY_BEAT_SCHEDULE.setdefault(
            "loyalty-review-tiers",
            {"task": "loyalty.review_tiers", "schedule": crontab(day_of_month=1, hour=2)},
        )


def _install_rulebook_triggers(sender, using="default", **kwargs):
    # post_migrate is sent for every app once the whole migrate has run: answer loyalty's.
    if sender.name != "loyalty":
        return
    from django.db import connections

    from . import rulebook

    table = rulebook.RuleBookVersion._meta.db_table
    if table in connections[using].introspection.table_names():
        rulebook.install_triggers(using=using)

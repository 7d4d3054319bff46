"""Third-party admin pages in the user's language, where the apps leave strings no catalogue
can translate (Django's stored permission names, django-celery-beat's untranslated labels,
the unused model of djangorestframework-api-key). Their own translatable strings are covered by
locale/overrides. Run by LoyaltyAdminConfig.ready(), after every app registered its admin.
"""

from django.contrib import admin
from django.contrib.auth.admin import GroupAdmin, UserAdmin
from django.contrib.auth.models import Group, User
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django_celery_beat.admin import PeriodicTaskAdmin, PeriodicTaskInline
from django_celery_beat.models import (
    ClockedSchedule,
    CrontabSchedule,
    IntervalSchedule,
    PeriodicTask,
    SolarSchedule,
)
from rest_framework_api_key.models import APIKey

# --- users and groups: permission names in the user's language ----------------------------

DEFAULT_ACTIONS = {
    "add": _("Can add %(model)s"),
    "change": _("Can change %(model)s"),
    "delete": _("Can delete %(model)s"),
    "view": _("Can view %(model)s"),
}
# Permissions of models nothing here uses: not offered at all.
HIDDEN_PERMISSION_APPS = ("rest_framework_api_key",)


def permission_label(permission):
    """'会员 | 会员 | 可以增加会员' for add_member; the stored name, translated, otherwise.

    Django stores permission names in English when it creates them ("Can add member") and
    shows them as stored; the model's name and the action are translated here instead, and
    permissions of our own (Meta.permissions) are looked up in the catalogue.
    """
    content_type = permission.content_type
    model = content_type.model_class()
    action, _sep, model_name = permission.codename.partition("_")
    if model is not None and action in DEFAULT_ACTIONS and model_name == model._meta.model_name:
        name = DEFAULT_ACTIONS[action] % {"model": model._meta.verbose_name}
    else:
        name = gettext(permission.name)
    return f"{content_type} | {name}"


class TranslatedPermissionsMixin:
    permission_fields = ()

    def formfield_for_manytomany(self, db_field, request=None, **kwargs):
        formfield = super().formfield_for_manytomany(db_field, request=request, **kwargs)
        if db_field.name in self.permission_fields and formfield is not None:
            formfield.queryset = formfield.queryset.exclude(
                content_type__app_label__in=HIDDEN_PERMISSION_APPS
            )
            formfield.label_from_instance = permission_label
        return formfield


class LocalizedGroupAdmin(TranslatedPermissionsMixin, GroupAdmin):
    permission_fields = ("permissions",)


class LocalizedUserAdmin(TranslatedPermissionsMixin, UserAdmin):
    permission_fields = ("user_permissions",)


# --- django-celery-beat: the two labels it leaves untranslatable ---------------------------


class TaskNameFilter(admin.AllValuesFieldListFilter):
    def __init__(self, field, request, params, model, model_admin, field_path):
        super().__init__(field, request, params, model, model_admin, field_path)
        self.title = gettext("task name")


class LocalizedPeriodicTaskAdmin(PeriodicTaskAdmin):
    list_filter = ["enabled", "one_off", ("task", TaskNameFilter), "start_time", "last_run_at"]

    @admin.display(description=_("schedule in words"))
    def crontab_translation(self, obj):
        crontab = getattr(obj, "crontab", None)
        return crontab.human_readable if crontab else "-"


class LocalizedPeriodicTaskInline(PeriodicTaskInline):
    fields = ("name", "task_name", "args", "kwargs")
    readonly_fields = fields

    @admin.display(description=_("task name"))
    def task_name(self, obj):
        return obj.task


def _reregister(model, admin_class):
    admin.site.unregister(model)
    admin.site.register(model, admin_class)


def localize():
    if admin.site.is_registered(APIKey):
        # Nothing uses the library's own key model (tills have TerminalAPIKey); its section
        # only showed an empty, untranslatable "API Key Permissions".
        admin.site.unregister(APIKey)
    _reregister(Group, LocalizedGroupAdmin)
    _reregister(User, LocalizedUserAdmin)
    _reregister(PeriodicTask, LocalizedPeriodicTaskAdmin)
    for schedule in (ClockedSchedule, CrontabSchedule, IntervalSchedule, SolarSchedule):
        registered = type(admin.site._registry[schedule])
        _reregister(
            schedule,
            type(registered.__name__, (registered,), {"inlines": [LocalizedPeriodicTaskInline]}),
        )

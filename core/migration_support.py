"""Helpers for migrations that move models between apps (keep them stable: landed migrations
import them)."""

from django.db import migrations


def move_content_types(old_app, new_app, models):
    """A RunPython operation that relabels the content types of `models` (lower-case names)
    from `old_app` to `new_app`, so permissions granted to groups and users, and the admin's
    history, follow the models. On a fresh database there is nothing yet to relabel."""

    def forwards(apps, schema_editor):
        _relabel(apps, old_app, new_app, models)

    def backwards(apps, schema_editor):
        _relabel(apps, new_app, old_app, models)

    return migrations.RunPython(forwards, backwards)


def _relabel(apps, old_app, new_app, models):
    ContentType = apps.get_model("contenttypes", "ContentType")
    for model in models:
        if ContentType.objects.filter(app_label=new_app, model=model).exists():
            continue  # already there (created by a post_migrate of the new app): keep it
        ContentType.objects.filter(app_label=old_app, model=model).update(app_label=new_app)

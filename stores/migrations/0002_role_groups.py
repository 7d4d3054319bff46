from django.db import migrations

ROLE_GROUPS = ["总部", "门店店长", "收银员"]


def create_groups(apps, schema_editor):
    # Permissions are attached by stores.roles.sync_role_groups after every migrate
    # (post_migrate), when the permissions of every app's models exist.
    Group = apps.get_model("auth", "Group")
    for name in ROLE_GROUPS:
        Group.objects.get_or_create(name=name)


class Migration(migrations.Migration):
    dependencies = [("stores", "0001_initial"), ("auth", "0012_alter_user_first_name_max_length")]
    operations = [migrations.RunPython(create_groups, migrations.RunPython.noop)]

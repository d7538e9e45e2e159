"""Create the staff role groups (客服, 运营, 财务) with their permissions (wxbackend/roles.py).

The same sync runs after every migrate (post_migrate), so apps added later join the groups."""

from django.db import migrations


def create_role_groups(apps, schema_editor):
    from wxbackend.roles import permissions_ensure, roles_sync

    using = schema_editor.connection.alias
    permissions_ensure(using=using)
    roles_sync(apps=apps, using=using)


class Migration(migrations.Migration):

    dependencies = [
        ("wxbackend", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("miniprogram_api", "0002_phone_reveals"),
    ]

    operations = [
        migrations.RunPython(create_role_groups, migrations.RunPython.noop),
    ]

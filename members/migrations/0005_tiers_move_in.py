# Tiers (会员等级) and their history move from loyalty to members: a tier is the member's level,
# so a member can name it without pointing up at loyalty. State only: the tables keep their
# names (loyalty_tier, loyalty_tierchange). The member-number counter row for SQLite goes.

import django.db.models.deletion
import django.utils.timezone
from decimal import Decimal

from django.conf import settings
from django.db import migrations, models

from core.migration_support import move_content_types


class Migration(migrations.Migration):
    dependencies = [
        ('members', '0004_member_full_name_label'),
        ('loyalty', '0007_entries_no_longer_name_sales'),
        ('stores', '0003_idempotency_record'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name='Tier',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('code', models.CharField(max_length=20, unique=True, verbose_name='code')),
                        ('name', models.CharField(max_length=30, verbose_name='name')),
                        ('rank', models.PositiveSmallIntegerField(help_text='Higher rank is a better tier.', unique=True, verbose_name='rank')),
                        ('is_default', models.BooleanField(default=False, help_text='New members start in this tier.', verbose_name='default tier')),
                        ('points_multiplier', models.DecimalField(decimal_places=2, default=Decimal('1.00'), help_text='Points earned by the amount rules are multiplied by this (1.50 = +50%).', max_digits=4, verbose_name='points multiplier')),
                        ('upgrade_spend', models.DecimalField(blank=True, decimal_places=2, help_text='Qualifying spend that reaches this tier. Empty: spend does not count.', max_digits=12, null=True, verbose_name='upgrade at spend (yuan)')),
                        ('upgrade_points', models.PositiveIntegerField(blank=True, help_text='Points earned on sales that reach this tier. Empty: points do not count.', null=True, verbose_name='upgrade at points earned')),
                        ('threshold_logic', models.CharField(choices=[('any', 'Either threshold reached'), ('all', 'Every threshold set reached')], default='any', max_length=3, verbose_name='thresholds combine')),
                        ('window', models.CharField(choices=[('lifetime', 'Lifetime'), ('rolling12', 'Rolling 12 months')], default='lifetime', help_text="Count spend and points over the member's whole life or the last 12 months.", max_length=10, verbose_name='counted over')),
                        ('retain_spend', models.DecimalField(blank=True, decimal_places=2, help_text='The monthly review downgrades members whose spend in the last 12 months is below this (and below the points rule, if set). Empty on both: never downgraded.', max_digits=12, null=True, verbose_name='keep tier at spend (12 months)')),
                        ('retain_points', models.PositiveIntegerField(blank=True, null=True, verbose_name='keep tier at points earned (12 months)')),
                        ('discount_percent', models.DecimalField(decimal_places=2, default=Decimal('0.00'), help_text='Discount the till gives members of this tier, e.g. 5.00 for five percent off.', max_digits=5, verbose_name='member discount (%)')),
                        ('birthday_bonus', models.PositiveIntegerField(default=0, help_text='Paid once a year on the birthday.', verbose_name='birthday bonus points')),
                    ],
                    options={
                        'verbose_name': 'tier',
                        'verbose_name_plural': 'tiers',
                        'db_table': 'loyalty_tier',
                        'ordering': ['rank'],
                    },
                ),
                migrations.CreateModel(
                    name='TierChange',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('reason', models.CharField(choices=[('upgrade', 'Upgrade on a sale'), ('downgrade', 'Downgrade by review'), ('manual', 'Changed by hand')], max_length=10, verbose_name='reason')),
                        ('detail', models.CharField(max_length=200, verbose_name='why')),
                        ('reference', models.CharField(blank=True, max_length=100, verbose_name='reference')),
                        ('source', models.CharField(choices=[('admin', 'Admin'), ('till', 'Till'), ('import', 'Import'), ('task', 'Background job'), ('command', 'Command')], max_length=10, verbose_name='source')),
                        ('key', models.CharField(max_length=100, null=True, unique=True, verbose_name='idempotency key')),
                        ('created_at', models.DateTimeField(default=django.utils.timezone.now, verbose_name='time')),
                    ],
                    options={
                        'verbose_name': 'tier change',
                        'verbose_name_plural': 'tier changes',
                        'db_table': 'loyalty_tierchange',
                        'ordering': ['-created_at', '-id'],
                    },
                ),
                migrations.AddConstraint(
                    model_name='tier',
                    constraint=models.UniqueConstraint(condition=models.Q(('is_default', True)), fields=('is_default',), name='tier_single_default'),
                ),
                migrations.AlterField(
                    model_name='cardbatch',
                    name='initial_tier',
                    field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='members.tier', verbose_name='initial tier'),
                ),
                migrations.AlterField(
                    model_name='member',
                    name='tier',
                    field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='members', to='members.tier', verbose_name='tier'),
                ),
                migrations.AddField(
                    model_name='tierchange',
                    name='actor',
                    field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL, verbose_name='operator'),
                ),
                migrations.AddField(
                    model_name='tierchange',
                    name='from_tier',
                    field=models.ForeignKey(null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='members.tier', verbose_name='from tier'),
                ),
                migrations.AddField(
                    model_name='tierchange',
                    name='member',
                    field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='tier_changes', to='members.member', verbose_name='member'),
                ),
                migrations.AddField(
                    model_name='tierchange',
                    name='to_tier',
                    field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to='members.tier', verbose_name='to tier'),
                ),
                migrations.AddIndex(
                    model_name='tierchange',
                    index=models.Index(fields=['member', 'created_at'], name='loyalty_tie_member__d7ad7e_idx'),
                ),
            ],
            database_operations=[
            ],
        ),
        migrations.DeleteModel(
            name='NumberSequence',
        ),
        move_content_types('loyalty', 'members', ['tier', 'tierchange']),
    ]

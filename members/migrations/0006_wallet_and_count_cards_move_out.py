# Stored value (now in wallet) and count cards (now in countcards) leave members' state; their
# tables stay.

import django.db.models.deletion
import django.utils.timezone
from decimal import Decimal

from django.conf import settings
from django.db import migrations, models

from core.migration_support import move_content_types


class Migration(migrations.Migration):
    dependencies = [
        ('members', '0005_tiers_move_in'),
        ('wallet', '0001_initial'),
        ('countcards', '0001_initial'),
        ('sales', '0001_initial'),
        ('loyalty', '0008_sales_and_tiers_move_out'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.RemoveField(
                    model_name='countcardentry',
                    name='actor',
                ),
                migrations.RemoveField(
                    model_name='countcardentry',
                    name='card',
                ),
                migrations.RemoveField(
                    model_name='countcardentry',
                    name='store',
                ),
                migrations.RemoveField(
                    model_name='countcardentry',
                    name='terminal',
                ),
                migrations.RemoveField(
                    model_name='countcardentry',
                    name='wallet_entry',
                ),
                migrations.RemoveField(
                    model_name='membercountcard',
                    name='package',
                ),
                migrations.RemoveField(
                    model_name='membercountcard',
                    name='member',
                ),
                migrations.RemoveField(
                    model_name='membercountcard',
                    name='store',
                ),
                migrations.RemoveField(
                    model_name='rechargeplan',
                    name='stores',
                ),
                migrations.RemoveField(
                    model_name='walletentry',
                    name='plan',
                ),
                migrations.RemoveField(
                    model_name='transfer',
                    name='actor',
                ),
                migrations.RemoveField(
                    model_name='transfer',
                    name='from_member',
                ),
                migrations.RemoveField(
                    model_name='transfer',
                    name='in_entry',
                ),
                migrations.RemoveField(
                    model_name='transfer',
                    name='out_entry',
                ),
                migrations.RemoveField(
                    model_name='transfer',
                    name='store',
                ),
                migrations.RemoveField(
                    model_name='transfer',
                    name='to_member',
                ),
                migrations.RemoveField(
                    model_name='wallet',
                    name='member',
                ),
                migrations.RemoveField(
                    model_name='walletentry',
                    name='wallet',
                ),
                migrations.RemoveField(
                    model_name='walletentry',
                    name='actor',
                ),
                migrations.RemoveField(
                    model_name='walletentry',
                    name='reverses',
                ),
                migrations.RemoveField(
                    model_name='walletentry',
                    name='store',
                ),
                migrations.RemoveField(
                    model_name='walletentry',
                    name='terminal',
                ),
                migrations.RemoveField(
                    model_name='withdrawalrequest',
                    name='entry',
                ),
                migrations.RemoveField(
                    model_name='withdrawalrequest',
                    name='forfeit_entry',
                ),
                migrations.RemoveField(
                    model_name='withdrawalrequest',
                    name='decided_by',
                ),
                migrations.RemoveField(
                    model_name='withdrawalrequest',
                    name='member',
                ),
                migrations.RemoveField(
                    model_name='withdrawalrequest',
                    name='requested_by',
                ),
                migrations.RemoveField(
                    model_name='withdrawalrequest',
                    name='store',
                ),
                migrations.DeleteModel(
                    name='CountCardEntry',
                ),
                migrations.DeleteModel(
                    name='CountCardPackage',
                ),
                migrations.DeleteModel(
                    name='MemberCountCard',
                ),
                migrations.DeleteModel(
                    name='RechargePlan',
                ),
                migrations.DeleteModel(
                    name='Transfer',
                ),
                migrations.DeleteModel(
                    name='Wallet',
                ),
                migrations.DeleteModel(
                    name='WalletEntry',
                ),
                migrations.DeleteModel(
                    name='WithdrawalRequest',
                ),
            ],
            database_operations=[
            ],
        ),
    ]

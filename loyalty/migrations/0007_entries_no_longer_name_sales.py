# A points entry no longer names its sale or refund (sales sit above loyalty); the sale and the
# refund name their entries (0005, filled by 0006). A tier change names its sale by reference.

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("loyalty", "0006_fill_sale_entries_and_tier_progress")]

    operations = [
        migrations.RemoveField("pointsentry", "sale"),
        migrations.RemoveField("pointsentry", "refund"),
        migrations.RemoveField("tierchange", "sale"),
    ]

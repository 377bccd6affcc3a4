"""Starting entries of the data dictionary; admins edit, reorder or deactivate them."""

from django.db import migrations

DEFAULTS = {
    "industry": ["Manufacturing", "Retail", "Wholesale", "Software & IT", "Finance",
                 "Healthcare", "Education", "Construction", "Logistics", "Hospitality",
                 "Professional services", "Other"],
    "source": ["Website", "Referral", "Trade show", "Cold call", "Advertising",
               "Social media", "Partner", "Other"],
    "level": ["Key account", "A", "B", "C"],
    "region": ["North", "South", "East", "West", "Central", "International"],
    "ticket_category": ["Question", "Problem", "Complaint", "Return", "Feature request"],
}


def seed(apps, schema_editor):
    from django.utils.text import slugify

    DictionaryEntry = apps.get_model("customers", "DictionaryEntry")
    for kind, labels in DEFAULTS.items():
        for order, label in enumerate(labels, start=1):
            DictionaryEntry.objects.get_or_create(
                kind=kind, code=slugify(label), defaults={"label": label, "order": order * 10}
            )


class Migration(migrations.Migration):
    dependencies = [("customers", "0003_code_sequence")]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]

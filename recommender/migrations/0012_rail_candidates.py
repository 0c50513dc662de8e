from django.conf import settings
from django.db import migrations, models


def candidates_from_settings(apps, schema_editor):
    """What configurations made before candidates were part of them used: the setting."""
    candidates = settings.RECOMMENDER_CANDIDATES
    apps.get_model("recommender", "RailSettings").objects.update(candidates=candidates)
    for experiment in apps.get_model("recommender", "RailExperiment").objects.all():
        for arm in (experiment.arm_a, experiment.arm_b):
            arm.setdefault("candidates", candidates)
        experiment.save(update_fields=["arm_a", "arm_b"])


class Migration(migrations.Migration):
    dependencies = [
        ("recommender", "0011_rail_experiment_planned_size"),
    ]

    operations = [
        migrations.AddField(
            model_name="railsettings",
            name="candidates",
            field=models.PositiveIntegerField(default=100),
        ),
        migrations.RunPython(candidates_from_settings, migrations.RunPython.noop),
    ]

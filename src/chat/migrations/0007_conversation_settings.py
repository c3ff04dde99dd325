# Per-conversation model, system prompt and temperature; where the title came from; a user's last choice.

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
        ('chat', '0006_organize'),
    ]

    operations = [
        migrations.CreateModel(
            name='ChatPreference',
            fields=[
                ('user', models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, primary_key=True, related_name='chat_preference', serialize=False, to=settings.AUTH_USER_MODEL)),
                ('model', models.CharField(blank=True, default='', max_length=200)),
                ('system_prompt', models.TextField(blank=True, default='')),
                ('temperature', models.FloatField(blank=True, null=True)),
                ('updated_at', models.DateTimeField(default=django.utils.timezone.now)),
            ],
        ),
        migrations.AddField(
            model_name='conversation',
            name='model',
            field=models.CharField(blank=True, db_default='', default='', max_length=200),
        ),
        migrations.AddField(
            model_name='conversation',
            name='system_prompt',
            field=models.TextField(blank=True, db_default='', default=''),
        ),
        migrations.AddField(
            model_name='conversation',
            name='temperature',
            field=models.FloatField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name='conversation',
            name='title_source',
            field=models.CharField(choices=[('first_message', 'First Message'), ('model', 'Model'), ('user', 'User')], db_default='first_message', default='first_message', max_length=16),
        ),
    ]

# The columns keep their database defaults (0004, 0007), for rows inserted by raw SQL; only
# Django's state forgets them. A field with db_default is read back after every INSERT
# (RETURNING), which makes the INSERT wait for its result: in a send's pipelined
# transaction (chat.services._stored_together) each such INSERT cost a round trip of its own.

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('chat', '0007_conversation_settings'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name='conversation',
                    name='model',
                    field=models.CharField(blank=True, default='', max_length=200),
                ),
                migrations.AlterField(
                    model_name='conversation',
                    name='system_prompt',
                    field=models.TextField(blank=True, default=''),
                ),
                migrations.AlterField(
                    model_name='conversation',
                    name='title_source',
                    field=models.CharField(choices=[('first_message', 'First Message'), ('model', 'Model'), ('user', 'User')], default='first_message', max_length=16),
                ),
                migrations.AlterField(
                    model_name='message',
                    name='context_omitted',
                    field=models.PositiveIntegerField(default=0),
                ),
            ],
            database_operations=[],
        ),
    ]

from django.apps import AppConfig


class UsageConfig(AppConfig):
    name = "usage"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from chat import signals
        from chat.api import api

        from .api import router
        from .recorder import on_answer_ended

        from serving import drain

        from .recorder import flush_here

        from chat import hooks

        from . import quotas

        signals.answer_ended.connect(on_answer_ended, dispatch_uid="usage.answer_ended")
        if quotas.check not in hooks.answer_checks:
            hooks.answer_checks.append(quotas.check)
        if flush_here not in drain.after_answers:
            drain.after_answers.append(flush_here)  # SIGTERM: store what is held before exiting
        api.add_router("/usage/", router)

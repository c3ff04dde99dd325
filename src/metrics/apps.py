from django.apps import AppConfig
from django.conf import settings


class MetricsConfig(AppConfig):
    name = "metrics"

    def ready(self):
        if not settings.METRICS_ENABLED:
            return
        from chat import signals

        from . import collectors

        signals.answer_started.connect(collectors.on_answer_started, dispatch_uid="metrics.answer_started")
        signals.answer_ended.connect(collectors.on_answer_ended, dispatch_uid="metrics.answer_ended")
        from django.apps import apps

        if apps.is_installed("usage"):
            from usage.signals import quota_refused

            quota_refused.connect(collectors.on_quota_refused, dispatch_uid="metrics.quota_refused")

from django.apps import AppConfig


class ServingConfig(AppConfig):
    name = "serving"

    def ready(self):
        from django.db.backends.signals import connection_created

        from . import connections

        connection_created.connect(connections.keep_on_the_orm_thread, dispatch_uid="serving.keep_on_the_orm_thread")

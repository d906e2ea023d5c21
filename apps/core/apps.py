from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "apps.core"
    label = "core"
    verbose_name = "Core"

    def ready(self):
        from django_tasks.signals import task_finished

        from apps.core.tasks.signals import log_failed_task

        task_finished.connect(log_failed_task, dispatch_uid="apps.core.log_failed_task")

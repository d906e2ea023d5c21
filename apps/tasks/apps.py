from django.apps import AppConfig


class TasksConfig(AppConfig):
    name = "apps.tasks"
    label = "tasks"
    verbose_name = "Background work"

    def ready(self):
        from django_tasks.signals import task_finished

        from apps.tasks.signals import log_failed_task

        task_finished.connect(log_failed_task, dispatch_uid="apps.tasks.log_failed_task")

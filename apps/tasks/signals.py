"""Failed tasks are logged once, as JSON, whatever backend ran them."""

import logging

from django_tasks.base import TaskResultStatus

logger = logging.getLogger("apps.tasks")


def log_failed_task(sender, task_result, **kwargs):
    if task_result.status != TaskResultStatus.FAILED:
        return
    error = task_result.errors[-1] if task_result.errors else None
    logger.error(
        "task %s failed",
        task_result.task.module_path,
        extra={
            "task": task_result.task.module_path,
            "task_id": str(task_result.id),
            "backend": task_result.backend,
            "exception": error.exception_class_path if error else None,
            "traceback": error.traceback if error else None,
        },
    )

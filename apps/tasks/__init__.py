"""Background work the same way on every target, through django-tasks (Django 6's API).

Apps write ``@task`` functions (``from django_tasks import task``) and call ``.enqueue()``;
settings pick the backend: inline locally and in tests, the database queue with
``manage.py db_worker`` on servers, an asynchronous self-invocation on Lambda
(``deploy/lambda/tasks.py``). Every task must be idempotent: see ``idempotency``.
"""

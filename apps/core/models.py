# apps.core has no models; IdempotencyKey moved to apps.tasks (see its migrations).

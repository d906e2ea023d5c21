from django.apps import AppConfig


class SessionsConfig(AppConfig):
    name = "apps.sessions"
    # "sessions" is django.contrib.sessions' label.
    label = "dynamodb_sessions"
    verbose_name = "Sessions (DynamoDB)"

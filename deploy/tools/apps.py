from django.apps import AppConfig


class ToolsConfig(AppConfig):
    name = "deploy.tools"
    label = "tools"
    verbose_name = "Developer and operator tools"

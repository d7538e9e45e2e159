from django.apps import AppConfig


class MiniprogramApiConfig(AppConfig):
    name = "miniprogram_api"

from django.apps import AppConfig


class OfficialaccountConfig(AppConfig):
    name = "officialaccount"

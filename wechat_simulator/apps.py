from django.apps import AppConfig


class WechatSimulatorConfig(AppConfig):
    name = "wechat_simulator"

from django.apps import AppConfig


class OfficialaccountConfig(AppConfig):
    name = "officialaccount"
    verbose_name = "公众号"

    def ready(self) -> None:
        from django.db.models.signals import post_delete, post_save

        from officialaccount import rules
        from officialaccount.models import AutoReplySettings, ReplyArticle, ReplyRule

        # The in-process rule cache is keyed by a shared version: any change bumps it.
        for model in (ReplyRule, ReplyArticle, AutoReplySettings):
            post_save.connect(rules.rules_changed, sender=model, dispatch_uid=f"oa-rules-save-{model.__name__}")
            post_delete.connect(rules.rules_changed, sender=model, dispatch_uid=f"oa-rules-del-{model.__name__}")

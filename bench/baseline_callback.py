"""The callback benchmark's baseline: a bare Django view that decrypts, parses and replies
with wechatpy and stores nothing. Mounted only by bench/urls_callback.py (never in the
project's URLs)."""

from django.conf import settings
from django.http import HttpResponse
from django.views.decorators.csrf import csrf_exempt
from wechatpy import parse_message
from wechatpy.crypto import WeChatCrypto
from wechatpy.replies import TextReply

_crypto: WeChatCrypto | None = None


@csrf_exempt
def bare_callback(request):
    global _crypto
    if _crypto is None:
        _crypto = WeChatCrypto(settings.WECHAT_MP_TOKEN, settings.WECHAT_MP_ENCODING_AES_KEY, settings.WECHAT_MP_APPID)
    query = request.GET
    xml = _crypto.decrypt_message(request.body, query["msg_signature"], query["timestamp"], query["nonce"])
    message = parse_message(xml)
    reply = TextReply(content="您好，欢迎光临", message=message)
    return HttpResponse(_crypto.encrypt_message(reply.render(), query["nonce"], query["timestamp"]),
                        content_type="application/xml")

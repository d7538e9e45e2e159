"""The spec's official-account vectors V1–V8 (wechat-spec.md 10.1)."""

import re
import xml.etree.ElementTree as ET

import pytest
import xmltodict

from officialaccount import crypto
from officialaccount.replies import Reply, render_passive
from officialaccount.wxml import cdata, parse_fields

V3_ENCRYPT = (
    "+qdx1OKCy+5JPCBFWw70tm0fJGb2Jmeia4FCB7kao+/Q5c/ohsOzQHi8khUOb05JCpj0JB4RvQMkUyus8TPxLKJGQqcvZqzDpVzazhZv6JsXUnnR8XGT"
    "740XgXZUXQ7vJVnAG+tE8NUd4yFyjPy7GgiaviNrlCTj+l5kdfMuFUPpRSrfMZuMcp3Fn2Pede2IuQrKEYwKSqFIZoNqJ4M8EajAsjLY2km32IIjdf8YL"
    "/P50F7mStwntrA2cPDrM1kb6mOcfBgRtWygb3VIYnSeOBrebufAlr7F9mFUPAJGj04="
)
V5_ENCRYPT = (
    "hyzAe4OzmOMbd6TvGdIOO6uBmdJoD0Fk53REIHvxYtJlE2B655HuD0m8KUePWB3+LrPXo87wzQ1QLvbeUgmBM4x6F8PGHQHFVAFmOD2LdJF9FrXpbUAh0B5"
    "GIItb52sn896wVsMSHGuPE328HnRGBcrS7C41IzDWyWNlZkyyXwon8T332jisa+h6tEDYsVticbSnyU8dKOIbgU6ux5VTjg3yt+WGzjlpKn6NPhRjpA912x"
    "MezR4kw6KWwMrCVKSVCZciVGCgavjIQ6X8tCOp3yZbGpy0VxpAe+77TszTfRd5RJSVO/HTnifJpXgCSUdUue1v6h0EIBYYI1BD1DlD+C0CR8e6OewpusjZ4"
    "uBl9FyJvnhvQl+q5rv1ixrcpCumEPo5MJSgM9ehVsNPfUM669WuMyVWQLCzpu9GhglF2PE="
)
V6_ENCRYPT = (
    "4j/AuRx71kQlxVlzbpsMWKArmag+eIKe8fW3F8UUT6wginOqd/RaPoAgJFashUgqUwD4nMWhKuz/BuBwhLcKPQvt4NC1vW5pHxIxUqjNWuVQlztfFB/HnoQo"
    "raKWbtpDaIpSnDem8mZ/nrDBYSIbt2atY87R16EPNk5hc4NEeOYMd0gpatMOGij31HXTE3Qv4sRjTJTv+oFShfWr17oAVqrmw8S046K9/4CHiBrVYcoxLTWT"
    "Fqp5FZ33NKWIN/OxAdgbaMwIWMv2ShhlBb8MifExuH+hT9tb4A+RUsYcVKknSQFJpKbJiLX+O96o458uXKp1Sfx98nXeopmX5GXZn4IyDSMfy1OZhSkaHLGi"
    "VT82nz3qJcDkb85GYC+IFvTp+Gw0b4aNnBoilV2+n2Cv57vUTDl9TReKFjpyyUWBHdo="
)
V6_PLAIN = (
    "<xml><ToUserName><![CDATA[gh_brand0001]]></ToUserName><FromUserName><![CDATA[o_follower_0001]]></FromUserName>"
    "<CreateTime>1764057600</CreateTime><MsgType><![CDATA[text]]></MsgType><Content><![CDATA[你好]]></Content>"
    "<MsgId>24000000000000001</MsgId></xml>"
)
V6_KEY = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8"
V7_ENCRYPT = (
    "wrNmYnsdngNwZHPRm4NnSz9XYsgTZJgNsgpGacVGTLztvuks2a5NqjLvXtgXPDXZ74DL/uPHGAQPdWy/Ri6axXLe4IbOYQmnzmKKOpWjQWBcraldafXz/2g+"
    "uXW17dt27Fet0F+01ZtMqb90PwXkzjAoqvdaKGucBKZeecObJON82Vrh+PXquQOwJUzleWmy303f2pBPcXkTBwNf1ves/yAB+VLuo3Xy2LhP3g36YwB8fPsV"
    "9vRe2vTG0U5Q7+O8lBr/y6LRm0poNtqWFsEfHMsJkMkF6dx9TWos6BJU87CwO/XhDNekfeDntQk23Rc03qpxP0AfqngBXDoshNDC9TIJew569GDnUxhH6bFX"
    "+s4ulI9QA1yk7OIrV6XMEgS8"
)


def test_v1_url_signature():
    assert crypto.sha1_signature("AAAAA", "1714036504", "1514711492") == "f464b24fc39322e44b38aa78f5edd27bd1441696"
    assert crypto.signature_matches(("AAAAA", "1714036504", "1514711492"), "f464b24fc39322e44b38aa78f5edd27bd1441696")
    assert not crypto.signature_matches(("AAAAA", "1714036504", "1514711492"), "f464b24fc39322e44b38aa78f5edd27bd1441697")


def test_v2_plaintext_post_signature():
    assert crypto.sha1_signature("AAAAA", "1714037059", "486452656") == "899cf89e464efb63f54ddac96b0a0a235f53aa78"


def test_v3_safe_mode_decrypts_and_signs():
    assert crypto.sha1_signature("AAAAA", "1714112445", "415670741") == "6c5c811b55cc85e0e1b54100749188c20beb3f5d"
    assert (crypto.sha1_signature("AAAAA", "1714112445", "415670741", V3_ENCRYPT)
            == "046e02f8204d34f8ba5fa3b1db94908f3df2e9b3")
    message = crypto.decrypt(encoding_aes_key="A" * 43, appid="wxba5fad812f8e6fb9", encrypted=V3_ENCRYPT)
    assert message == (
        '{"ToUserName":"gh_97417a04a28d","FromUserName":"o9AgO5Kd5ggOC-bXrbNODIiE3bGY","CreateTime":1714112445,'
        '"MsgType":"event","Event":"debug_demo","debug_str":"hello world"}'
    )


def test_v3_refuses_another_appid():
    with pytest.raises(crypto.CryptoError):
        crypto.decrypt(encoding_aes_key="A" * 43, appid="wx_someone_else00", encrypted=V3_ENCRYPT)


def test_v4_encrypted_reply():
    envelope = crypto.encrypted_envelope(
        token="AAAAA", encoding_aes_key="A" * 43, appid="wxba5fad812f8e6fb9", message='{"demo_resp":"good luck"}',
        timestamp="1713424427", nonce="415670741", random=b"707722b803182950",
    )
    assert "<Encrypt><![CDATA[ELGduP2YcVatjqIS+eZbp80MNLoAUWvzzyJxgGzxZO/5sAvd070Bs6qrLARC9nVHm48Y4hyRbtzve1L32tmxSQ==]]>" in envelope
    assert "<MsgSignature><![CDATA[1b9339964ed2e271e7c7b6ff2b0ef902fc94dea1]]></MsgSignature>" in envelope
    assert "<TimeStamp>1713424427</TimeStamp>" in envelope


def test_v5_compatible_mode_decrypts_xml():
    key = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
    assert crypto.aes_key(key).hex() == "69b71d79f8218a39259a7a29aabb2dbafc31cb3d35db7e39ebbf3d0010831051"
    assert crypto.sha1_signature("spamtest", "1409735669", "1320562132", V5_ENCRYPT) == "5d197aaffba7e9b25a30732f161a50dee96bd5fa"
    message = crypto.decrypt(encoding_aes_key=key, appid="wx2c2769f8efd9abc2", encrypted=V5_ENCRYPT)
    fields = parse_fields(message)
    assert fields["Content"] == "abcdteT"
    assert fields["MsgId"] == "6054768590064713728"
    assert fields["FromUserName"] == "oyORnuP8q7ou2gfYjqLzSIWZf0rs"


def test_v6_safe_mode_text_message():
    assert crypto.sha1_signature("wxbackend_token", "1764057600", "1785743913") == "88cf81950f6a6ce8067a00c1469b51e289fe61a6"
    assert (crypto.sha1_signature("wxbackend_token", "1764057600", "1785743913", V6_ENCRYPT)
            == "951bfce0a27ebcd44e6cb7d2ca369c437d4e4ad6")
    assert crypto.decrypt(encoding_aes_key=V6_KEY, appid="wx1234567890abcdef", encrypted=V6_ENCRYPT) == V6_PLAIN
    assert crypto.encrypt(encoding_aes_key=V6_KEY, appid="wx1234567890abcdef", message=V6_PLAIN,
                          random=b"0123456789abcdef") == V6_ENCRYPT


def test_v7_encrypted_reply_to_v6():
    plain = render_passive(Reply(kind="text", text="您好，欢迎光临"), to_user="o_follower_0001",
                           from_user="gh_brand0001", create_time=1764057601, for_event=False)
    assert plain == (
        "<xml><ToUserName><![CDATA[o_follower_0001]]></ToUserName><FromUserName><![CDATA[gh_brand0001]]></FromUserName>"
        "<CreateTime>1764057601</CreateTime><MsgType><![CDATA[text]]></MsgType><Content><![CDATA[您好，欢迎光临]]></Content></xml>"
    )
    envelope = crypto.encrypted_envelope(
        token="wxbackend_token", encoding_aes_key=V6_KEY, appid="wx1234567890abcdef", message=plain,
        timestamp="1764057601", nonce="1785743913", random=b"fedcba9876543210",
    )
    assert f"<Encrypt><![CDATA[{V7_ENCRYPT}]]></Encrypt>" in envelope
    assert "<MsgSignature><![CDATA[9f676116539dd9f6d089d54f4d9695332a3191e3]]></MsgSignature>" in envelope


def test_v8_cdata_escaping_keeps_text_and_adds_no_element():
    text = "a]]><MsgType>x</MsgType>b"
    assert cdata(text) == "<![CDATA[a]]]]><![CDATA[><MsgType>x</MsgType>b]]>"
    reply = render_passive(Reply(kind="text", text=text), to_user="o_1", from_user="gh_1", create_time=1, for_event=False)
    root = ET.fromstring(reply)
    assert root.findtext("Content") == text
    assert [e.text for e in root.iter("MsgType")] == ["text"]
    assert xmltodict.parse(reply)["xml"]["Content"] == text


def test_illegal_xml_characters_are_dropped_from_replies():
    reply = render_passive(Reply(kind="text", text="a\x00b\x1fc"), to_user="o_1", from_user="gh_1",
                           create_time=1, for_event=False)
    assert ET.fromstring(reply).findtext("Content") == "abc"
    assert re.search("[\x00-\x08]", reply) is None

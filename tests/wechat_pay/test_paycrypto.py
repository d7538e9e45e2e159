"""paycrypto against every WeChat Pay vector of wechat-spec.md (V10-V17), plus the ways a
forged, stale or malformed input must fail."""

import base64
import hashlib
import json

import pytest
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from tests.wechat_pay import vectors as V
from wxbackend.wechat import paycrypto as pc

V10_PARAMS = {
    "appid": "wxd930ea5d5a258f4f",
    "mch_id": "10000100",
    "device_info": "1000",
    "body": "test",
    "nonce_str": "ibuaiVcKdpRxkhJA",
}
V10_KEY = "192006250b4c09247ec02edce69f6a2d"
V16_KEY = pc.load_private_key(V.V16_PRIVATE_KEY)
V16_PUBLIC = V16_KEY.public_key()
V16B_HEADERS = {
    "Wechatpay-Timestamp": "1764057601",
    "Wechatpay-Nonce": "c5ac7061fccab6bf3e254dcf98995b8c",
    "Wechatpay-Signature": V.V16B_SIGNATURE,
    "Wechatpay-Serial": "PUB_KEY_ID_TEST",
    "Wechatpay-Signature-Type": "WECHATPAY2-SHA256-RSA2048",
}
V16B_BODY = '{"prepay_id":"wx25140000000000000000000000000000"}'


# --- v2 -------------------------------------------------------------------------------------


def test_v10_string_to_sign_md5_and_hmac():
    assert pc.v2_sign_string(V10_PARAMS, V10_KEY) == (
        "appid=wxd930ea5d5a258f4f&body=test&device_info=1000&mch_id=10000100"
        "&nonce_str=ibuaiVcKdpRxkhJA&key=192006250b4c09247ec02edce69f6a2d"
    )
    assert pc.v2_sign(V10_PARAMS, V10_KEY) == "9A0A8659F005D6984697E2CA0A9CF3B7"
    assert (
        pc.v2_sign(V10_PARAMS, V10_KEY, "HMAC-SHA256")
        == "6A9AE1657590FD6257D693A078E1C3E4BB6BA4DC30B23E0EE2496E54170DACD6"
    )


def test_v10_empty_fields_and_sign_are_left_out():
    noisy = {**V10_PARAMS, "attach": "", "detail": None, "sign": "WHATEVER"}
    assert pc.v2_sign(noisy, V10_KEY) == "9A0A8659F005D6984697E2CA0A9CF3B7"


def test_unknown_sign_type_is_refused():
    with pytest.raises(pc.PayCryptoError):
        pc.v2_sign(V10_PARAMS, V10_KEY, "SHA1")


@pytest.mark.parametrize(
    ("sign_type", "expected"),
    [
        ("MD5", "22D9B4E54AB1950F51E0649E8810ACD6"),  # V11
        ("HMAC-SHA256", "FB9D1EFB5C509131BBFF729F88A99CA2DE9B724D06D3B3262832A53083862BC0"),  # V12
    ],
)
def test_v11_v12_mini_program_pay_sign(sign_type, expected):
    params = {
        "appId": "wxd678efh567hg6787",
        "nonceStr": "5K8264ILTKCH16CQ2502SI8ZNMTM67VS",
        "package": "prepay_id=wx2017033010242291fcfe0db70013231072",
        "signType": sign_type,
        "timeStamp": "1490840662",
    }
    assert pc.v2_sign(params, "qazwsxedcrfvtgbyhnujmikolp111111", sign_type) == expected


def _v13_notification() -> dict:
    fields = dict(p.split("=", 1) for p in V.V13_SIGN_STRING.split("&") if not p.startswith("key="))
    fields["sign"] = "3C7D58B88DC1667A1B7385471128512E51ACEA24ED16A57D4BC2C052204586ED"
    return fields


def test_v13_hmac_notification_verifies_by_its_own_sign_type():
    notice = _v13_notification()
    assert pc.v2_sign_string(notice, V10_KEY) == V.V13_SIGN_STRING
    pc.v2_verify(notice, V10_KEY)  # sign_type=HMAC-SHA256 is read from the notice


def test_v13_notification_fails_when_a_field_changes_or_the_type_is_forced_to_md5():
    notice = _v13_notification()
    with pytest.raises(pc.BadSignature):
        pc.v2_verify({**notice, "total_fee": "1"}, V10_KEY)
    with pytest.raises(pc.BadSignature):
        pc.v2_verify(notice, V10_KEY, sign_type="MD5")
    with pytest.raises(pc.BadSignature):
        pc.v2_verify({k: v for k, v in notice.items() if k != "sign"}, V10_KEY)
    with pytest.raises(pc.BadSignature):
        pc.v2_verify(notice, "0" * 32)


def test_v2_xml_round_trip_keeps_text_and_escapes_cdata_end():
    fields = {"return_code": "SUCCESS", "total_fee": 100, "attach": "a]]><evil/>b", "body": "保温杯"}
    xml = pc.v2_dict_to_xml(fields)
    assert pc.v2_xml_to_dict(xml) == {"return_code": "SUCCESS", "total_fee": "100", "attach": "a]]><evil/>b", "body": "保温杯"}


@pytest.mark.parametrize(
    "body",
    [
        b"<xml><a>1</a",  # not well-formed
        b'<!DOCTYPE x [<!ENTITY e "boom">]><xml><a>&e;</a></xml>',  # entities: defusedxml refuses
        b"<other><a>1</a></other>",  # wrong root
        b"<xml><a><b>1</b></a></xml>",  # nested
        b"<xml><a>1</a><a>2</a></xml>",  # ambiguous
    ],
)
def test_v2_xml_refuses_what_wechat_never_sends(body):
    with pytest.raises(pc.BadXml):
        pc.v2_xml_to_dict(body)


def test_v14_refund_req_info_decrypts():
    fields = pc.v2_refund_decrypt(V.V14_REQ_INFO, V10_KEY)
    assert fields == {
        "out_refund_no": "R20261125000001",
        "out_trade_no": "WX20261125000001",
        "refund_fee": "100",
        "refund_status": "SUCCESS",
        "success_time": "2026-11-25 14:30:00",
        "total_fee": "100",
    }
    assert pc.v2_refund_encrypt(fields, V10_KEY) == V.V14_REQ_INFO


def test_v14_wrong_key_and_loose_padding_are_rejected():
    with pytest.raises(pc.BadCiphertext):
        pc.v2_refund_decrypt(V.V14_REQ_INFO, "f" * 32)
    # wechatpy's RefundCrypto pads to 32-byte blocks (pitfall 11): strict PKCS#7/16 refuses it.
    plain = b"<root><a>" + b"x" * 14 + b"</a></root>"  # 33 bytes: 31 bytes of padding
    pad32 = 32 - len(plain) % 32
    aes_key = hashlib.md5(V10_KEY.encode()).hexdigest().encode()
    enc = Cipher(algorithms.AES(aes_key), modes.ECB()).encryptor()
    loose = base64.b64encode(enc.update(plain + bytes([pad32]) * pad32) + enc.finalize()).decode()
    assert pad32 > 16
    with pytest.raises(pc.BadCiphertext):
        pc.v2_refund_decrypt(loose, V10_KEY)
    with pytest.raises(pc.BadCiphertext):
        pc.v2_refund_decrypt("not base64!!", V10_KEY)


def _req_info(padded: bytes) -> str:
    aes_key = hashlib.md5(V10_KEY.encode()).hexdigest().encode()
    enc = Cipher(algorithms.AES(aes_key), modes.ECB()).encryptor()
    return base64.b64encode(enc.update(padded) + enc.finalize()).decode()


@pytest.mark.parametrize(
    "tail",
    [
        b"\x01\x02\x03\x04",  # says 4, but only the last byte is 4
        b"\x05\x04\x04\x04",  # says 4, three of the four are 4
        b"\x00" * 4,  # zero is never PKCS#7 padding
    ],
)
def test_v14_req_info_whose_padding_bytes_do_not_match_is_rejected(tail):
    """PKCS#7 pads with N bytes each worth N; a req_info whose last byte looks like padding
    but whose other padding bytes differ is not WeChat's and is refused."""
    plain = b"<root><out_trade_no>R1</out_trade_no></root>"  # 44 bytes: 4 to pad
    padded = plain + tail  # decrypts to well-formed XML if only the last byte were read
    assert len(padded) == 48
    with pytest.raises(pc.BadCiphertext, match="padding"):
        pc.v2_refund_decrypt(_req_info(padded), V10_KEY)


# --- v3 -------------------------------------------------------------------------------------


def test_v15_get_request_message_has_an_empty_fifth_line():
    message = pc.v3_request_message("GET", "/v3/certificates", 1554208460, "593BEC0C930BF1AFEB40B4A08C8FB242")
    assert message == b"GET\n/v3/certificates\n1554208460\n593BEC0C930BF1AFEB40B4A08C8FB242\n\n"
    assert hashlib.sha256(message).hexdigest() == "fab5c8a222049f386cb01453c7dc712c7997e756271557b0ef6e2e5060575373"


def test_v16a_request_signature_and_authorization_header():
    body = V.V16A_BODY.encode("utf-8")
    assert len(body) == 313
    message = pc.v3_request_message(
        "POST", "/v3/pay/transactions/jsapi", 1764057600, "593BEC0C930BF1AFEB40B4A08C8FB242", body
    )
    assert hashlib.sha256(message).hexdigest() == "c7ba8489cc0eabda5286df1ba291656a236375dc36a658816de5dba96cd8e0de"
    assert pc.rsa_sign(V16_KEY, message) == V.V16A_SIGNATURE
    header = pc.v3_authorization(
        method="POST",
        url="/v3/pay/transactions/jsapi",
        body=body,
        mchid="1900000109",
        serial_no="SERIAL1",
        private_key=V16_KEY,
        timestamp=1764057600,
        nonce="593BEC0C930BF1AFEB40B4A08C8FB242",
    )
    assert header == (
        'WECHATPAY2-SHA256-RSA2048 mchid="1900000109",nonce_str="593BEC0C930BF1AFEB40B4A08C8FB242",'
        f'signature="{V.V16A_SIGNATURE}",timestamp="1764057600",serial_no="SERIAL1"'
    )
    assert pc.v3_parse_authorization(header) == {
        "mchid": "1900000109",
        "nonce_str": "593BEC0C930BF1AFEB40B4A08C8FB242",
        "signature": V.V16A_SIGNATURE,
        "timestamp": "1764057600",
        "serial_no": "SERIAL1",
    }


@pytest.mark.parametrize("header", ["", "Bearer x", 'WECHATPAY2-SHA256-RSA2048 mchid="1",nonce_str="n"'])
def test_malformed_authorization_is_refused(header):
    with pytest.raises(pc.BadSignature):
        pc.v3_parse_authorization(header)


def _verify(headers, body=V16B_BODY, now=1764057601):
    pc.v3_verify(headers, body, public_key=V16_PUBLIC, public_key_id="PUB_KEY_ID_TEST", now=now)


def test_v16b_answer_signature_verifies_within_five_minutes():
    _verify(V16B_HEADERS)
    _verify(V16B_HEADERS, now=1764057601 + 299)
    _verify(V16B_HEADERS, now=1764057601 - 299)
    # Django's request.META spelling works too.
    meta = {"HTTP_" + k.upper().replace("-", "_"): v for k, v in V16B_HEADERS.items()}
    _verify(meta)
    # A signer of our own yields the same signature.
    signed = pc.v3_signed_headers(
        V16B_BODY, private_key=V16_KEY, serial="PUB_KEY_ID_TEST", timestamp=1764057601, nonce=V16B_HEADERS["Wechatpay-Nonce"]
    )
    assert signed == V16B_HEADERS


@pytest.mark.parametrize(
    ("change", "body", "now"),
    [
        ({}, V16B_BODY.replace("wx25", "wx26"), 1764057601),  # tampered body
        ({}, V16B_BODY, 1764057601 + 300),  # five minutes late
        ({}, V16B_BODY, 1764057601 - 300),  # five minutes early
        ({"Wechatpay-Serial": "PUB_KEY_ID_OTHER"}, V16B_BODY, 1764057601),  # unknown serial
        ({"Wechatpay-Signature-Type": "SM2"}, V16B_BODY, 1764057601),
        ({"Wechatpay-Signature-Type": ""}, V16B_BODY, 1764057601),
        ({"Wechatpay-Signature": "WECHATPAY/SIGNTEST/" + V.V16B_SIGNATURE}, V16B_BODY, 1764057601),  # probe
        ({"Wechatpay-Signature": "!!!"}, V16B_BODY, 1764057601),
        ({"Wechatpay-Timestamp": "1764057601000"}, V16B_BODY, 1764057601),  # milliseconds
        ({"Wechatpay-Nonce": "c5ac7061fccab6bf3e254dcf98995b8d"}, V16B_BODY, 1764057601),
    ],
)
def test_v16b_forged_stale_or_foreign_answers_are_rejected(change, body, now):
    with pytest.raises(pc.BadSignature):
        _verify({**V16B_HEADERS, **change}, body, now)


def test_v16b_serial_and_key_default_to_settings(settings, tmp_path):
    public = tmp_path / "wechatpay_public.pem"
    from cryptography.hazmat.primitives import serialization

    public.write_bytes(V16_PUBLIC.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
    settings.WECHAT_PAY_PUBLIC_KEY_PATH = str(public)
    settings.WECHAT_PAY_PUBLIC_KEY_ID = "PUB_KEY_ID_TEST"
    pc.v3_verify(V16B_HEADERS, V16B_BODY, now=1764057601)
    settings.WECHAT_PAY_PUBLIC_KEY_ID = "PUB_KEY_ID_ROTATED"
    with pytest.raises(pc.BadSignature):
        pc.v3_verify(V16B_HEADERS, V16B_BODY, now=1764057601)


def test_v16c_pay_sign():
    assert (
        pc.v3_pay_sign(
            V16_KEY,
            app_id="wx1234567890abcdef",
            timestamp="1764057600",
            nonce="5K8264ILTKCH16CQ2502SI8ZNMTM67VS",
            package="prepay_id=wx25140000000000000000000000000000",
        )
        == V.V16C_PAY_SIGN
    )


def test_v15_pay_sign_message_shape():
    # V15's paySign message: signType is not part of it.
    message = b"wx8888888888888888\n1414561699\n5K8264ILTKCH16CQ2502SI8ZNMTM67VS\nprepay_id=wx201410272009395522657a690389285100\n"
    signature = pc.v3_pay_sign(
        V16_KEY,
        app_id="wx8888888888888888",
        timestamp="1414561699",
        nonce="5K8264ILTKCH16CQ2502SI8ZNMTM67VS",
        package="prepay_id=wx201410272009395522657a690389285100",
    )
    assert pc.rsa_verify(V16_PUBLIC, message, signature)


V17_KEY = "0123456789abcdef0123456789abcdef"
V17_RESOURCE = {
    "original_type": "transaction",
    "algorithm": "AEAD_AES_256_GCM",
    "ciphertext": V.V17_CIPHERTEXT,
    "associated_data": "transaction",
    "nonce": "5K8264ILTKCH",
}


def test_v17_resource_decrypts_and_encrypts():
    assert len(base64.b64decode(V.V17_CIPHERTEXT)) == 435
    assert pc.v3_decrypt_resource(V17_KEY, V17_RESOURCE) == json.loads(V.V17_PLAINTEXT)
    sealed = pc.v3_encrypt_resource(
        V17_KEY, V.V17_PLAINTEXT, associated_data="transaction", original_type="transaction", nonce="5K8264ILTKCH"
    )
    assert sealed == V17_RESOURCE
    # A dict serialises compactly and unescaped, the way the vector's plaintext is written.
    assert pc.v3_encrypt_resource(
        V17_KEY, json.loads(V.V17_PLAINTEXT), associated_data="transaction", original_type="transaction", nonce="5K8264ILTKCH"
    ) == V17_RESOURCE


@pytest.mark.parametrize(
    ("key", "change"),
    [
        ("fedcba9876543210fedcba9876543210", {}),  # wrong APIv3 key
        (V17_KEY, {"associated_data": "refund"}),
        (V17_KEY, {"nonce": "5K8264ILTKCI"}),
        (V17_KEY, {"algorithm": "AES_CBC"}),
        (V17_KEY, {"ciphertext": V.V17_CIPHERTEXT[:-8] + "AAAAAAA="}),  # tag flipped
        (V17_KEY, {"ciphertext": "%%%"}),
    ],
)
def test_v17_forged_resources_are_rejected(key, change):
    with pytest.raises(pc.BadCiphertext):
        pc.v3_decrypt_resource(key, {**V17_RESOURCE, **change})

"""Test vectors copied verbatim from /work/shared/wechat-spec.md section 10.3 and 10.4."""

V13_SIGN_STRING = 'appid=wxd930ea5d5a258f4f&bank_type=OTHERS&cash_fee=100&fee_type=CNY&is_subscribe=N&mch_id=10000100&nonce_str=5d2b6c2a8db53831f7eda20af46e531c&openid=oUpF8uMEb4qRXf22hE3X68TekukE&out_trade_no=WX20261125000001&result_code=SUCCESS&return_code=SUCCESS&sign_type=HMAC-SHA256&time_end=20261125140102&total_fee=100&trade_type=JSAPI&transaction_id=4200000000202611250000000001&key=192006250b4c09247ec02edce69f6a2d'
V14_PLAIN = '<root><out_refund_no><![CDATA[R20261125000001]]></out_refund_no><out_trade_no><![CDATA[WX20261125000001]]></out_trade_no><refund_fee><![CDATA[100]]></refund_fee><refund_status><![CDATA[SUCCESS]]></refund_status><success_time><![CDATA[2026-11-25 14:30:00]]></success_time><total_fee><![CDATA[100]]></total_fee></root>'
V14_REQ_INFO = 'WBzGpzQuNpcFxIlFjUUD9BfnwwNUlVAs7bwvgHME4/T/E1h1vJXinOAbNJ6ZMqiyjUF6J1J4xU4Xuo3b+lNaAs27gGtso/DIzNj/bM43hg0IUb2zpfN0ziDP4qGrfD3q+IArmqOJiRrjDHqbhz4m+U+jw+Vxuv3B05cm17s3yXkjWkjB+04PnCYg6trujzctKBhfKNsFwKeKLp42E/76LEKbwWiwniCLsQRjRwQePkMx7QujTFbtX2qKGENEMyETVoK2aG4vJSUpxYla3dvzCzdaMBBaIs1a8EXv9vi25PeAljHM6Ck76uduX3HOEr6BAIKqLu2jthL2E43y3xHyXofX8dFfJ4F6alrbu4hyN54AT+LjxLGTSROvSg/rUA5GZU1HDBU5Lz8RoifmlifI+P/HmymWqrJ+zHfdDdNbMtc='
V16_PRIVATE_KEY = """\
-----BEGIN PRIVATE KEY-----
MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQCPwhzYRPJbTML5
JnYiXM3Hf8KXu2YTbVA7znJquJ9QOFDY4udY1ZrA5HlVsHGv0cu23WdGT4yiHOcc
UWP5+EOtvJUqAkHDutVA/HZtPore2827M0iJYRjLQP8mWvYaQ5QspIVsDQ9f5Wey
DLdjzeYj2wQMmMxxSucpKGyed8dmNmSg/Gp3e+sZynUf48wWca5D+MPxkFvncK5d
3Z5dRAfdgeMHJDWmiNtBqMCD+i/6hmXkVS9sb7BUlFzjCVzJx+a8EaKrt15O//EQ
NVkcQ8InIYHoSpqFr+IU9V6tD9fOqYvnjrdp22o++f7BAXIYPp82nSRNZR/Hlgek
Lr6cE9kfAgMBAAECggEAANCdYD53zzuuqUHmDojPI8/eFwUZbYfDmisv69nzET3Y
e3pBzHedgnVpGKrA4jnCuV0k7jmaNvsJ9lehxPN60rvMbqoHnGftOIqV00W0/NFr
J6IBScISpWhPafS/C2QRrXUbSoMCcM04msJGsdqjcNWXfsjI8+V0TP/tKbLNHw+y
slC6YE6R9du2pZUhllr2FL+ZAmmS51heKX74TrfcKrzqj31tBYxXaQGVns8xHQXe
BF4TBhhq8mfI1XdWonRI/WX37TscwGj/uNJqxVPvVplo7BYtxebvI/ivF87zLJ28
zc63DgXWtFCSDZj5ZGbuMHLyLskwhfoykyb0nDpK6QKBgQDFfGLHRxreeHPdFrdy
yc7jPJMY68/DNLN81NxR/745dnfg2oxBylIpH7I9/k0lPkPzyCS7VphHQTJ2CVcp
1cH7iH+4+xdN6tUt14DqgS691KXrspOE3ySZ+lkaqeHV5nz5/cYTZrhJpu0+z7VA
bLFl7vS4KXKm+PaoxYo7scrWpwKBgQC6WmbbU49hGBaBF3Pl4ns2unCEFNrosHwR
lgHHPV06hf2+XNb/P4nCxqk+X+erJbR2xaT8aOsFRz/4mBzwmR4TYyWAHtqmQTHo
NjJ5HjarD3ggYF6h04mHkOlmePxngN7Bxkg4ASSxixywqqVwdp0ClGYtngFrQTSG
QHlDDB4wyQKBgHd6s8Bg8o6aTW77aW2XTwYIBe7T7FTrs5PYrJsnoQze8dQmJSlA
oMiklpAPJNldfHsnIaH92A90EHV9XTDAVKY7hRqDPywy4VrkwOgf1Amhd+jLl5iR
8HEAF5ycHzfsRLxynr3qLaDRz0NrIvuhRwqmsYQh/22pvoGJUgKfpFqNAoGBALlF
D2WWmcGqNRV6v5sZo+4xRZPLOCiG7ZJ+VJ5E/98jP7Z2jrmN7eRbpf+BUc3x2o0K
ypC3rpC82XjJolwBnskflTTfd/o6bueymlOYGjnPU1q89NhmeyDwjVt3hVlR4iU8
gKhNWrG44Hkz7u70vfzGlR9dK4P6e8HNb8Gc1pchAoGAFHFQ/fifqoEDUg/pJnf1
qm/3iPf+HNGlgmybnwmWcJ+Xppl1Is8fQay+MfEbxsKQ5e5OMgtRzCg1GQtbETSj
bH+Yrtwc5Wpb3caExj73swZoSQAHqL3hQeAitEWEjC3rkLwEvY6Z6U/I2F+NhBm/
EP9g/gZW/ognjPK/G1c/xAM=
-----END PRIVATE KEY-----
"""
V16A_BODY = '{"appid":"wx1234567890abcdef","mchid":"1900000109","description":"保温杯 500ml","out_trade_no":"WX20261125000001","time_expire":"2026-11-25T14:30:00+08:00","notify_url":"https://shop.example.com/payments/wechat/notify/","amount":{"total":100,"currency":"CNY"},"payer":{"openid":"oUpF8uMEb4qRXf22hE3X68TekukE"}}'
V16A_SIGNATURE = 'BLPQTLiJk6CxaSLhpCFc6+BS/n8/N0PG4seKTSeSFfkMLpyq/tq8bLhjBMLZeSiQHcPx1n98I3QM1TbZ++DA9/QBxfMpU/I32nHEL3ijJZJiWzKGPvV2WAQkzUv5DqHp7Q2Qz9s31WMMYdz6bp4XzeG5ZGgYm9TkdTsQ9EDkiTxqOVEnREq9nw2/rXZwgtavyKQyEMYEZ0N17+qN+R9XOVwptmMrDKPJi59yWYt4UNytiKS01qhgm03Kcv4Bx7XYIgrs3h4b+sJNVTOMJU4oyO8AALuAyWXr7/b3iGWkqdtvdIlBY8lR09wJqW5dRECM6ntAMEHHrxe1pPna1reirg=='
V16B_SIGNATURE = 'd1Tlk8xDsqmXC5auayIL9IZrY7upL1HbrvOjIxCp1Yyc7ZdbYPHzggAFCSW85eNTUe1GTU8vOfrXMHo6M4JBlou//BgcGjiYiShwKH4wVIkGllCFyeZQZMHv1dUdPcuqfuMyDnARY7XfQASku6ELZCiSM/1HyTWWGHfetXOb4U/A7t6Mdy8rb3+VBGAl7SpEr691sOQe0dSpc48sk2hVH7hiM8KqXarAuOE9WD/2beAkWyx+/KNPtHF92xZfT4ApBpF+CNujp/dJAzXOia1hK2rgGVOBtg8V8gclFA0LtS1SlhVGdC3KbgXBCLAJPnDbzxt5RPsRr7HLgPqCQJlLvg=='
V16C_PAY_SIGN = 'Zz5qduyKMvoWkIBhDRvyCbyseajnC0DU9wMrGkGfchKcTnZr0nKZJxzYImeDtV0ZE5XRefM54gS2ZUnKOe9B1I7UuCouRpFiynwc4ePOYZKT9L8illyoZLOFH6AsQfNnIQUaKADTgWXP+IUDgcqWbkP2dzy4b32LR2NlphfcJzCFZ5m0AMe0NDg3a++S8n+WslvYgzufrtJJ3O1X3mR7/kW9OSyz08X8TfIDWSbgbxvFcohtA+bJ+5tF3ozfeYpGkJrZcyn0CfZ0KXoUAHzGpdpD5XZ8X2fmrKIYeCBG5i7ep6IZqJj9GvIOao6DPClyXQUiE7UQxnqwARFiJQXr6A=='
V17_PLAINTEXT = '{"appid":"wx1234567890abcdef","mchid":"1900000109","out_trade_no":"WX20261125000001","transaction_id":"4200000000202611250000000001","trade_type":"JSAPI","trade_state":"SUCCESS","trade_state_desc":"支付成功","bank_type":"OTHERS","attach":"","success_time":"2026-11-25T14:01:02+08:00","payer":{"openid":"oUpF8uMEb4qRXf22hE3X68TekukE"},"amount":{"total":100,"payer_total":100,"currency":"CNY","payer_currency":"CNY"}}'
V17_CIPHERTEXT = 'wm37QjYbKFQwG+Btd0+vV70ubTLHuA3eGl8hVuMRiGorbWHE8Atw+8zKwRuxFP8Kc4Odkfal3Qm/YDGnU1/GsndbIjgpqTrQ1CCgCXJk1hN2HZ6Q3EP1CIBNm58yvo8wPQQB9kLMjRB7HnhOtcYhhjZ/wKDU4GNu/23gB3fJkbrsPG4UsC2SXuUshgUu1+v/sDlxVhhlALNZGqffDl8Wei1uxBd8f6dRGc7cb8jP/x6Xy3/63eeLR2kz4Qy/FDuoH+EqfQC98RIUJkX9ruV31H+pA7I84u4XU0ee1LtJihmiV3YMOmZUwCWYR6gO4c8bQJ2SwAyErDiASAd/qxUlq236unEcFJQaGZ8AVPOKp9jq7LY+H0dPZ87BiVL6N+TEWnA+/YZmaHAFg/ePF4OEYRe2Li8MvuuGGg1dj4SjHzhzk+IwsaHdy+OWDkle9l3CCdeuVpxNKl+dHPP2NS3XFjOzHarrZPbqU8OMbl91MBEp8l6deQN5c8sQ1lIAzLC8Y2q65aJsy2nSrpyawk1NRKnE7jq5thhtMvW8oYe/y5GMrRmE3SBn5EUdWE4tQ0PatI+L'

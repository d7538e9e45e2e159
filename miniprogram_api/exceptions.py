from wxbackend.api import DomainError, ServiceUnavailable


class InvalidCode(DomainError):
    code = "invalid_code"
    status = 400
    default_detail = "The code is invalid, expired or already used; call wx.login again."


class WeChatRateLimited(DomainError):
    code = "wechat_rate_limited"
    status = 429
    default_detail = "Too many logins for this WeChat user; try again in a minute."


class LoginBlocked(DomainError):
    code = "login_blocked"
    status = 403
    default_detail = "WeChat blocked this login (high-risk user)."


class WeChatUnavailable(ServiceUnavailable):
    code = "wechat_unavailable"
    default_detail = "WeChat is unavailable; try again shortly."


class WeChatRefused(DomainError):
    code = "wechat_error"
    status = 502
    default_detail = "WeChat refused the request."


class InvalidPhoneCode(InvalidCode):
    default_detail = "The phone-number code is invalid, expired or already used."

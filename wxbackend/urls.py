from django.conf import settings
from django.contrib import admin
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerSplitView

from wxbackend import landing, views

urlpatterns = [
    path("", landing.landing, name="landing"),
    path("healthz", views.healthz, name="healthz"),
    path("readyz", views.readyz, name="readyz"),
    path("admin/", admin.site.urls),
    path("wechat/mp/", include("officialaccount.urls")),
    path("payments/", include("payments.urls")),
    path("api/v1/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    # Both served from our own static files (drf-spectacular-sidecar), no inline script.
    path("api/v1/docs/", SpectacularSwaggerSplitView.as_view(url_name="api-schema"), name="api-docs"),
    path("api/v1/redoc/", SpectacularRedocView.as_view(
        url_name="api-schema", template_name="wxbackend/redoc.html"), name="api-redoc"),
    path("api/v1/redoc/redoc.standalone.js", views.redoc_script, name="api-redoc-script"),
    path("api/v1/", include("miniprogram_api.urls")),
]

if settings.WECHAT_SIMULATOR_ENABLED:
    urlpatterns.append(path("__sim__/", include("wechat_simulator.urls")))

# Catalog images from the local disk, debug on or off (wxbackend.views.media).
urlpatterns.append(re_path(r"^" + settings.MEDIA_URL.strip("/") + r"/(?P<path>.+)$", views.media, name="media"))

admin.site.site_header = "wxbackend 商家后台"
admin.site.site_title = "wxbackend"
admin.site.index_title = "运营管理"

handler404 = "wxbackend.views.not_found"
handler500 = "wxbackend.views.server_error"

from django.conf import settings
from django.conf.urls.static import static
from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from wxbackend import landing, views

urlpatterns = [
    path("", landing.landing, name="landing"),
    path("healthz", views.healthz, name="healthz"),
    path("readyz", views.readyz, name="readyz"),
    path("admin/", admin.site.urls),
    path("wechat/mp/", include("officialaccount.urls")),
    path("payments/", include("payments.urls")),
    path("api/v1/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/v1/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("api/v1/", include("miniprogram_api.urls")),
]

if settings.WECHAT_SIMULATOR_ENABLED:
    urlpatterns.append(path("__sim__/", include("wechat_simulator.urls")))

if settings.DEBUG:
    urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)

admin.site.site_header = "wxbackend 商家后台"
admin.site.site_title = "wxbackend"
admin.site.index_title = "运营管理"

handler404 = "wxbackend.views.not_found"
handler500 = "wxbackend.views.server_error"

from django.urls import path

from officialaccount import views

app_name = "officialaccount"

urlpatterns = [
    path("callback/", views.callback, name="callback"),
    path("product/<int:product_id>/", views.product_link, name="product-link"),
]

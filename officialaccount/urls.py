from django.urls import path

from officialaccount import views

app_name = "officialaccount"

urlpatterns = [
    path("callback/", views.callback, name="callback"),
    # The URL as typed into WeChat's console may lack the slash: WeChat does not follow a
    # redirect with its POST, so answer here too.
    path("callback", views.callback, name="callback-no-slash"),
    path("product/<int:product_id>/", views.product_link, name="product-link"),
]

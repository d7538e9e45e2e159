from django.contrib import admin

from orders.models import Address, Cart, CartItem


class CartItemInline(admin.TabularInline):
    model = CartItem
    extra = 0
    fields = ("sku", "quantity", "created_at")
    readonly_fields = ("created_at",)
    raw_id_fields = ("sku",)


@admin.register(Cart)
class CartAdmin(admin.ModelAdmin):
    list_display = ("id", "customer", "updated_at")
    raw_id_fields = ("customer",)
    inlines = [CartItemInline]


@admin.register(Address)
class AddressAdmin(admin.ModelAdmin):
    list_display = ("user_name", "province_name", "city_name", "county_name", "customer", "is_default")
    list_filter = ("province_name", "is_default")
    search_fields = ("user_name", "detail_info")
    raw_id_fields = ("customer",)

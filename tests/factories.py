"""Shared factory-boy factories (any app may add its own here)."""

import secrets

import factory
from django.conf import settings
from django.utils import timezone

from catalog.models import Category, Product, ProductImage, Sku
from miniprogram_api.authentication import token_hash
from miniprogram_api.models import ApiToken, Customer
from orders.models import Address, Cart, CartItem


class CategoryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Category

    name = factory.Sequence(lambda n: f"分类{n}")
    sort_order = factory.Sequence(lambda n: n)
    is_active = True


class ProductFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Product

    category = factory.SubFactory(CategoryFactory)
    title = factory.Sequence(lambda n: f"商品{n}")
    subtitle = ""
    is_on_shelf = True
    cover = factory.django.ImageField(filename="cover.png", width=4, height=4, color="red")


class ProductImageFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ProductImage

    product = factory.SubFactory(ProductFactory)
    image = factory.django.ImageField(filename="gallery.png", width=4, height=4, color="blue")


class SkuFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Sku

    product = factory.SubFactory(ProductFactory)
    code = factory.Sequence(lambda n: f"SKU-{n:05d}")
    attributes = factory.LazyFunction(lambda: {"颜色": "红", "尺码": "M"})
    price_fen = 9900
    stock = 10


class CustomerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Customer

    openid = factory.Sequence(lambda n: f"o_customer_{n:06d}")
    nickname = factory.Sequence(lambda n: f"顾客{n}")


def bearer_for(customer: Customer, **overrides) -> str:
    """A fresh Bearer token for `customer` (overrides: expires_at, revoked_at)."""
    plain = secrets.token_urlsafe(32)
    ApiToken.objects.create(
        customer=customer, key_hash=token_hash(plain),
        expires_at=overrides.pop("expires_at", timezone.now() + settings.API_TOKEN_TTL), **overrides,
    )
    return plain


class CartFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Cart
        django_get_or_create = ("customer",)

    customer = factory.SubFactory(CustomerFactory)


class CartItemFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CartItem

    cart = factory.SubFactory(CartFactory)
    sku = factory.SubFactory(SkuFactory)
    quantity = 1


class AddressFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Address

    customer = factory.SubFactory(CustomerFactory)
    user_name = "张三"
    tel_number = "13800138000"
    province_name = "广东省"
    city_name = "广州市"
    county_name = "海珠区"
    detail_info = "新港中路397号"
    postal_code = "510000"
    national_code = "440105"

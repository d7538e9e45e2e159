"""The API fuzzed from its own OpenAPI document (schemathesis): whatever a generated request
holds, the answer is never a 5xx, and its status, content type and body are the ones the
document declares. A few examples per operation, derandomized, so the run is bounded and
repeatable; `schemathesis run` against a served instance goes further (see the report)."""

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.factories import (
    AddressFactory,
    CartItemFactory,
    CategoryFactory,
    CustomerFactory,
    ProductFactory,
    SkuFactory,
    bearer_for,
)

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


@pytest.fixture
def fuzz_bearer(db):
    """A customer with a cart and an address, in a catalog with a hidden sub-category."""
    parent = CategoryFactory(name="杯壶")
    CategoryFactory(name="停用", parent=parent, is_active=False)
    customer = CustomerFactory()
    for _ in range(3):
        sku = SkuFactory(product=ProductFactory(category=parent))
        CartItemFactory(cart__customer=customer, sku=sku)
    AddressFactory(customer=customer, is_default=True)
    return bearer_for(customer)


# Loaded at collection through the WSGI app: generating the document touches no database.
schema = schemathesis.openapi.from_wsgi("/api/v1/schema/", get_wsgi_application())


@pytest.fixture
def wsgi_keeps_the_test_connection():
    """The WSGI handler closes the database connection around each request (as a server
    should); here that connection holds the test's transaction, so keep it, as Django's
    test client does."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@schema.parametrize()
@settings(max_examples=20, deadline=None, derandomize=True, database=None, suppress_health_check=list(HealthCheck))
def test_every_operation_answers_as_documented_and_never_5xx(
    case, fuzz_bearer, wechat_sim, wsgi_keeps_the_test_connection
):
    """Login codes go to the simulator, never to WeChat."""
    case.call_and_validate(headers={"Authorization": f"Bearer {fuzz_bearer}"}, checks=CHECKS)

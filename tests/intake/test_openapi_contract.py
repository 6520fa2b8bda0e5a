"""The served OpenAPI document is the contract: Schemathesis drives every operation against the app (fixed seed)
and finds no server error, no answer outside the schema, and no accepted request that the schema forbids."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, seed, settings

from intake.openapi import openapi_document
from models.settings import load_settings


@pytest.fixture
def contract_app(settings_env, db_clean):
    from app import create_app

    application = create_app(load_settings(dict(settings_env, XINMA_RATE_LIMITS="off")))
    application.config["TESTING"] = True
    yield application
    application.extensions["xinma.engine"].dispose()


@pytest.fixture
def contract_token(contract_app, wechat_sandbox):
    from qr.demo import seed_demo

    with contract_app.extensions["xinma.sessionmaker"]() as session:
        seed_demo(session)
        session.commit()
    res = contract_app.test_client().post("/api/v1/sessions", json={"code": wechat_sandbox.login_code("o-fuzz")})
    return res.json["data"]["token"]


def test_the_document_is_served_and_names_every_route(client):
    doc = client.get("/api/v1/openapi.json").json
    assert doc["openapi"].startswith("3.")
    routes = {(path, method) for path, item in doc["paths"].items() for method in item}
    assert ("/complaints", "post") in routes and ("/photos", "post") in routes and ("/sessions", "post") in routes
    assert doc["components"]["schemas"]["Error"]["properties"]["error"]["required"] == ["code", "message"]


def test_the_contract_under_test_is_the_served_one(client):
    assert client.get("/api/v1/openapi.json").json == openapi_document()


# The document the app serves (checked equal above), loaded once at collection so each operation is its own test.
contract = schemathesis.openapi.from_dict(openapi_document())


@contract.parametrize()
@seed(20261123)
@settings(max_examples=40, deadline=None, database=None, derandomize=True,
          suppress_health_check=list(HealthCheck))
def test_api_contract(case, contract_app, contract_token):
    # Schema-valid requests may still be refused (an unknown login code, a missing scene): positive_data_acceptance
    # is off; every other check (server errors, response schema, negative data accepted, ...) is on.
    case.operation.schema.app = contract_app  # this test's app (the schema object is built at collection)
    case.call_and_validate(app=contract_app, headers={"Authorization": f"Bearer {contract_token}"},
                           excluded_checks=[schemathesis.checks.positive_data_acceptance])

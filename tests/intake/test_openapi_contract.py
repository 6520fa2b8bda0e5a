"""The served OpenAPI document is the contract: Schemathesis drives every operation against the app (fixed seed)
and finds no server error, no answer outside the schema, and no accepted request that the schema forbids."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, seed, settings

from intake.openapi import openapi_document
from web.settings import load_settings


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


def test_success_answers_of_the_council_and_subscription_endpoints_match_the_document(contract_app, contract_token,
                                                                                      wechat_sandbox):
    """The fuzzing resident has no topic, meeting or board entries: here one has, and every 2xx is checked."""
    import datetime as dt

    from sqlalchemy import select

    from models import ComplaintState, QrCode, Resident, TopicState, Unit, utcnow
    from models.council import Assignment, Publication, PublicationKind
    from tests import factories
    from workers.rendering import template_id

    with contract_app.extensions["xinma.sessionmaker"]() as session:
        resident = session.scalar(select(Resident).where(Resident.openid == "o-fuzz"))
        village = session.scalar(select(Unit).where(Unit.name == "梁堂村"))
        grid = session.scalar(select(Unit).where(Unit.parent_id == village.id))
        topic = factories.topic(session, village, state=TopicState.implemented, title="村口路灯维修")
        factories.complaint(session, grid, resident, state=ComplaintState.promoted, topic=topic)
        session.add(Assignment(topic_id=topic.id, lead_kind="secretary", lead_name="王书记", percent=100, round=1,
                               due_on=dt.date.today() + dt.timedelta(days=3), created_at=utcnow(),
                               completed_at=utcnow()))
        session.add(Publication(unit_id=village.id, topic_id=topic.id, kind=PublicationKind.decision,
                                text="村口路灯由村委会负责维修", published_on=dt.date.today() - dt.timedelta(days=1),
                                created_at=utcnow()))
        scene = session.scalar(select(QrCode.token).where(QrCode.unit_id == grid.id, QrCode.revoked_at.is_(None)))
        session.commit()
        topic_id = topic.id

    client = contract_app.test_client()
    auth = {"Authorization": f"Bearer {contract_token}"}
    answers = [
        ("/topics/{topic_id}", "GET", client.get(f"/api/v1/topics/{topic_id}", headers=auth), 200),
        ("/topics/{topic_id}/ratings", "POST", client.post(f"/api/v1/topics/{topic_id}/ratings", headers=auth,
                                                          json={"level": "basic", "reason": None}), 201),
        ("/boards/{scene}", "GET", client.get(f"/api/v1/boards/{scene}", headers=auth), 200),
        ("/subscriptions", "POST", client.post("/api/v1/subscriptions", headers=auth, json={"results": {
            template_id("complaint_received"): "accept", template_id("topic_progress"): "reject"}}), 201),
        ("/subscriptions", "GET", client.get("/api/v1/subscriptions", headers=auth), 200),
        ("/topics/{topic_id}", "GET", client.get(f"/api/v1/topics/{topic_id}", headers=auth), 200),
    ]
    for path, method, response, status in answers:
        assert response.status_code == status, (path, response.json)
        contract[path][method].validate_response(response)
    assert answers[1][2].json["data"]["topic"]["state"] == "closed"  # the only resident behind it is satisfied
    assert answers[2][2].json["data"]["publications"][0]["kind_label"] == "决策公开"
    assert answers[-1][2].json["data"]["my_ratings"][0]["label"] == "基本满意"

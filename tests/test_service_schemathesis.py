"""Property-based run of the service API against its own OpenAPI document (Schemathesis).

Schemathesis reads ``/openapi.json`` from the app in-process (its ASGI loader: no socket, no
server) and generates requests from every operation's declared parameters and bodies
(Hypothesis, derandomised so a run is reproducible). Two properties, each over every
operation in the schema:

- with a valid admin token, no request, valid or not by the schema, makes the server fail
  (no 5xx), except the deliberate 501 of ``POST /archive-studies`` and
  ``GET /patients/{patient_id}/risk`` on a server with no archive and no risk model;
- without a valid token (none, a malformed one, or a real token id with a wrong secret) every
  operation answers 401, except the public ones: ``GET /health`` and ``POST /logout`` need no
  token, and ``POST /login`` is the place a token is given (it must never sign in without a
  valid one).

The budget is a few seconds: a handful of examples per operation (``MAX_EXAMPLES``).
"""

from __future__ import annotations

import pytest

pytest.importorskip("fastapi")
pytest.importorskip("sqlalchemy")
schemathesis = pytest.importorskip("schemathesis")

from hypothesis import HealthCheck, Phase, given, settings  # noqa: E402

from heartprint.service import Settings  # noqa: E402
from heartprint.service._auth import TokenStore, new_token  # noqa: E402

#: examples generated per operation and property (the schema has 13 operations)
MAX_EXAMPLES = 4
#: operations answered without a token: ``(method, path)`` as in the OpenAPI document
PUBLIC = {("GET", "/health"), ("POST", "/logout")}
#: the deliberate 501 Not Implemented answers of a server configured, as here, with neither an
#: archive (Orthanc) nor a risk model; any other 5xx fails the test
EXPECTED_5XX = {("POST", "/archive-studies"): (501, "no_archive"),
                ("GET", "/patients/{patient_id}/risk"): (501, "no_risk_model")}

# a zip upload is a binary body: sent as is, like Schemathesis's application/octet-stream
schemathesis.serializer.alias("application/zip", "application/octet-stream")

HYPOTHESIS = settings(max_examples=MAX_EXAMPLES, deadline=None, database=None, derandomize=True,
                      phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))


@pytest.fixture(scope="module")
def admin():
    token, record = new_token("schemathesis admin", "admin")
    return token, TokenStore([record])


@pytest.fixture(scope="module")
def api_schema(tmp_path_factory, admin):
    from heartprint.service.app import create_app

    root = tmp_path_factory.mktemp("service_schemathesis")
    cfg = Settings(registry=str(root / "registry.db"), data_dir=root / "data", max_upload_bytes=1 << 20,
                   report=False, tta=False, rate_limit=100_000)
    api = schemathesis.openapi.from_asgi("/openapi.json", create_app(cfg, tokens=admin[1]))
    # the tests send the token themselves; Schemathesis neither invents one nor drops the one sent
    api.config.generation.update(with_security_parameters=False)
    return api


def _key(case) -> tuple[str, str]:  # noqa: ANN001
    return case.operation.method.upper(), case.operation.path


def _without_auth(case) -> None:  # noqa: ANN001
    """Drop any Authorization header or cookie Schemathesis generated from the security scheme."""
    case.headers = {k: v for k, v in (case.headers or {}).items() if k.lower() != "authorization"}
    case.cookies = {}


def test_schema_lists_the_service_operations(api_schema):
    ops = {(op.method.upper(), op.path) for op in (r.ok() for r in api_schema.get_all_operations())}
    assert {("GET", "/health"), ("POST", "/studies"), ("GET", "/jobs/{job_id}"), ("GET", "/jobs/{job_id}/results"),
            ("GET", "/patients/{patient_id}/phenotype"), ("GET", "/audit"), ("POST", "/login")} <= ops
    assert PUBLIC <= ops and set(EXPECTED_5XX) <= ops


def _operations(api_schema):  # noqa: ANN001, ANN202
    return [r.ok() for r in api_schema.get_all_operations()]


def _cases(operation):  # noqa: ANN001, ANN202
    """Valid requests and, where the schema allows one, invalid ones (wrong types, missing fields)."""
    from hypothesis import strategies as st
    from schemathesis import GenerationMode

    return st.one_of(operation.as_strategy(GenerationMode.POSITIVE), operation.as_strategy(GenerationMode.NEGATIVE))


def test_no_server_error_with_a_valid_token(api_schema, admin):  # noqa: ANN001
    for operation in _operations(api_schema):

        @HYPOTHESIS
        @given(case=_cases(operation))
        def run(case) -> None:  # noqa: ANN001
            _without_auth(case)
            response = case.call(headers={"Authorization": f"Bearer {admin[0]}"})
            if response.status_code >= 500:
                body = response.json()
                assert EXPECTED_5XX.get(_key(case)) == (response.status_code, body.get("error")), (
                    f"{_key(case)} answered {response.status_code}: {body}")

        run()


def test_requests_without_a_valid_token_are_refused(api_schema, admin):  # noqa: ANN001
    token_id = admin[0].split("_", 2)[1]
    for operation in _operations(api_schema):
        # a real token id with a wrong secret costs one scrypt check (~50 ms): once per operation
        wrong_secret = [f"Bearer hp_{token_id}_wrongsecret"]

        @HYPOTHESIS
        @given(case=operation.as_strategy())
        def run(case) -> None:  # noqa: ANN001
            key = _key(case)
            _without_auth(case)
            for header in (None, "Bearer not-a-heartprint-token", *wrong_secret):
                response = case.call(headers={"Authorization": header} if header else None)
                if key in PUBLIC:
                    assert response.status_code < 500, (key, response.status_code)
                elif key == ("POST", "/login"):
                    # refused (401; 413 for an oversized form), never the 303 sign-in redirect with its cookie
                    assert response.status_code in (401, 413), (key, response.status_code, response.text[:200])
                    assert "set-cookie" not in {k.lower() for k in response.headers}
                else:
                    assert response.status_code == 401, (key, header, response.status_code, response.text[:200])
                    assert response.json()["error"] == "unauthorized"
                    assert response.headers.get("www-authenticate") == ["Bearer"]
            wrong_secret.clear()

        run()

"""Authentication and the error envelope, common to every API route."""


def test_missing_token_is_401_json(client):
    response = client.get("/api/v1/me")
    assert response.status_code == 401
    assert response.json["error"]["code"] == "unauthorized"
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_bad_token_is_401(client, tokens):
    response = client.get("/api/v1/me", headers={"Authorization": "Bearer plt_not-a-real-token"})
    assert response.status_code == 401
    assert "unknown" in response.json["error"]["message"]


def test_token_identifies_user(api):
    response = api.as_("analyst").get("/api/v1/me")
    assert response.status_code == 200
    assert response.json == {"name": "analyst-user", "role": "analyst"}


def test_unknown_api_route_is_json_404(api):
    response = api.get("/api/v1/no-such-thing")
    assert response.status_code == 404
    assert set(response.json["error"]) == {"code", "message", "details"}

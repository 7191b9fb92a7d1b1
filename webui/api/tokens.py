"""API tokens: issue one for yourself (shown once), list yours (an admin sees everyone's), revoke one."""

from __future__ import annotations

from flask import Response, g, jsonify, url_for

from pilots.accounts import tokens as api_tokens
from pilots.db import write_transaction
from pilots.models import ApiToken
from pilots.schemas.tokens import TokenCreate, TokenIssued, TokenList, TokenPublic
from webui.api import bp
from webui.api.auth import actor
from webui.api.inputs import json_body
from webui.api.openapi import responses, spec
from webui.database import get_session
from webui.security import token_default_days

TAGS = ["tokens"]


def token_public(token: ApiToken, owner: str) -> TokenPublic:
    return TokenPublic(
        id=token.id,
        name=token.name,
        user=owner,
        state=api_tokens.token_state(token),
        pilot_id=token.pilot_id,
        created_at=token.created_at,
        expires_at=token.expires_at,
        last_used_at=token.last_used_at,
        revoked_at=token.revoked_at,
    )


@bp.post("/tokens")
@spec.validate(
    json=TokenCreate,
    resp=responses(201, TokenIssued, 415, 422),
    tags=TAGS,
    skip_validation=True,
    operation_id="createToken",
)
def create_token():
    """Issue a token for the caller. The secret is in this answer only; it is stored hashed and never shown again."""
    body = json_body(TokenCreate)
    with write_transaction(get_session()) as session:
        issued = api_tokens.issue(
            session,
            g.user,
            body.name,
            expires_in_days=body.expires_in_days,
            default_days=token_default_days(),
            pilot_id=body.pilot_id,
            actor=actor(),
        )
    public = token_public(issued.token, g.user.name)
    response = jsonify(TokenIssued(**public.model_dump(), token=issued.secret).model_dump(mode="json"))
    response.status_code = 201
    response.headers["Location"] = url_for("api.list_tokens")
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/tokens")
@spec.validate(resp=responses(200, TokenList), tags=TAGS, operation_id="listTokens")
def list_tokens():
    """Your tokens, newest first (an admin sees every user's), never their secrets."""
    owner = None if g.user.role == "admin" else g.user
    rows = api_tokens.list_tokens(get_session(), owner)
    return jsonify(TokenList(tokens=[token_public(token, name) for token, name in rows]).model_dump(mode="json"))


@bp.delete("/tokens/<int:token_id>")
@spec.validate(
    resp=responses(204, None, 404),
    tags=TAGS,
    path_parameter_descriptions={"token_id": "The token's id (from the list)."},
    operation_id="revokeToken",
)
def revoke_token(token_id: int):
    """Revoke a token (yours, or anyone's for an admin); it is refused with 401 from then on. Idempotent."""
    owner_id = None if g.user.role == "admin" else g.user.id
    with write_transaction(get_session()) as session:
        api_tokens.revoke_token(session, token_id, actor(), owner_id)
    return Response(status=204)

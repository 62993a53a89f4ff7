"""Gateway endpoints served by the accounts service: sign-in (password, phone code), refresh and sign-out,
the caller's own account, and staff accounts (docs/accounts.md)."""

from __future__ import annotations

from werkzeug.wrappers import Response

from gateway.api import Route, endpoint
from gateway.web import http
from minqing.vocabulary import ROLES
from services.accounts import schemas as acs

AUTH, ACCOUNTS = ("auth",), ("accounts",)
ADMINS = ("community_admin", "district_admin")
# a refused sign-in is 401 (403 for a disabled account, once the credentials were right), 429 when throttled
SIGN_IN_PROBLEMS = (401, 403, 429)


def _sign_in(path, summary, body, response=acs.SessionOut, status=200, problems=SIGN_IN_PROBLEMS):
    return endpoint(
        Route("POST", path, summary, None, body=body, response=response, status=status, tags=AUTH, problems=problems)
    )


class AccountsEndpoints:
    """Mixed into GatewayService; needs `self.accounts` (an RpcProxy)."""

    # --- sign-in (no token) --------------------------------------------------------------------------
    @http("POST", "/api/v1/auth/login")
    @_sign_in("/api/v1/auth/login", "Sign in with a username and password", acs.LoginIn)
    def login(self, call):
        return self.accounts.login(call.body)

    @http("POST", "/api/v1/auth/code")
    @_sign_in(
        "/api/v1/auth/code",
        "Send a six-digit sign-in code to a phone (the same answer whether or not it has an account)",
        acs.CodeIn,
        acs.CodeOut,
        202,
        (429,),
    )
    def request_code(self, call):
        return self.accounts.request_code(call.body, call.client)

    @http("POST", "/api/v1/auth/verify")
    @_sign_in(
        "/api/v1/auth/verify",
        "Sign in with the code sent to a phone (a resident's first makes their account)",
        acs.VerifyIn,
    )
    def verify_code(self, call):
        return self.accounts.verify_code(call.body)

    @http("POST", "/api/v1/auth/refresh")
    @_sign_in(
        "/api/v1/auth/refresh", "Exchange a refresh token for new tokens (the old one stops working)", acs.RefreshIn
    )
    def refresh(self, call):
        return self.accounts.refresh(call.body)

    @http("POST", "/api/v1/auth/logout")
    @_sign_in(
        "/api/v1/auth/logout", "Sign out: the refresh token and its family stop working", acs.RefreshIn, None, 204, ()
    )
    def logout(self, call):
        self.accounts.logout(call.body)
        return Response(status=204)

    # --- the caller's own account ------------------------------------------------------------------------
    @http("GET", "/api/v1/me")
    @endpoint(
        Route(
            "GET",
            "/api/v1/me",
            "The caller's own account (404 for a token no account issued, e.g. from `minqing token`)",
            ROLES,
            response=acs.AccountOut,
            tags=AUTH,
            problems=(404,),
        )
    )
    def me(self, call):
        return self.accounts.me(call.scope)

    @http("PATCH", "/api/v1/me")
    @endpoint(
        Route(
            "PATCH",
            "/api/v1/me",
            "Opt out of (or back into) SMS about one's cases",
            ROLES,
            body=acs.MeChange,
            response=acs.AccountOut,
            tags=AUTH,
        )
    )
    def update_me(self, call):
        return self.accounts.update_me(call.body, call.scope)

    @http("POST", "/api/v1/me/household")
    @endpoint(
        Route(
            "POST",
            "/api/v1/me/household",
            "A resident links their login to the household listing their phone (staff confirm if several do)",
            ("resident",),
            body=acs.HouseholdRequest,
            response=acs.AccountOut,
            tags=AUTH,
        )
    )
    def link_household(self, call):
        return self.accounts.link_household(call.body, call.scope)

    @http("POST", "/api/v1/accounts/<account_id>/household")
    @endpoint(
        Route(
            "POST",
            "/api/v1/accounts/<account_id>/household",
            "Confirm which of the households listing a resident's phone is theirs",
            ADMINS,
            body=acs.HouseholdConfirm,
            response=acs.AccountOut,
            tags=ACCOUNTS,
            idempotent=True,
        )
    )
    def confirm_household(self, call, account_id):
        return self.accounts.confirm_household(account_id, call.body, call.scope, call.idem)

    @http("POST", "/api/v1/me/password")
    @endpoint(
        Route(
            "POST",
            "/api/v1/me/password",
            "Change one's own password (other sign-ins end)",
            ROLES,
            body=acs.PasswordChangeIn,
            status=204,
            tags=AUTH,
        )
    )
    def change_password(self, call):
        self.accounts.change_password(call.body, call.scope)
        return Response(status=204)

    # --- staff accounts ------------------------------------------------------------------------------
    @http("POST", "/api/v1/accounts")
    @endpoint(
        Route(
            "POST",
            "/api/v1/accounts",
            "Create a staff account (a generated password is shown once)",
            ADMINS,
            body=acs.AccountIn,
            response=acs.CreatedAccountOut,
            status=201,
            tags=ACCOUNTS,
            idempotent=True,
        )
    )
    def create_account(self, call):
        return self.accounts.create_account(call.body, call.scope, call.idem)

    @http("GET", "/api/v1/accounts")
    @endpoint(
        Route(
            "GET",
            "/api/v1/accounts",
            "The accounts the caller manages",
            ADMINS,
            query=acs.AccountQuery,
            response=acs.AccountPage,
            tags=ACCOUNTS,
        )
    )
    def list_accounts(self, call):
        return self.accounts.list_accounts(call.query, call.scope)

    @http("GET", "/api/v1/accounts/<account_id>")
    @endpoint(
        Route("GET", "/api/v1/accounts/<account_id>", "One account", ADMINS, response=acs.AccountOut, tags=ACCOUNTS)
    )
    def get_account(self, call, account_id):
        return self.accounts.get_account(account_id, call.scope)

    @http("PATCH", "/api/v1/accounts/<account_id>")
    @endpoint(
        Route(
            "PATCH",
            "/api/v1/accounts/<account_id>",
            "Change an account (its sign-ins end when its claims change)",
            ADMINS,
            body=acs.AccountChange,
            response=acs.AccountOut,
            tags=ACCOUNTS,
            idempotent=True,
        )
    )
    def update_account(self, call, account_id):
        return self.accounts.update_account(account_id, call.body, call.scope, call.idem)

    @http("POST", "/api/v1/accounts/<account_id>/reset-password")
    @endpoint(
        Route(
            "POST",
            "/api/v1/accounts/<account_id>/reset-password",
            "Set a new password (generated and shown once if none is given); it must be changed at sign-in",
            ADMINS,
            body=acs.PasswordResetIn,
            response=acs.CreatedAccountOut,
            tags=ACCOUNTS,
            idempotent=True,
        )
    )
    def reset_password(self, call, account_id):
        return self.accounts.reset_password(account_id, call.body, call.scope, call.idem)

    @http("POST", "/api/v1/accounts/<account_id>/disable")
    @endpoint(
        Route(
            "POST",
            "/api/v1/accounts/<account_id>/disable",
            "Disable an account (never deleted); its sign-ins end",
            ADMINS,
            body=acs.DisableIn,
            response=acs.AccountOut,
            tags=ACCOUNTS,
            idempotent=True,
        )
    )
    def disable_account(self, call, account_id):
        return self.accounts.disable_account(account_id, call.scope, call.idem)

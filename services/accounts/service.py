"""Accounts: staff accounts, sign-in (password, phone code), tokens, and the SMS residents receive about their
cases. Entrypoints only; the rules live in accounts.py, signin.py and messages.py."""

from __future__ import annotations

import logging
import uuid
from datetime import UTC, datetime

from nameko.extensions import DependencyProvider
from nameko.rpc import RpcProxy, rpc
from nameko.timer import timer
from sqlalchemy.exc import IntegrityError

from minqing import metrics
from minqing.errors import Refused, Unavailable
from minqing.events import load_envelope
from minqing.handlers import event_handler
from minqing.outbox import claim_inbox
from minqing.rpc import boundary, load
from minqing.service import ServiceBase
from services.accounts import accounts, households, messages, notifier, signin, templates, tokens
from services.accounts import schemas as s
from services.accounts.models import SignInCode

NAME = "accounts"
log = logging.getLogger(__name__)


def now() -> datetime:
    return datetime.now(UTC)


class AccountsSettings(DependencyProvider):
    """The signing policy and the SMS provider, built once per container from its config."""

    def setup(self):
        config = self.container.config
        signer = tokens.Signer(
            str(config["JWT_SECRET"]), config.get("JWT_PRIVATE_KEY"), int(config.get("ACCESS_TOKEN_SECONDS", 900))
        )
        self.policy = signin.Policy(
            signer,
            float(config.get("REFRESH_TOKEN_DAYS", 30)),
            code_key=str(config["JWT_SECRET"]),
            resident_communities=tuple(config.get("RESIDENT_COMMUNITIES") or ()),
        )
        self.notifier = notifier.build(
            config.get("SMS_PROVIDER", "log"), config.get("SMS_LOG", "var/sms.log"), config.get("SMS_SETTINGS") or {}
        )
        self.public_url = str(config.get("PUBLIC_URL", "")).rstrip("/")
        self.case_sms = bool(config.get("CASE_SMS", True))

    def get_dependency(self, worker_ctx):
        return self


class AccountsService(ServiceBase):
    name = NAME
    settings = AccountsSettings()
    intake = RpcProxy("intake")

    def _refusable(self, produce, method: str | None = None):
        """Run `produce(session)` in a transaction that commits even when it returns a refusal (the failure
        counts must stick), then raise the refusal. Two first attempts at once (a new login name's throttle
        row, a new resident's account) collide on a unique key: the loser runs again and finds the winner's."""
        try:
            with self.db.transaction() as session:
                outcome = produce(session)
        except IntegrityError:
            with self.db.transaction() as session:
                outcome = produce(session)
        if method:
            kind = outcome.problem_type.rsplit(":", 1)[-1] if isinstance(outcome, Refused) else "ok"
            metrics.SIGN_INS.labels(method, kind).inc()
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    # --- sign-in ------------------------------------------------------------------------------------
    @rpc
    @boundary(NAME)
    def login(self, payload):
        data = load(s.LoginIn, payload)
        return self._refusable(
            lambda session: signin.login(session, data["username"], data["password"], self.settings.policy, now()),
            "password",
        )

    @rpc
    @boundary(NAME)
    def request_code(self, payload, client):
        data = load(s.CodeIn, payload)
        phone, code = self._refusable(
            lambda session: signin.request_code(session, data["phone"], str(client), self.settings.policy, now())
        )
        params = {"code": code}
        sms = notifier.Sms(uuid.uuid4().hex, phone, "sign_in_code", params, templates.render("sign_in_code", params))
        try:
            self.settings.notifier.send(sms, now())  # after the commit: no network call inside a transaction
        except notifier.SendFailed as exc:
            metrics.SMS_SENT.labels("sign_in_code", "failed").inc()
            with self.db.transaction() as session:  # unsent, so it must not count against the limits
                session.query(SignInCode).filter(SignInCode.phone == phone, SignInCode.used_at.is_(None)).delete()
            raise Unavailable(f"the SMS could not be sent ({exc}); try again") from None
        metrics.SMS_SENT.labels("sign_in_code", "sent").inc()
        return {"expires_in": int(signin.CODE_TTL.total_seconds()), "resend_after": signin.RESEND_AFTER.seconds}

    @rpc
    @boundary(NAME)
    def verify_code(self, payload):
        data = load(s.VerifyIn, payload)
        return self._refusable(
            lambda session: signin.verify_code(
                session, data["phone"], data["code"], data["community"], self.settings.policy, now()
            ),
            "code",
        )

    @rpc
    @boundary(NAME)
    def refresh(self, payload):
        data = load(s.RefreshIn, payload)
        return self._refusable(
            lambda session: signin.refresh(session, data["refresh_token"], self.settings.policy, now()), "refresh"
        )

    @rpc
    @boundary(NAME)
    def logout(self, payload):
        data = load(s.RefreshIn, payload)
        with self.db.transaction() as session:
            signin.logout(session, data["refresh_token"], now())

    @rpc
    @boundary(NAME)
    def me(self, scope):
        scope = load(s.Scope, scope)
        with self.db.transaction() as session:
            return signin.me(session, scope["sub"])

    @rpc
    @boundary(NAME)
    def update_me(self, payload, scope):
        data, scope = load(s.MeChange, payload), load(s.Scope, scope)
        with self.db.transaction() as session:
            return signin.set_opt_out(session, scope["sub"], data["sms_opt_out"], now())

    @rpc
    @boundary(NAME)
    def link_household(self, payload, scope):
        """A resident asks to be linked to their household: the directory is asked between two transactions,
        never inside one."""
        data, scope = load(s.HouseholdRequest, payload), load(s.Scope, scope)
        with self.db.transaction() as session:
            phone = households.resident(session, scope["sub"]).phone
        service_scope = {"sub": "accounts", "role": "district_admin", "communities": ["*"]}
        candidates = self.intake.households_by_phone(data["community"], households.phone_forms(phone), service_scope)
        with self.db.transaction() as session:
            account = households.resident(session, scope["sub"], lock=True)
            return households.found(session, account, data["community"], candidates, now())

    @rpc
    @boundary(NAME)
    def confirm_household(self, account_id, payload, scope, idem=None):
        def produce(session, data, scope):
            confirmed = households.confirm(session, account_id, data["household"], scope, now())
            self._audit(session, scope, "account.household_confirmed", f"accounts/{account_id}", None, data)
            return confirmed

        return self._write(s.HouseholdConfirm, payload, scope, idem, produce)

    @rpc
    @boundary(NAME)
    def change_password(self, payload, scope):
        data, scope = load(s.PasswordChangeIn, payload), load(s.Scope, scope)
        self._refusable(
            lambda session: signin.change_password(
                session, scope["sub"], data["current_password"], data["new_password"], now()
            )
        )

    @staticmethod
    def _with_password(response: dict, shown: dict) -> dict:
        """A generated password is shown once: it is never part of the response stored for an Idempotency-Key,
        so a replay answers without it."""
        return response | shown if shown.get("initial_password") else response

    # --- administration -------------------------------------------------------------------------------
    @rpc
    @boundary(NAME)
    def create_account(self, payload, scope, idem=None):
        shown = {}

        def produce(session, data, scope):
            account, shown["initial_password"] = accounts.create(session, data, scope, now())
            out = accounts.out(account)
            self._audit(session, scope, "account.created", f"accounts/{out['id']}", None, _no_secrets(data))
            return out

        return self._with_password(self._write(s.AccountIn, payload, scope, idem, produce), shown)

    @rpc
    @boundary(NAME)
    def list_accounts(self, query, scope):
        query, scope = load(s.AccountQuery, query), load(s.Scope, scope)
        with self.db.transaction() as session:
            return accounts.listing(session, query, scope)

    @rpc
    @boundary(NAME)
    def get_account(self, account_id, scope):
        scope = load(s.Scope, scope)
        with self.db.transaction() as session:
            return accounts.out(accounts.get(session, account_id, scope))

    @rpc
    @boundary(NAME)
    def update_account(self, account_id, payload, scope, idem=None):
        def produce(session, data, scope):
            account = accounts.get(session, account_id, scope, lock=True)
            out = accounts.out(accounts.change(session, account, data, scope, now()))
            self._audit(session, scope, "account.changed", f"accounts/{account_id}", None, _no_secrets(data))
            return out

        return self._write(s.AccountChange, payload, scope, idem, produce)

    @rpc
    @boundary(NAME)
    def reset_password(self, account_id, payload, scope, idem=None):
        shown = {}

        def produce(session, data, scope):
            account = accounts.get(session, account_id, scope, lock=True)
            shown["initial_password"] = accounts.reset_password(session, account, data["password"], now())
            self._audit(session, scope, "account.password_reset", f"accounts/{account_id}")
            return accounts.out(account)

        return self._with_password(self._write(s.PasswordResetIn, payload, scope, idem, produce), shown)

    @rpc
    @boundary(NAME)
    def disable_account(self, account_id, scope, idem=None):
        def produce(session, data, scope):
            out = accounts.out(accounts.disable(session, accounts.get(session, account_id, scope, lock=True), now()))
            self._audit(session, scope, "account.disabled", f"accounts/{account_id}")
            return out

        return self._write(s.DisableIn, {}, scope, idem, produce)

    @rpc
    @boundary(NAME)
    def import_accounts(self, payload, scope):
        """`minqing accounts import`: one batch of sheet rows in one transaction (all or none)."""
        data, scope = load(s.ImportIn, payload), load(s.Scope, scope)
        with self.db.transaction() as session:
            imported = accounts.import_rows(session, data["items"], scope, now())
            rows = [_no_secrets(row) for row in data["items"]]
            self._audit(session, scope, "accounts.imported", "accounts", None, {"rows": rows})
            return imported

    # --- telling residents about their cases ---------------------------------------------------------
    def _message_for(self, consumer: str, body: dict) -> None:
        if not self.settings.case_sms:
            return
        envelope = load_envelope(body)
        with self.db.transaction() as session:
            if not claim_inbox(session, consumer, envelope["id"]):
                metrics.EVENTS_IN.labels(NAME, envelope["type"], "duplicate").inc()
                return
            messages.on_event(session, envelope, self.settings.public_url, now())
        metrics.EVENTS_IN.labels(NAME, envelope["type"], "applied").inc()
        try:
            self.send_messages()  # at once rather than at the next tick
        except Exception:  # the event is applied; the timer sends what this could not
            log.exception("sending messages after %s failed", envelope["type"])

    @event_handler("intake", "case.registered")
    def on_case_registered(self, body):
        self._message_for("accounts.intake", body)

    @event_handler("routing", "case.assigned")
    def on_case_assigned(self, body):
        self._message_for("accounts.routing", body)

    @event_handler("routing", "case.resolved")
    def on_case_resolved(self, body):
        self._message_for("accounts.routing", body)

    @event_handler("feedback", "reply.sent")
    def on_reply_sent(self, body):
        self._message_for("accounts.feedback", body)

    @event_handler("feedback", "case.reopened")
    def on_case_reopened(self, body):
        self._message_for("accounts.feedback", body)

    @event_handler("feedback", "case.closed")
    def on_case_closed(self, body):
        self._message_for("accounts.feedback", body)

    @timer(interval=2)
    def send_messages(self):
        """Send what is due: claimed and committed first, each sent outside any transaction, then marked."""
        with self.db.transaction() as session:
            due = messages.claim_due(session, now())
        for item in due:
            sms = notifier.Sms(
                item["id"],
                item["to"],
                item["template"],
                item["params"],
                item["text"],
                item["case_id"],
                item["event_id"],
            )
            try:
                self.settings.notifier.send(sms, now())
            except Exception as exc:  # whatever the provider's SDK raises: retried later, never lost
                metrics.SMS_SENT.labels(item["template"], "failed").inc()
                with self.db.transaction() as session:
                    messages.mark_failed(session, item["id"], f"{exc.__class__.__name__}: {exc}", now())
                continue
            metrics.SMS_SENT.labels(item["template"], "sent").inc()
            with self.db.transaction() as session:
                messages.mark_sent(session, item["id"], messages.ABOUT.get(item["template"]), now())


def _no_secrets(data: dict) -> dict:
    """What the audit trail keeps of an account change: never a password."""
    return {k: v for k, v in data.items() if "password" not in k}

"""Signing in: the password with per-account lockout, the TOTP second factor, recovery
codes, and changing one's password.

Failures are counted per account (password and second factor alike): after LOCK_AFTER in
a row the account is locked for FIRST_LOCK, doubling with each further failure up to
LONGEST_LOCK; a success resets the count. A locked account is told until when, and its
password is still hashed but the result is neither used nor shown, so a lock reveals
nothing about the password. Every attempt is audited. Attempts return an `Attempt`
rather than raise, because a failure must be committed (its count and its audit row).
"""

from __future__ import annotations

import datetime as dt
import enum
import hmac
import re
from dataclasses import dataclass

import pyotp
from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.orm import Session

from server.domain import audit, sessions, users
from server.domain.errors import Conflict, ValidationFailed
from server.domain.secrets import digest, readable_code
from server.models import RecoveryCode, Role, User, UserSession

LOCK_AFTER = 5
FIRST_LOCK = dt.timedelta(minutes=1)
LONGEST_LOCK = dt.timedelta(minutes=30)
TOTP_WINDOW = 1  # steps either side of now that are accepted, for phones whose clock drifts
RECOVERY_CODES = 10
RECOVERY_CODE_LENGTH = 16  # from a 31-letter alphabet: about 79 bits
ISSUER = "阳光公开屏"


class Pending(enum.Enum):
    """What a signed-in session must still do before it may do anything else."""

    second_factor = "second_factor"
    password = "password"
    enrol_totp = "enrol_totp"


@dataclass(frozen=True)
class Attempt:
    """The outcome of one sign-in step: `user` when it passed, `locked_until` when locked."""

    user: User | None = None
    locked_until: dt.datetime | None = None


def lock_for(failures: int) -> dt.timedelta | None:
    """How long an account is locked after `failures` consecutive failures."""
    if failures < LOCK_AFTER:
        return None
    return min(FIRST_LOCK * 2 ** min(failures - LOCK_AFTER, 10), LONGEST_LOCK)


def sign_in(session: Session, username: str, password: str, now: dt.datetime) -> Attempt:
    """Check a username and password. A user with a second factor gets `Attempt(user)` but
    is not signed in (nor is the failure count reset) until `second_factor` passes."""
    user = session.scalar(select(User).where(User.username == username))
    # Always hash once, whatever follows, so that timing tells nothing (users.authenticate).
    checked = users.authenticate(session, username, password)
    if user is None:
        audit.record(
            session, None, "login.failure", now, username=username, detail={"reason": "unknown_user"}
        )
        return Attempt()
    if _locked(session, user, now):
        return Attempt(locked_until=user.locked_until)
    if checked is None:
        return _failed(session, user, now, "password" if user.active else "disabled")
    if not user.totp_enabled:
        _succeeded(session, user, now, {})
    return Attempt(user=user)


def second_factor(session: Session, row: UserSession, code: str, now: dt.datetime) -> Attempt:
    """Pass the second factor of a session with a current TOTP code or a recovery code."""
    user = row.user
    if _locked(session, user, now):
        return Attempt(locked_until=user.locked_until)
    if _totp_ok(session, user, user.totp_secret, code, now):
        factor = "totp"
    elif _use_recovery_code(session, user, code, now):
        factor = "recovery_code"
    else:
        return _failed(session, user, now, "second_factor")
    row.second_factor_at = now
    _succeeded(session, user, now, {"second_factor": factor})
    return Attempt(user=user)


def sign_out(session: Session, row: UserSession, now: dt.datetime) -> None:
    sessions.end(session, row, now)
    audit.record(session, row.user, "logout", now, target=("user", row.user_id))


def end_other_sessions(
    session: Session, actor: User, current: UserSession, password: str, now: dt.datetime
) -> int:
    """Sign the actor out everywhere but here; asks for the password again, as a thief
    holding only a cookie must not be able to throw the owner out."""
    if users.authenticate(session, actor.username, password) is None:
        raise ValidationFailed("密码不正确。", field="password")
    ended = sessions.end_all(session, actor, now, keep=current)
    audit.record(
        session, actor, "logout", now, target=("user", actor.id), detail={"other_sessions": ended}
    )
    return ended


def pending(user: User, row: UserSession, require_2fa: str) -> Pending | None:
    """The step a session still owes, in order: second factor, new password, enrolment.
    `require_2fa` is the SUNWALL_REQUIRE_2FA policy: "", "admin" or "all"."""
    if user.totp_enabled and row.second_factor_at is None:
        return Pending.second_factor
    if user.must_change_password:
        return Pending.password
    if not user.totp_enabled and _must_enrol(user, require_2fa):
        return Pending.enrol_totp
    return None


def _must_enrol(user: User, require_2fa: str) -> bool:
    if require_2fa == "all":
        return True
    return require_2fa == "admin" and any(g.role is Role.admin for g in user.grants)


def _locked(session: Session, user: User, now: dt.datetime) -> bool:
    if user.locked_until is None or user.locked_until <= now:
        return False
    audit.record(
        session, user, "login.locked", now, target=("user", user.id),
        detail={"until": user.locked_until.isoformat(), "failures": user.failed_logins},
    )
    return True


def _failed(session: Session, user: User, now: dt.datetime, reason: str) -> Attempt:
    # Counted in SQL, so that simultaneous attempts cannot lose a failure between them.
    session.execute(
        update(User)
        .where(User.id == user.id)
        .values(failed_logins=User.failed_logins + 1)
        .execution_options(synchronize_session=False)
    )
    session.refresh(user, ["failed_logins"])
    detail = {"reason": reason, "failures": user.failed_logins}
    audit.record(session, user, "login.failure", now, target=("user", user.id), detail=detail)
    pause = lock_for(user.failed_logins)
    if pause is None:
        return Attempt()
    user.locked_until = now + pause
    audit.record(
        session, user, "login.locked", now, target=("user", user.id),
        detail={"until": user.locked_until.isoformat(), "failures": user.failed_logins},
    )
    session.flush()
    return Attempt(locked_until=user.locked_until)


def _succeeded(session: Session, user: User, now: dt.datetime, detail: dict[str, str]) -> None:
    user.failed_logins = 0
    user.locked_until = None
    audit.record(session, user, "login.success", now, target=("user", user.id), detail=detail)
    session.flush()


def _totp_ok(session: Session, user: User, secret: str | None, code: str, now: dt.datetime) -> bool:
    """A current code (±TOTP_WINDOW steps) of `secret`, never one of an already used step."""
    code = re.sub(r"\s", "", code or "")
    if not secret or not re.fullmatch(r"\d{6}", code):
        return False
    totp = pyotp.TOTP(secret)
    current = int(now.timestamp()) // totp.interval
    for step in range(current - TOTP_WINDOW, current + TOTP_WINDOW + 1):
        if hmac.compare_digest(totp.at(step * totp.interval), code):
            return _consume_step(session, user, step)
    return False


def _consume_step(session: Session, user: User, step: int) -> bool:
    # One conditional UPDATE: of two requests racing with the same code, one wins.
    done = session.execute(
        update(User)
        .where(User.id == user.id, or_(User.totp_last_step.is_(None), User.totp_last_step < step))
        .values(totp_last_step=step)
        .execution_options(synchronize_session=False)
    )
    session.refresh(user, ["totp_last_step"])
    return bool(done.rowcount)  # type: ignore[attr-defined]


def _normal_recovery_code(code: str) -> str:
    return re.sub(r"[\s-]", "", code or "").upper()


def _use_recovery_code(session: Session, user: User, code: str, now: dt.datetime) -> bool:
    plain = _normal_recovery_code(code)
    if len(plain) != RECOVERY_CODE_LENGTH:
        return False
    done = session.execute(
        update(RecoveryCode)
        .where(
            RecoveryCode.user_id == user.id,
            RecoveryCode.code_hash == digest(plain),
            RecoveryCode.used_at.is_(None),
        )
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
    if not done.rowcount:  # type: ignore[attr-defined]
        return False
    audit.record(
        session, user, "recovery_code.use", now, target=("user", user.id),
        detail={"left": recovery_codes_left(session, user)},
    )
    return True


def recovery_codes_left(session: Session, user: User) -> int:
    query = select(func.count(RecoveryCode.id)).where(
        RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None)
    )
    return session.scalar(query) or 0


def _new_recovery_codes(session: Session, user: User, now: dt.datetime) -> list[str]:
    session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    codes = [readable_code(RECOVERY_CODE_LENGTH) for _ in range(RECOVERY_CODES)]
    session.add_all(
        RecoveryCode(user_id=user.id, code_hash=digest(c), created_at=now) for c in codes
    )
    session.flush()
    return ["-".join(c[i : i + 4] for i in range(0, len(c), 4)) for c in codes]


def begin_totp(session: Session, actor: User, now: dt.datetime) -> str:
    """A new secret for the actor's authenticator app; not in force until `enable_totp`."""
    if actor.totp_enabled:
        raise Conflict("两步验证已经启用；如需更换手机，请先停用再重新启用。")
    actor.totp_secret = pyotp.random_base32()
    actor.totp_last_step = None
    session.flush()
    return actor.totp_secret


def totp_uri(user: User) -> str:
    """The otpauth:// address an authenticator app reads from the QR code."""
    return pyotp.TOTP(user.totp_secret or "").provisioning_uri(name=user.username, issuer_name=ISSUER)


def enable_totp(
    session: Session, actor: User, current: UserSession | None, code: str, now: dt.datetime
) -> list[str]:
    """Turn the second factor on once the actor proves the app works; returns the recovery
    codes, in plain text this once. The current session counts as having passed it."""
    if actor.totp_enabled:
        raise Conflict("两步验证已经启用。")
    if not actor.totp_secret:
        raise Conflict("请先点“开始设置”，再输入验证码。")
    if not _totp_ok(session, actor, actor.totp_secret, code, now):
        raise ValidationFailed("验证码不正确或已过期：请输入手机上当前显示的 6 位数字。", field="code")
    actor.totp_enabled_at = now
    codes = _new_recovery_codes(session, actor, now)
    if current is not None:
        current.second_factor_at = now
    audit.record(
        session, actor, "totp.enable", now, target=("user", actor.id),
        before={"totp": False}, after={"totp": True}, detail={"recovery_codes": len(codes)},
    )
    session.flush()
    return codes


def disable_totp(session: Session, actor: User, code: str, now: dt.datetime) -> None:
    """Turn the second factor off; needs a current code or an unused recovery code."""
    if not actor.totp_enabled:
        raise Conflict("两步验证没有启用。")
    if not (
        _totp_ok(session, actor, actor.totp_secret, code, now)
        or _use_recovery_code(session, actor, code, now)
    ):
        raise ValidationFailed("验证码或恢复码不正确。", field="code")
    users.remove_second_factor(session, actor, actor, now)


def change_password(
    session: Session, actor: User, current: UserSession | None, old: str, new: str, now: dt.datetime
) -> int:
    """Set a new password after checking the old one; every other session of the actor
    ends (a thief's copy of a cookie with them). Returns how many sessions ended."""
    if users.authenticate(session, actor.username, old) is None:
        raise ValidationFailed("原密码不正确。", field="old_password")
    if new == old:
        raise ValidationFailed("新密码不能与原密码相同。", field="new_password")
    users.check_password(new, actor.username, field="new_password")
    actor.password_hash = users.hash_password(new)
    actor.must_change_password = False
    actor.password_changed_at = now
    ended = sessions.end_all(session, actor, now, keep=current)
    audit.record(
        session, actor, "password.change", now, target=("user", actor.id),
        detail={"sessions_ended": ended},
    )
    session.flush()
    return ended

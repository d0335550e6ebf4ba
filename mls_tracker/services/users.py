"""User accounts outside a partnership: the administrators made from the command line."""

from __future__ import annotations

import uuid

import sqlalchemy as sa
from flask_security import hash_password

from mls_tracker.extensions import db
from mls_tracker.models import User, normalise_email, utcnow


def make_administrator(email: str, display_name: str, password: str) -> User:
    """Create an active administrator, or make the existing user with that e-mail one (their
    password and name are left as they are)."""
    email = normalise_email(email)
    user = db.session.scalar(sa.select(User).where(User.email == email))
    if user is None:
        user = User(
            email=email,
            display_name=display_name,
            password=hash_password(password),
            fs_uniquifier=uuid.uuid4().hex,
            confirmed_at=utcnow(),
        )
        db.session.add(user)
    user.is_admin = True
    user.active = True
    db.session.commit()
    return user

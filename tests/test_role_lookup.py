"""access.role_in: a page about one partnership reads that one membership; a page that asks
about many reads all of the user's roles once; the answers are the same either way."""

from __future__ import annotations

import sqlalchemy as sa
from flask import g

from mls_tracker import access
from mls_tracker.extensions import db
from mls_tracker.models import Membership, Role
from tests.test_partnerships import count_queries


def _fresh_request(app):
    # The tests' requests share one app context, hence ``g``: start each with nothing known.
    g.pop("_membership_roles", None)
    return app.test_request_context("/")


def test_one_partnership_reads_one_row_and_many_read_all_once(app, world):
    outsider = world.outsider  # a lead of the second partnership only
    with _fresh_request(app), count_queries() as statements:
        assert access.role_in(outsider, world.other.id) == Role.LEAD
        assert access.role_in(outsider, world.other.id) == Role.LEAD  # cached
    assert len([s for s in statements if "memberships" in s]) == 1

    with _fresh_request(app), count_queries() as statements:
        answers = [access.role_in(outsider, pid) for pid in (world.other.id, world.partnership.id)]
        answers += [access.role_in(outsider, pid) for pid in (999_001, 999_002, world.other.id)]
    assert answers == [Role.LEAD, None, None, None, Role.LEAD]
    # Two looked up one by one, then every role at once; nothing after that.
    assert len([s for s in statements if "memberships" in s]) == 3


def test_the_answers_follow_the_memberships_in_every_request(app, world):
    members = db.session.scalars(sa.select(Membership).order_by(Membership.id)).all()
    for membership in members:
        with _fresh_request(app):
            user = membership.user
            assert access.role_in(user, membership.partnership_id) == membership.role
            # Ask about more partnerships than are read one by one: the full read agrees.
            for other in members:
                if other.user_id == user.id:
                    assert access.role_in(user, other.partnership_id) == other.role
            assert access.role_in(user, 999_003) is None
            assert g._membership_roles[user.id].complete or len(g._membership_roles[user.id]) <= 2


def test_a_list_of_partnerships_reads_every_role_at_once(app, world):
    outsider = world.outsider
    with _fresh_request(app), count_queries() as statements:
        roles = access.roles_in(outsider, [world.partnership.id, world.other.id, 999_004])
    assert roles == {world.partnership.id: None, world.other.id: Role.LEAD, 999_004: None}
    assert len([s for s in statements if "memberships" in s]) == 1

"""Share links (issue 11, item 3): a frozen, read-only view of the shown branch; owners list
and revoke them; logged-in users (or anyone, with CHAT_PUBLIC_SHARES) open them and can
continue in their own chats; revoked and unknown links are a plain 404."""
import pytest
from django.test import Client

from chat.models import Conversation, Message
from chat.tests.test_api import make_conversation
from sharing.models import Share

from chat.tests.test_api import alice, bob  # noqa: F401 (fixtures: logged-in test clients)

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def branched(user):
    """q1 -> a1 -> q2 -> a2, and an edit of q2 (q2b -> a2b) that is the shown branch."""
    conversation = make_conversation(user, "Trip <b>plans</b>", [
        ("user", "q1"), ("assistant", "a1 with <script>alert(1)</script>", {"model": "m1"}),
        ("user", "q2"), ("assistant", "a2"),
    ])
    a1 = Message.objects.get(conversation=conversation, content__startswith="a1")
    q2b = Message.objects.create(conversation=conversation, role="user", content="q2b", parent=a1)
    a2b = Message.objects.create(conversation=conversation, role="assistant", content="a2b", parent=q2b)
    Conversation.objects.filter(id=conversation.id).update(active_leaf=a2b)
    return conversation


def share(client, conversation) -> dict:
    response = client.post(f"/api/conversations/{conversation.id}/shares/")
    assert response.status_code == 201, response.content
    return response.json()


def test_a_link_shows_the_shown_branch_as_it_was_and_nothing_of_the_owner(alice, bob, user, branched):
    user.first_name, user.last_name, user.email = "Alice", "Liddell", "alice@example.com"
    user.save()
    link = share(alice, branched)
    assert link["url"] == f"/s/{link['token']}" and link["message_count"] == 4 and len(link["token"]) >= 20
    # Later messages and a rename do not show through the link.
    Message.objects.create(conversation=branched, role="user", content="later")
    Conversation.objects.filter(id=branched.id).update(title="Renamed")
    shown = bob.get(f"/api/shares/{link['token']}/").json()
    assert shown["title"] == "Trip <b>plans</b>" and shown["shared_by"] == "Alice Liddell"
    assert [m["content"] for m in shown["messages"]] == ["q1", "a1 with <script>alert(1)</script>", "q2b", "a2b"]
    assert set(shown["messages"][0]) == {"role", "content", "reasoning", "model", "status", "created_at"}
    text = bob.get(f"/api/shares/{link['token']}/").content.decode()
    assert "alice@example.com" not in text and str(branched.id) not in text and str(user.pk) != shown["shared_by"]


def test_owners_list_and_revoke_and_nobody_else_can(alice, bob, branched):
    first, second = share(alice, branched), share(alice, branched)
    assert [s["token"] for s in alice.get("/api/shares/").json()] == [second["token"], first["token"]]
    assert len(alice.get(f"/api/conversations/{branched.id}/shares/").json()) == 2
    assert bob.get("/api/shares/").json() == []
    assert bob.post(f"/api/conversations/{branched.id}/shares/").status_code == 404
    assert bob.delete(f"/api/shares/{first['token']}/").status_code == 404
    assert alice.delete(f"/api/shares/{first['token']}/").status_code == 204
    assert alice.delete(f"/api/shares/{first['token']}/").status_code == 404
    for path in (f"/api/shares/{first['token']}/", "/api/shares/nope/"):
        assert bob.get(path).status_code == 404
    assert bob.get(f"/s/{first['token']}").status_code == 404
    assert bob.get(f"/s/{second['token']}").status_code == 200
    assert [s["token"] for s in alice.get("/api/shares/").json()] == [second["token"]]
    assert Share.objects.get(token=first["token"]).revoked_at is not None


def test_only_logged_in_users_unless_public_shares_are_on(alice, branched, settings):
    link = share(alice, branched)
    anonymous = Client()
    assert anonymous.get(f"/api/shares/{link['token']}/").status_code == 404
    page = anonymous.get(f"/s/{link['token']}")
    assert page.status_code == 302 and page["Location"].startswith("/accounts/login/?next=/s/")
    settings.CHAT_PUBLIC_SHARES = True
    assert anonymous.get(f"/api/shares/{link['token']}/").json()["messages"][-1]["content"] == "a2b"
    assert anonymous.get(f"/s/{link['token']}").status_code == 200
    assert anonymous.get("/s/unknown").status_code == 404
    # Copying needs an account.
    assert anonymous.post(f"/api/shares/{link['token']}/copy/").status_code == 401


def test_continue_in_my_chats_copies_the_shared_branch(alice, bob, other_user, branched):
    link = share(alice, branched)
    response = bob.post(f"/api/shares/{link['token']}/copy/")
    assert response.status_code == 201
    copy = Conversation.objects.get(id=response.json()["conversation_id"])
    assert copy.owner == other_user and copy.title == "Trip <b>plans</b>"
    messages = list(Message.objects.filter(conversation=copy).order_by("created_at"))
    assert [(m.role, m.content) for m in messages] == [("user", "q1"), ("assistant", "a1 with <script>alert(1)</script>"),
                                                       ("user", "q2b"), ("assistant", "a2b")]
    assert all(m.parent_id == p.id for m, p in zip(messages[1:], messages))
    assert copy.active_leaf_id == messages[-1].id
    # Bob's copy is his own: alice's conversation is untouched, and bob can open his.
    assert Message.objects.filter(conversation=branched).count() == 6
    assert bob.get(f"/api/conversations/{copy.id}/").status_code == 200


def test_deleting_the_conversation_deletes_its_links(alice, bob, branched):
    link = share(alice, branched)
    assert alice.delete(f"/api/conversations/{branched.id}/").status_code == 204
    assert bob.get(f"/api/shares/{link['token']}/").status_code == 404


def test_shares_are_listed_in_the_admin(admin_client, alice, branched):
    link = share(alice, branched)
    page = admin_client.get("/admin/sharing/share/").content.decode()
    assert "Trip &lt;b&gt;plans&lt;/b&gt;" in page and link["token"] in page

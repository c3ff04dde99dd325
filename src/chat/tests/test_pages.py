import json
import re

import pytest
from django.core.management import call_command
from django.test import Client

from chat.templatetags import vite

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("path", ["/", "/history", "/c/0b7c6f1e-8d0f-4a57-9d55-5a6b1c1f2e3d"])
def test_app_pages_need_login(client, path):
    response = client.get(path)
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


def test_app_page_has_root_and_bootstrap(client, user):
    client.force_login(user)
    response = client.get("/c/0b7c6f1e-8d0f-4a57-9d55-5a6b1c1f2e3d")
    html = response.content.decode()
    assert response.status_code == 200 and '<div id="root"></div>' in html
    bootstrap = json.loads(re.search(r'id="app-bootstrap" type="application/json">(.*?)</script>', html)[1])
    assert bootstrap == {"username": "alice", "loginUrl": "/accounts/login/",
                         "logoutUrl": "/accounts/logout/", "signupUrl": "/accounts/signup/"}


def test_built_client_is_linked_from_the_manifest(client, user, settings, tmp_path):
    (tmp_path / ".vite").mkdir()
    (tmp_path / ".vite" / "manifest.json").write_text(json.dumps(
        {"src/main.tsx": {"file": "assets/main-abc.js", "css": ["assets/main-def.css"], "isEntry": True}}))
    settings.FRONTEND_DIST = tmp_path
    client.force_login(user)
    html = client.get("/").content.decode()
    assert '<script type="module" src="/static/assets/main-abc.js"></script>' in html
    assert '<link rel="stylesheet" href="/static/assets/main-def.css">' in html
    assert '<link rel="stylesheet" href="/static/assets/main-def.css">' in Client().get("/accounts/login/").content.decode()


def test_dev_server_mode_links_vite(client, user, settings):
    settings.VITE_DEV_SERVER = "http://localhost:5173"
    client.force_login(user)
    html = client.get("/").content.decode()
    assert 'src="http://localhost:5173/static/@vite/client"' in html
    assert 'src="http://localhost:5173/static/src/main.tsx"' in html
    assert vite.vite_css() == '<link rel="stylesheet" href="http://localhost:5173/static/src/index.css">'


def test_login_logout_and_signup(user):
    client = Client()
    page = client.get("/accounts/login/")
    assert page.status_code == 200 and b'name="username"' in page.content
    response = client.post("/accounts/login/", {"username": "alice", "password": "alice-password-1"})
    assert response.status_code == 302 and response["Location"] == "/"
    assert client.post("/accounts/logout/").status_code == 302
    assert client.get("/").status_code == 302
    bad = client.post("/accounts/login/", {"username": "alice", "password": "wrong"})
    assert bad.status_code == 200 and b"role=\"alert\"" in bad.content

    signup = client.post("/accounts/signup/", {"username": "carol", "password1": "a-Long-pass-42",
                                               "password2": "a-Long-pass-42"})
    assert signup.status_code == 302 and signup["Location"] == "/"
    assert client.get("/").status_code == 200
    mismatch = Client().post("/accounts/signup/", {"username": "dave", "password1": "a-Long-pass-42",
                                                   "password2": "other-Long-pass-42"})
    assert mismatch.status_code == 200 and b"text-red" in mismatch.content


def test_first_start_creates_one_superuser_and_prints_the_password(capsys, monkeypatch):
    monkeypatch.delenv("DJANGO_SUPERUSER_PASSWORD", raising=False)
    call_command("ensure_superuser", url="http://127.0.0.1:8000/accounts/login/")
    out = capsys.readouterr().out
    password = re.search(r"password: (\S+)", out)[1]
    assert "username: admin" in out and "shown only once" in out
    assert Client().login(username="admin", password=password)
    call_command("ensure_superuser")
    # Later starts say how to reset a lost password.
    assert "manage.py changepassword admin" in capsys.readouterr().out


def test_superuser_password_set_later_applies_or_says_why_not(capsys, monkeypatch):
    monkeypatch.delenv("DJANGO_SUPERUSER_PASSWORD", raising=False)
    call_command("ensure_superuser")
    capsys.readouterr()
    monkeypatch.setenv("DJANGO_SUPERUSER_PASSWORD", "a-new-password-1")
    call_command("ensure_superuser")
    assert "set from DJANGO_SUPERUSER_PASSWORD" in capsys.readouterr().out
    assert Client().login(username="admin", password="a-new-password-1")
    call_command("ensure_superuser")  # already that password: nothing to do
    assert capsys.readouterr().out == ""
    monkeypatch.setenv("DJANGO_SUPERUSER_USERNAME", "root")
    call_command("ensure_superuser")
    assert "no superuser 'root' (superusers: admin): not applied" in capsys.readouterr().out

"""What the server sends besides the app: compressed immutable assets, the favicon, the API
docs without a CDN, and JSON for a wrong method on the API."""
import pytest
from django.test import Client

pytestmark = pytest.mark.django_db


@pytest.fixture
def built(settings, tmp_path):
    """A built client as Vite writes it: a hashed asset with its .br and .gz copies."""
    assets = tmp_path / "assets"
    assets.mkdir()
    (assets / "main-Ab_d1234.js").write_text("console.log('x');" * 100)
    (assets / "main-Ab_d1234.js.br").write_bytes(b"br bytes")
    (assets / "main-Ab_d1234.js.gz").write_bytes(b"gzip bytes")
    (tmp_path / "favicon.svg").write_text("<svg xmlns='http://www.w3.org/2000/svg'/>")
    settings.STATICFILES_DIRS = [tmp_path]
    return tmp_path


def test_hashed_assets_are_compressed_and_cached_for_good(built):
    client = Client()  # a new handler: WhiteNoise indexes the files at start-up
    response = client.get("/static/assets/main-Ab_d1234.js", headers={"Accept-Encoding": "gzip, deflate, br"})
    assert response.status_code == 200
    assert response["Content-Encoding"] == "br"
    assert b"".join(response.streaming_content) == b"br bytes"
    assert "immutable" in response["Cache-Control"] and "max-age=315360000" in response["Cache-Control"]
    gzip = client.get("/static/assets/main-Ab_d1234.js", headers={"Accept-Encoding": "gzip"})
    assert gzip["Content-Encoding"] == "gzip"
    # A name without a hash may change under the same URL: not immutable.
    favicon = client.get("/static/favicon.svg")
    assert favicon.status_code == 200 and "immutable" not in favicon["Cache-Control"]


def test_favicon(built, client, user):
    response = client.get("/favicon.ico")
    assert response.status_code == 301 and response["Location"] == "/static/favicon.svg"
    client.force_login(user)
    assert '<link rel="icon" href="/static/favicon.svg"' in client.get("/").content.decode()


def test_api_docs_load_swagger_ui_from_our_static_files(client, user):
    client.force_login(user)
    page = client.get("/api/docs").content.decode()
    assert "/static/ninja/swagger-ui-bundle.js" in page and "cdn" not in page
    assert Client().get("/static/ninja/swagger-ui-bundle.js").status_code == 200


def test_wrong_method_on_the_api_is_a_json_405(client, user):
    client.force_login(user)
    response = client.put("/api/conversations/")
    assert response.status_code == 405
    assert response.json() == {"error": {"code": "method_not_allowed", "message": "PUT is not allowed here."}}
    assert "GET" in response["Allow"]


@pytest.mark.django_db(transaction=True)
async def test_wrong_method_is_a_json_405_under_asgi_too():
    from django.test import AsyncClient

    response = await AsyncClient().put("/api/conversations/")
    assert response.status_code == 405 and response.json()["error"]["code"] == "method_not_allowed"

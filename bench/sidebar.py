"""What the sidebar costs with 2,000 conversations in 50 folders: the requests it makes on
load (folders with counts, pinned ones, the first page of recent unfiled ones) and opening
one folder, against the plain list of the contract measured in the same run.

    .venv/bin/python bench/sidebar.py [--database sqlite|postgres] [--conversations 2000] [--folders 50] [--runs 30]

Requests go through Django's test client to the real API views, as a logged-in user;
times are medians (and p95) in ms. Throwaway database as in bench/tree.py.
"""
import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT))


from bench.tree import timed  # noqa: E402  (one home for median / p95)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--conversations", type=int, default=2000)
    parser.add_argument("--folders", type=int, default=50)
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args()

    import bench.tree as setup

    setup.DB_NAME = "chat_bench_sidebar"
    setup.setup(args.database)
    try:
        from datetime import timedelta

        from django.contrib.auth import get_user_model
        from django.test import Client
        from django.utils import timezone

        from chat.models import Conversation, Message
        from folders.models import Folder

        user = get_user_model().objects.create_user("bench-sidebar", password="x")
        folders = Folder.objects.bulk_create([Folder(owner=user, name=f"Folder {n:02d}") for n in range(args.folders)])
        now = timezone.now()
        rows = []
        for n in range(args.conversations):
            # Three in four filed, one in fifty pinned, one in twenty archived.
            rows.append(Conversation(
                owner=user, title=f"Chat {n}", created_at=now - timedelta(minutes=n), updated_at=now - timedelta(minutes=n),
                folder=folders[n % args.folders] if n % 4 else None,
                pinned_at=now if n % 50 == 0 else None, archived_at=now if n % 20 == 7 else None,
            ))
        Conversation.objects.bulk_create(rows, batch_size=1000)
        Message.objects.bulk_create([Message(conversation=c, role="user", content=f"About {c.title}?", created_at=c.created_at)
                                     for c in rows], batch_size=1000)
        client = Client(HTTP_HOST="localhost")  # an allowed host (DJANGO_ALLOWED_HOSTS)
        client.force_login(user)

        def get(path):
            response = client.get(path)
            assert response.status_code == 200, (path, response.status_code)
            return response

        requests = {
            "folders with counts": "/api/folders/",
            "pinned": "/api/conversations/?limit=50&archived=false&pinned=true",
            "recent unfiled, first page": "/api/conversations/?limit=30&archived=false&pinned=false&folder=none",
            "one folder opened": f"/api/conversations/?limit=30&archived=false&folder={folders[7].id}",
        }
        reference = timed(args.runs, lambda: get("/api/conversations/?limit=30"))
        print(f"database: {args.database}; {args.conversations} conversations in {args.folders} folders; "
              f"median / p95 of {args.runs} runs")
        print(f"  reference, the contract's plain list (30): {reference[0]:.1f} / {reference[1]:.1f} ms")
        load = 0.0
        for label, path in requests.items():
            median, p95 = timed(args.runs, lambda path=path: get(path))
            if label != "one folder opened":
                load += median
            print(f"  {label}: {median:.1f} / {p95:.1f} ms ({median / reference[0]:.2f}x)")
        print(f"  sidebar load (the first three, one after another): {load:.1f} ms ({load / reference[0]:.2f}x)")
    finally:
        setup.teardown(args.database)


if __name__ == "__main__":
    main()

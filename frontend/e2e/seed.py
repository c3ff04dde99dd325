# Seeds the e2e database (run with `manage.py shell -c`); prints one JSON line of ids.
#
# alice, bob: the scenario users (bob owns one conversation alice must not open).
# carol: 5,000 conversations (one user message each) for the history-page timing.
# dana: a few finished conversations, the subject of the README screenshots.
# erin: nothing; the import and bulk export test (transfer.e2e.ts) fills her account.
# frank: three conversations to organize (organize.e2e.ts).
# olga: an admin, who reads the feedback queue and the usage page (logs in through /admin/).
import json
import sys
import uuid
from datetime import datetime, timedelta, timezone as tz

from django.contrib.auth.models import User
from django.utils import timezone

from chat.models import Conversation, Message
from tests.fake_upstream import markdown_answer

PASSWORD = "e2e-pass-123"
users = {name: User.objects.create_user(name, "", PASSWORD) for name in ("alice", "bob", "carol", "dana", "erin", "frank")}
User.objects.create_superuser("olga", "", PASSWORD)
now = timezone.now()

# frank: three short conversations to pin, archive and file (organize.e2e.ts).
for minutes, title in enumerate(["Alpha plans", "Beta notes", "Gamma ideas"]):
    at = now - timedelta(minutes=minutes)
    frank_conversation = Conversation.objects.create(owner=users["frank"], title=title, created_at=at, updated_at=at)
    Message.objects.create(conversation=frank_conversation, role="user", content=f"About {title.lower()}.",
                           created_at=at, updated_at=at)

bob_conversation = Conversation.objects.create(owner=users["bob"], title="Bob's private plans")
Message.objects.create(conversation=bob_conversation, role="user", content="Something only Bob may read.")

# carol: 5,000 conversations, bulk-inserted.
topics = ["Trip planning", "SQL indexes", "Birthday ideas", "Rust lifetimes", "Sourdough", "Tax questions",
          "Guitar chords", "Kubernetes probes", "Marathon training", "Regex help"]
conversations = [
    Conversation(
        owner=users["carol"],
        title=f"{topics[i % len(topics)]} #{i:04d}",
        created_at=now - timedelta(minutes=i + 1),
        updated_at=now - timedelta(minutes=i),
    )
    for i in range(5000)
]
Conversation.objects.bulk_create(conversations, batch_size=1000)
Message.objects.bulk_create(
    [
        Message(conversation=c, role="user", content=f"Question about {c.title.lower()}: what should I do next?",
                created_at=c.created_at, updated_at=c.created_at)
        for c in conversations
    ],
    batch_size=1000,
)

# dana: what the screenshots show (fixed dates, so the pictures only change with the UI).
DANA_NOW = datetime(2026, 5, 4, 18, 30, tzinfo=tz.utc)


def finished(title: str, question: str, answer: str, reasoning: str, minutes_ago: int) -> Conversation:
    at = DANA_NOW - timedelta(minutes=minutes_ago)
    conversation = Conversation.objects.create(owner=users["dana"], title=title, created_at=at, updated_at=at)
    asked = Message.objects.create(conversation=conversation, role="user", content=question, created_at=at, updated_at=at)
    Message.objects.create(
        conversation=conversation, role="assistant", content=answer, reasoning=reasoning, status="complete",
        model="fake-model", parent=asked, input_tokens=12, output_tokens=len(answer.split()),
        created_at=at + timedelta(seconds=1), updated_at=at + timedelta(seconds=5),
    )
    return conversation


showcase = finished(
    "Explain streaming answers with an example",
    "Explain streaming answers with an example, and show some code.",
    markdown_answer(120),
    "The user wants a long answer to test streaming. I will write some Markdown.",
    1,
)
for minutes, (title, question, answer) in enumerate(
    [
        ("Weekend trip to the mountains", "Plan a two-day hiking trip near Innsbruck.",
         "Day one: take the cable car to **Seegrube** and walk the ridge. Day two: the *Zirbenweg* trail."),
        ("Python: read a CSV file", "How do I read a CSV file in Python?",
         "Use the `csv` module:\n\n```python\nimport csv\nwith open('data.csv') as f:\n    rows = list(csv.DictReader(f))\n```"),
        ("Dinner ideas with lentils", "Three dinners with red lentils?",
         "1. Dal with rice\n2. Lentil soup with lemon\n3. Lentil bolognese"),
        ("What is a B-tree index?", "What is a B-tree index, briefly?",
         "A balanced tree that keeps keys sorted so lookups, ranges and ordered scans take O(log n) page reads."),
        ("Translate a short note to German", "Translate: 'See you at the station at eight.'",
         "„Wir sehen uns um acht am Bahnhof.“"),
    ],
    start=5,
):
    finished(title, question, answer, "", minutes * 37)

json.dump({"bobConversation": str(bob_conversation.id), "showcase": str(showcase.id), "password": PASSWORD}, sys.stdout)
print()

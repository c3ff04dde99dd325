"""Imports: a file is read and checked whole in a thread of its own (the server's event loop
and its one ORM thread never wait for it), then stored in one transaction: a bad file
imports nothing. Importing a conversation twice adds nothing (ImportedConversation)."""
import logging
import os
import shutil
import tempfile
import threading
import uuid
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import close_old_connections, connection, transaction
from django.utils import timezone

from chat import services as chat_services
from chat.models import Conversation

from .errors import ImportFileError
from .models import ImportedConversation, ImportJob
from .reading import Found, read

log = logging.getLogger(__name__)

BEAT_EVERY = 50  # conversations read between two progress writes
# A job whose process died stops beating: after this long it is reported failed.
STALE_AFTER = timedelta(seconds=60)
_threads: set[threading.Thread] = set()  # running imports (tests wait for them)


class TooLarge(Exception):
    pass


def import_start(*, user, upload) -> ImportJob:
    """Keep the upload (the request's copy goes when it ends) and read it in a new thread."""
    if upload.size > settings.CHAT_IMPORT_MAX_BYTES:
        raise TooLarge
    handle, path = tempfile.mkstemp(prefix="chat-import-")
    with os.fdopen(handle, "wb") as copy:
        upload.seek(0)
        shutil.copyfileobj(upload, copy, 1 << 20)
    job = ImportJob.objects.create(owner=user, filename=(upload.name or "")[:255], size=upload.size)
    thread = threading.Thread(target=_run, args=(job.id, user.pk, path), name=f"import-{job.id}", daemon=True)
    _threads.add(thread)
    thread.start()
    return job


def wait_all(timeout: float = 30) -> None:
    """Wait for the imports running in this process (tests)."""
    for thread in list(_threads):
        thread.join(timeout)


def _run(job_id, owner_id, path: str) -> None:
    try:
        owner = get_user_model().objects.get(pk=owner_id)

        def progress(done: int, total: int) -> None:
            if done % BEAT_EVERY == 0 or done == total:
                ImportJob.objects.filter(id=job_id).update(done=done, total=total, updated_at=timezone.now())

        found = read(path, max_unpacked=settings.CHAT_IMPORT_MAX_UNPACKED, progress=progress)
        ImportJob.objects.filter(id=job_id).update(phase="saving", total=len(found), done=len(found),
                                                   updated_at=timezone.now())
        imported, skipped = import_store(owner=owner, found=found)
        ImportJob.objects.filter(id=job_id).update(status=ImportJob.Status.DONE, phase="done", imported=imported,
                                                   skipped=skipped, updated_at=timezone.now())
    except ImportFileError as exc:
        _fail(job_id, str(exc))
    except Exception:
        log.exception("import %s failed", job_id)
        _fail(job_id, "The import failed on the server; nothing was imported.")
    finally:
        os.unlink(path)
        _threads.discard(threading.current_thread())
        close_old_connections()
        connection.close()


def _fail(job_id, error: str) -> None:
    ImportJob.objects.filter(id=job_id).update(status=ImportJob.Status.FAILED, phase="done", error=error,
                                               updated_at=timezone.now())


def import_store(*, owner, found: list[Found]) -> tuple[int, int]:
    """Store what a file held, in one transaction: (imported, skipped as imported before).

    A conversation is skipped when this user imported it before and still has it, or when
    it is one of the user's own conversations here (a re-imported export).
    """
    with transaction.atomic():
        # One import per user at a time: two imports of one file cannot both add it.
        get_user_model().objects.select_for_update().filter(pk=owner.pk).values_list("pk").first()
        keys = {(f.source, f.source_id) for f in found}
        records = {}
        for source in {source for source, _ in keys}:
            ids = [source_id for s, source_id in keys if s == source]
            for start in range(0, len(ids), 500):
                for record in ImportedConversation.objects.filter(owner=owner, source=source,
                                                                  source_id__in=ids[start:start + 500]):
                    records[(record.source, record.source_id)] = record
        own_ids = set()
        exported = [f.source_id for f in found if f.source == "chat-json"]
        for start in range(0, len(exported), 500):
            own_ids.update(str(i) for i in Conversation.objects.filter(
                owner=owner, id__in=[_uuid_or_none(i) for i in exported[start:start + 500]],
            ).values_list("id", flat=True))
        new, seen = [], set()
        for item in found:
            key = (item.source, item.source_id)
            record = records.get(key)
            if key in seen or (record is not None and record.conversation_id is not None) or item.source_id in own_ids:
                continue
            seen.add(key)
            new.append(item)
        rows = chat_services.conversations_create(owner=owner, conversations=[item.conversation for item in new])
        fresh, again = [], []
        for item, row in zip(new, rows):
            record = records.get((item.source, item.source_id))
            if record is None:
                fresh.append(ImportedConversation(owner=owner, source=item.source, source_id=item.source_id,
                                                  conversation=row))
            else:  # imported before, deleted since: brought back
                record.conversation = row
                again.append(record)
        ImportedConversation.objects.bulk_create(fresh, batch_size=500)
        ImportedConversation.objects.bulk_update(again, ["conversation"], batch_size=500)
    return len(new), len(found) - len(new)


def _uuid_or_none(text: str):
    try:
        return uuid.UUID(text)
    except ValueError:
        return None


def job_state(job: ImportJob) -> ImportJob:
    """The job as reported: one that stopped beating (its process died) has failed."""
    if job.status == ImportJob.Status.RUNNING and timezone.now() - job.updated_at > STALE_AFTER:
        job.status, job.phase = ImportJob.Status.FAILED, "done"
        job.error = "The server restarted during the import; nothing was imported. Upload the file again."
    return job

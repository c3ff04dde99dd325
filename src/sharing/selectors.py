"""Reads of the sharing app."""
from .models import ImportJob


def import_job(*, owner, job_id) -> ImportJob | None:
    """The owner's import job (another user's is None, like a missing one)."""
    return ImportJob.objects.filter(id=job_id, owner=owner).first()

from django.contrib import admin

from .models import ImportJob, Share


@admin.register(ImportJob)
class ImportJobAdmin(admin.ModelAdmin):
    list_display = ("filename", "owner", "status", "imported", "skipped", "size", "created_at")
    list_filter = ("status", ("created_at", admin.DateFieldListFilter))
    list_select_related = ("owner",)
    readonly_fields = [f.name for f in ImportJob._meta.fields]
    ordering = ("-created_at",)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Share)
class ShareAdmin(admin.ModelAdmin):
    list_display = ("title", "owner", "created_at", "revoked_at", "token")
    list_filter = (("created_at", admin.DateFieldListFilter), ("revoked_at", admin.EmptyFieldListFilter))
    list_select_related = ("owner",)
    search_fields = ("title", "owner__username", "token")
    readonly_fields = ("token", "owner", "conversation", "title", "messages", "created_at")
    fields = (*readonly_fields, "revoked_at")  # an admin may revoke a link
    ordering = ("-created_at",)

    def has_add_permission(self, request):
        return False

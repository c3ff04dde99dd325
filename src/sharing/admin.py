from django.contrib import admin

from .models import ImportJob


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

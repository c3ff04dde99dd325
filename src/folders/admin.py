from django.contrib import admin

from .models import Folder


@admin.register(Folder)
class FolderAdmin(admin.ModelAdmin):
    list_display = ("name", "owner", "model", "created_at")
    list_select_related = ("owner",)
    search_fields = ("name", "owner__username")
    ordering = ("owner", "name")

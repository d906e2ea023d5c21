from django.contrib import admin

from apps.files.models import StoredFile


@admin.register(StoredFile)
class StoredFileAdmin(admin.ModelAdmin):
    list_display = ("original_name", "owner", "status", "verified_type", "size", "created_at")
    list_filter = ("status", "verified_type")
    search_fields = ("original_name", "key", "owner__email", "owner__username")
    readonly_fields = [field.name for field in StoredFile._meta.fields]
    date_hierarchy = "created_at"

    def has_add_permission(self, request):
        return False  # files come in through uploads, which verify them

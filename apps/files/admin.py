from django.contrib import admin

from apps.files import services
from apps.files.models import StoredFile


@admin.register(StoredFile)
class StoredFileAdmin(admin.ModelAdmin):
    list_display = ("original_name", "owner", "status", "verified_type", "size", "created_at")
    list_filter = ("status", "verified_type")
    search_fields = ("original_name", "key", "owner__email", "owner__username")
    readonly_fields = [field.name for field in StoredFile._meta.fields]
    date_hierarchy = "created_at"
    list_select_related = ("owner",)

    def has_add_permission(self, request):
        return False  # files come in through uploads, which verify them

    # Through the service, as the owner's own delete: the objects in S3 go with the row.
    def delete_model(self, request, obj):
        services.file_delete(obj)

    def delete_queryset(self, request, queryset):
        for stored in queryset:
            services.file_delete(stored)

from django.contrib import admin
from django.core.files.storage import default_storage

from apps.pages.models import ContactMessage


@admin.register(ContactMessage)
class ContactMessageAdmin(admin.ModelAdmin):
    list_display = ("name", "email", "language", "attachment_name", "created_at")
    search_fields = ("name", "email", "message")
    readonly_fields = [field.name for field in ContactMessage._meta.fields]

    def has_add_permission(self, request):
        return False

    # A deleted message takes its attachment with it: nothing else points at the object.
    def delete_model(self, request, obj):
        if obj.attachment_key:
            default_storage.delete(obj.attachment_key)
        obj.delete()

    def delete_queryset(self, request, queryset):
        for message in queryset:
            self.delete_model(request, message)

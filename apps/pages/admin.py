from django.contrib import admin

from apps.pages.models import ContactMessage


@admin.register(ContactMessage)
class ContactMessageAdmin(admin.ModelAdmin):
    list_display = ("name", "email", "language", "attachment_name", "created_at")
    search_fields = ("name", "email", "message")
    readonly_fields = [field.name for field in ContactMessage._meta.fields]

    def has_add_permission(self, request):
        return False

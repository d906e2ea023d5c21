from django.conf import settings
from django.contrib import admin
from django.contrib.auth import REDIRECT_FIELD_NAME, get_user_model
from django.contrib.auth.views import redirect_to_login
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

User = get_user_model()


@admin.register(User)
class UserAdmin(admin.ModelAdmin):
    """Users as Cognito made them: listed, searched, deactivated; never edited here.

    Email, names, groups and the staff and superuser flags are the user pool's, written at
    each sign-in, and passwords live in Cognito (none is kept here): the one field the admin
    changes is ``is_active``, and an inactive user's sessions and tokens are refused. Users
    come from Cognito too (``manage.py cognito_createuser``), so none is added here.
    """

    list_display = (
        "email",
        "full_name",
        "group_names",
        "is_staff",
        "is_superuser",
        "is_active",
        "last_login",
        "date_joined",
    )
    list_filter = ("is_staff", "is_superuser", "is_active", "groups")
    search_fields = ("email", "first_name", "last_name", "sub")
    ordering = ("email",)
    fieldsets = (
        (None, {"fields": ("email", "first_name", "last_name", "sub", "username")}),
        (
            _("Permissions"),
            {
                "fields": ("is_active", "is_staff", "is_superuser", "groups"),
                "description": _(
                    "Groups and the staff and superuser flags are the user's Cognito groups, "
                    "read at each sign-in: change them in the user pool."
                ),
            },
        ),
        (_("Important dates"), {"fields": ("last_login", "date_joined")}),
    )
    readonly_fields = (
        "email",
        "first_name",
        "last_name",
        "sub",
        "username",
        "is_staff",
        "is_superuser",
        "groups",
        "last_login",
        "date_joined",
    )

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("groups")

    @admin.display(description=_("name"), ordering="last_name")
    def full_name(self, user):
        return user.get_full_name()

    @admin.display(description=_("groups"))
    def group_names(self, user):
        return ", ".join(sorted(group.name for group in user.groups.all()))

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        # change_user would otherwise let staff lock a superuser out.
        if obj is not None and obj.is_superuser and not request.user.is_superuser:
            return False
        return super().has_change_permission(request, obj)


@never_cache
@require_GET
def login(request):
    """The admin's sign-in (``admin/login/`` in project/urls.py, before Django's form).

    Everyone signs in through Cognito: the anonymous go to its sign-in and come back to the
    admin. A signed-in user who is not staff gets a 403 saying why, where Django's form
    would send them to a sign-in that only brings them back here.
    """
    if not request.user.is_authenticated:
        next_url = request.GET.get(REDIRECT_FIELD_NAME) or reverse("admin:index")
        return redirect_to_login(next_url, "accounts:login")
    if admin.site.has_permission(request):
        return redirect("admin:index")
    context = {"staff_group": settings.COGNITO_STAFF_GROUP}
    return render(request, "accounts/admin_forbidden.html", context, status=403)

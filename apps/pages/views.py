from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from apps.pages import services
from apps.pages.forms import ContactForm


@require_http_methods(["GET", "POST"])
def contact(request):
    address = request.META.get("REMOTE_ADDR", "")
    if request.method != "POST":
        return render(request, "pages/contact.html", {"form": ContactForm()})
    form = ContactForm(request.POST, request.FILES)
    if services.contact_rate_limited(address):
        return render(
            request, "pages/contact.html", {"form": form, "rate_limited": True}, status=429
        )
    if not form.is_valid():
        return render(request, "pages/contact.html", {"form": form}, status=400)
    if not form.is_bot():  # a bot gets the same thanks and nothing is kept
        services.contact_submit(
            name=form.cleaned_data["name"],
            email=form.cleaned_data["email"],
            message=form.cleaned_data["message"],
            attachment=form.cleaned_data["attachment"],
            address=address,
        )
    return redirect("pages:contact-thanks")


def contact_thanks(request):
    return render(request, "pages/contact_thanks.html")

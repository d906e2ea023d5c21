from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from apps.core.addresses import client_address
from apps.pages import services
from apps.pages.forms import ContactForm


@require_http_methods(["GET", "POST"])
def contact(request):
    if request.method != "POST":
        return render(request, "pages/contact.html", {"form": ContactForm()})
    address = client_address(request)
    form = ContactForm(request.POST, request.FILES)
    try:
        with services.contact_slot(address) as slot:
            if not form.is_valid():
                slot.release()  # a form to correct is not a message sent
                return render(request, "pages/contact.html", {"form": form}, status=400)
            if not form.is_bot():  # a bot gets the same thanks and nothing is kept
                services.contact_submit(
                    name=form.cleaned_data["name"],
                    email=form.cleaned_data["email"],
                    message=form.cleaned_data["message"],
                    attachment=form.cleaned_data["attachment"],
                    address=address,
                )
    except services.ContactRateLimited as exc:
        response = render(
            request, "pages/contact.html", {"form": form, "rate_limited": True}, status=429
        )
        response["Retry-After"] = str(exc.retry_after)
        return response
    return redirect("pages:contact-thanks")


def contact_thanks(request):
    return render(request, "pages/contact_thanks.html")

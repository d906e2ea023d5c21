from django import forms
from django.conf import settings
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext_lazy as _

from apps.core.content import SNIFF_BYTES, sniff
from apps.core.http import TextInputForm


class ContactForm(TextInputForm):
    # The lengths are ContactMessage's columns (an EmailField's default is 320). Uploaded
    # file names are at most 255 characters: Django shortens longer ones.
    name = forms.CharField(label=_("Name"), max_length=100)
    email = forms.EmailField(label=_("Email"), max_length=254)
    message = forms.CharField(label=_("Message"), max_length=5000, widget=forms.Textarea)
    attachment = forms.FileField(label=_("Attachment (optional)"), required=False)
    # Humans never see this field; bots fill it in.
    website = forms.CharField(
        required=False, widget=forms.TextInput(attrs={"autocomplete": "off", "tabindex": "-1"})
    )

    def clean_attachment(self):
        attachment = self.cleaned_data.get("attachment")
        if not attachment:
            return attachment
        limit = settings.CONTACT_ATTACHMENT_MAX_BYTES
        if attachment.size > limit:
            raise forms.ValidationError(
                _("The attachment is too large (at most %(limit)s).")
                % {"limit": filesizeformat(limit)}
            )
        head = attachment.read(SNIFF_BYTES)
        attachment.seek(0)
        if sniff(head) not in settings.CONTACT_ATTACHMENT_TYPES:
            raise forms.ValidationError(_("Attach an image (PNG, JPEG), a PDF or a text file."))
        return attachment

    def is_bot(self):
        return bool(self.cleaned_data.get("website"))

from django import forms
from django.utils.translation import gettext_lazy as _


class FallbackUploadForm(forms.Form):
    file = forms.FileField(label=_("File"))

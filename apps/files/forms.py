from django import forms
from django.utils.translation import gettext_lazy as _

from apps.core.http import TextInputForm


class FallbackUploadForm(TextInputForm):
    file = forms.FileField(label=_("File"))

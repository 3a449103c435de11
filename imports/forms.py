from django import forms
from unfold.widgets import UnfoldAdminFileFieldWidget, UnfoldAdminSelectWidget

from .readers import FORMATS

FORMAT_CHOICES = [
    ("", "From the file's name (.csv, .xlsx, .json)"),
    *((name, name.upper()) for name in FORMATS),
]


class ImportUploadForm(forms.Form):
    import_file = forms.FileField(label="File to import", widget=UnfoldAdminFileFieldWidget)
    format = forms.ChoiceField(choices=FORMAT_CHOICES, required=False, widget=UnfoldAdminSelectWidget)


class ImportConfirmForm(forms.Form):
    """The preview's "Confirm import": the upload, named by a token the server signed when it kept it,
    and why, when the import waits for approval (the shop's rule for imports)."""

    upload = forms.CharField(widget=forms.HiddenInput)
    why = forms.CharField(required=False, max_length=500, widget=forms.HiddenInput)

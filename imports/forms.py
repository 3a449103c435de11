"""The import pages' forms: the upload, the mapping step (how the file is read, where each of its
columns goes, the import's options) and the confirmation."""

from django import forms
from unfold.widgets import (
    UnfoldAdminFileFieldWidget,
    UnfoldAdminSelectWidget,
    UnfoldAdminTextInputWidget,
    UnfoldBooleanWidget,
)

from .presets import presets_for
from .readers import FORMATS
from .text_files import DELIMITERS, ENCODINGS

FORMAT_CHOICES = [
    ("", "From the file's name (.csv, .txt, .xlsx, .json)"),
    *((name, name.upper()) for name in FORMATS),
]
ENCODING_CHOICES = [
    ("", "Detect it"),
    *(
        (name, label)
        for name, label in ENCODINGS.items()
        if name not in ("utf-8-sig", "utf-16-le", "utf-16-be")
    ),
]
DELIMITER_CHOICES = [
    ("", "Detect it"),
    *(
        (delimiter, {",": "Comma", ";": "Semicolon", "\t": "Tab", "|": "Vertical bar"}[delimiter])
        for delimiter in DELIMITERS
    ),
]
GUESS = ""  # recognise the file (a saved mapping made for it, another system's export), else guess
NAMES_ONLY = "names"
SKIP_INVALID_HELP = (
    "Import the valid rows and leave the invalid ones out; they can be downloaded afterwards, with what "
    "is wrong in each, to fix and import again. Unticked, one invalid row stops the whole file."
)


def start_choices(resource: str, saved) -> list[tuple[str, str]]:
    """Where a mapping may start from: a guess from the names, a preset, or a saved mapping."""
    choices = [
        (GUESS, "Recognise the file (a saved mapping, another system's export), else guess"),
        (NAMES_ONLY, "Guess from the column names only"),
    ]
    choices += [(f"preset:{preset.name}", preset.label) for preset in presets_for(resource)]
    choices += [(f"saved:{mapping.pk}", f"Saved mapping: {mapping.name}") for mapping in saved]
    return choices


class ImportUploadForm(forms.Form):
    import_file = forms.FileField(label="File to import", widget=UnfoldAdminFileFieldWidget)
    format = forms.ChoiceField(choices=FORMAT_CHOICES, required=False, widget=UnfoldAdminSelectWidget)
    start_from = forms.ChoiceField(
        label="Columns", required=False, widget=UnfoldAdminSelectWidget, choices=[(GUESS, "")]
    )

    def __init__(self, *args, start_from=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["start_from"].choices = list(start_from) or [(GUESS, "Guess from the column names")]


class ImportMappingForm(forms.Form):
    """The mapping step. Its column fields (``column_0``…) are added for the file's headers."""

    upload = forms.CharField(widget=forms.HiddenInput)
    columns_key = forms.CharField(widget=forms.HiddenInput, required=False)
    encoding = forms.ChoiceField(
        label="Encoding", choices=ENCODING_CHOICES, required=False, widget=UnfoldAdminSelectWidget
    )
    delimiter = forms.ChoiceField(
        label="Delimiter", choices=DELIMITER_CHOICES, required=False, widget=UnfoldAdminSelectWidget
    )
    start_from = forms.ChoiceField(
        label="Start from", required=False, widget=UnfoldAdminSelectWidget, choices=[(GUESS, "")]
    )
    create_missing = forms.BooleanField(required=False, widget=UnfoldBooleanWidget)
    skip_invalid = forms.BooleanField(
        label="Skip invalid rows", required=False, help_text=SKIP_INVALID_HELP, widget=UnfoldBooleanWidget
    )
    save_as = forms.CharField(
        label="Save this mapping as",
        required=False,
        max_length=100,
        help_text="A name to choose it by next time (the same name replaces it).",
        widget=UnfoldAdminTextInputWidget,
    )

    def __init__(self, *args, spec, headers, start_from=(), text_file=True, **kwargs):
        super().__init__(*args, **kwargs)
        self.headers = headers
        self.fields["start_from"].choices = list(start_from) or [(GUESS, "Guess from the column names")]
        targets = [(GUESS, "— ignore —")] + [
            (column.name, f"{column.name} (required)" if column.required else column.name)
            for column in spec.columns
        ]
        for index, header in enumerate(headers):
            self.fields[f"column_{index}"] = forms.ChoiceField(
                label=header or f"column {index + 1}",
                choices=targets,
                required=False,
                widget=UnfoldAdminSelectWidget,
            )
        if spec.creates_missing:
            self.fields["create_missing"].label = spec.creates_missing
        else:
            del self.fields["create_missing"]
        if not text_file:
            del self.fields["encoding"], self.fields["delimiter"]

    def column_fields(self):
        return [self[f"column_{index}"] for index in range(len(self.headers))]

    def targets(self) -> list[str]:
        return [self.cleaned_data.get(f"column_{index}") or "" for index in range(len(self.headers))]


class ImportConfirmForm(forms.Form):
    """The preview's "Confirm import": the upload and what to do with it (its mapping and options),
    named by a token the server signed when it showed the preview, and why, when the import waits for
    approval (the shop's rule for imports)."""

    upload = forms.CharField(widget=forms.HiddenInput)
    why = forms.CharField(required=False, max_length=500, widget=forms.HiddenInput)

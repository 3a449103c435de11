from unfold.forms import AuthenticationForm


class LoginForm(AuthenticationForm):
    """Unfold's login form, with the cursor in the username field. The page is hidden until Alpine
    starts (``x-cloak``), which is after the browser applied ``autofocus`` to a hidden field, so Alpine
    focuses it once the page shows."""

    def __init__(self, request=None, *args, **kwargs):
        super().__init__(request, *args, **kwargs)
        self.fields["username"].widget.attrs["x-init"] = "$nextTick(() => $el.focus())"

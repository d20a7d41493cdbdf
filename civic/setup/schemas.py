"""The set-up form: the one-time code, the commune, and its first administrator."""

from __future__ import annotations

from typing import Annotated

from pydantic import model_validator

from civic.accounts.schemas import NAME_MAX, Password
from civic.areas.schemas import CommuneForm
from civic.core.inputs import Phone, Text, error
from civic.errors import N_


class SetupForm(CommuneForm):
    setup_code: Annotated[str, Text(1, 64, N_("Please enter the set-up code shown in the server's "
                                              "log."))] = ""
    admin_name: Annotated[str, Text(1, NAME_MAX, N_("Please enter your name."),
                                    too_long=N_("The name must have at most 80 characters."))] = ""
    admin_phone: Annotated[str, Phone()] = ""
    password: Annotated[str, Password(refuse_common=True)] = ""
    password_again: Annotated[str, Password(min=0, max=1280, too_long=None)] = ""

    @model_validator(mode="after")
    def _same_password_twice(self) -> SetupForm:
        if self.password != self.password_again:
            raise error(N_("The two passwords are not the same."), field="password_again")
        return self

"""The emails themselves: password reset and invitation, in English and Spanish, as plain text
and HTML, built with the standard library's EmailMessage.

EmailMessage (default policy) refuses a header value holding a line break, so nothing a user
typed can add a header; a name is also reduced to printable text on one line before it goes
into `To`, so such a name still gets its email rather than an error. In the HTML part every
value is escaped.
"""

from __future__ import annotations

import html
import unicodedata
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Literal

Kind = Literal["reset", "invite"]

TEXTS: dict[str, dict[str, str]] = {
    "en": {
        "reset.subject": "Reset your SEAM API password",
        "reset.intro": "We received a request to reset the password of the account {email}.",
        "reset.action": "Set a new password",
        "reset.ignore": "If you did not ask for this, ignore this email: your password stays "
        "as it is.",
        "invite.subject": "Your SEAM API account is ready",
        "invite.intro": "An account was created for you ({email}). Choose your password to "
        "sign in.",
        "invite.action": "Set your password",
        "invite.ignore": "If you did not expect this, you can ignore this email.",
        "greeting": "Hello {name},",
        "validity": "The link works once and expires in {duration}.",
        "minutes": "{count} minutes",
        "days": "{count} days",
    },
    "es": {
        "reset.subject": "Restablezca su contraseña de SEAM API",
        "reset.intro": "Recibimos una solicitud para restablecer la contraseña de la cuenta "
        "{email}.",
        "reset.action": "Elegir una contraseña nueva",
        "reset.ignore": "Si no la pidió, ignore este correo: su contraseña no cambia.",
        "invite.subject": "Su cuenta de SEAM API está lista",
        "invite.intro": "Se creó una cuenta para usted ({email}). Elija su contraseña para "
        "iniciar sesión.",
        "invite.action": "Elegir mi contraseña",
        "invite.ignore": "Si no lo esperaba, puede ignorar este correo.",
        "greeting": "Hola {name}:",
        "validity": "El enlace sirve una sola vez y caduca en {duration}.",
        "minutes": "{count} minutos",
        "days": "{count} días",
    },
}


def one_line(text: str) -> str:
    """Printable text on one line: control characters (CR, LF, tabs…) become spaces."""
    cleaned = "".join(" " if unicodedata.category(c).startswith("C") else c for c in text)
    return " ".join(cleaned.split())


def _duration(texts: dict[str, str], seconds: int) -> str:
    if seconds % 86400 == 0:
        return texts["days"].format(count=seconds // 86400)
    return texts["minutes"].format(count=seconds // 60)


def build(
    kind: Kind,
    *,
    locale: str,
    sender: str,
    name: str,
    email: str,
    link: str,
    valid_for: int,
) -> EmailMessage:
    """The email of `kind` for one account; `valid_for` is the link's lifetime in seconds."""
    texts = TEXTS.get(locale, TEXTS["en"])
    name = one_line(name)
    greeting = texts["greeting"].format(name=name)
    intro = texts[f"{kind}.intro"].format(email=email)
    action = texts[f"{kind}.action"]
    validity = texts["validity"].format(duration=_duration(texts, valid_for))
    ignore = texts[f"{kind}.ignore"]

    message = EmailMessage()
    message["Subject"] = texts[f"{kind}.subject"]
    message["From"] = sender
    message["To"] = Address(display_name=name, addr_spec=email)
    message["Date"] = formatdate(usegmt=True)
    message["Message-ID"] = make_msgid(domain="seam-api")
    message.set_content(f"{greeting}\n\n{intro}\n\n{action}:\n{link}\n\n{validity}\n{ignore}\n")
    e = html.escape
    message.add_alternative(
        f'<!DOCTYPE html>\n<html lang="{locale}"><body>\n'
        f"<p>{e(greeting)}</p>\n<p>{e(intro)}</p>\n"
        f'<p><a href="{e(link)}">{e(action)}</a></p>\n'
        f"<p>{e(validity)}<br>{e(ignore)}</p>\n</body></html>\n",
        subtype="html",
    )
    return message

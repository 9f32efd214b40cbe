"""An SMTP server for the e-mail tests: aiosmtpd (from PyPI) speaks the
protocol and checks our AUTH; each message it takes is written to the
folder given as <n>.eml with its envelope as <n>.json. A recipient whose
address starts with `refused@` is rejected with 550, as a real server
rejects an unknown mailbox. Given a certificate and its key, PORT requires
STARTTLS before the login and TLS_PORT speaks TLS from the first byte.
With SMTP_PEER_OAUTH_TOKEN set, XOAUTH2 with that access token logs in
too (the SASL initial response of Google's profile).

Usage: smtp_peer.py PORT FOLDER USER PASSWORD [CERT KEY TLS_PORT]
"""

import base64
import json
import os
import ssl
import sys
import threading

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

port, folder, user, password = int(sys.argv[1]), sys.argv[2], sys.argv[3].encode(), sys.argv[4].encode()


oauth_token = os.environ.get("SMTP_PEER_OAUTH_TOKEN")


class Handler:
    def __init__(self):
        self.count = 0

    async def auth_XOAUTH2(self, server, args):
        # `AUTH XOAUTH2 <base64>`: user=<login>^Aauth=Bearer <token>^A^A
        if oauth_token is None or len(args) < 2:
            return AuthResult(success=False, handled=False)
        try:
            fields = dict(f.split("=", 1) for f in base64.b64decode(args[1]).decode().split("\x01") if f)
        except Exception:
            return AuthResult(success=False, handled=False)
        ok = fields.get("user", "").encode() == user and fields.get("auth") == f"Bearer {oauth_token}"
        return AuthResult(success=ok, handled=False, auth_data=fields.get("user"))

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.startswith("refused@"):
            return "550 5.1.1 No such mailbox here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.count += 1
        base = os.path.join(folder, f"{self.count:05d}")
        with open(base + ".json", "w") as f:
            json.dump(
                {"mail_from": envelope.mail_from, "rcpt_tos": envelope.rcpt_tos, "authenticated": bool(session.authenticated)},
                f,
            )
        with open(base + ".tmp", "wb") as f:
            f.write(envelope.original_content or envelope.content)
        os.rename(base + ".tmp", base + ".eml")
        return "250 Message accepted"


def authenticator(server, session, envelope, mechanism, auth_data):
    ok = isinstance(auth_data, LoginPassword) and auth_data.login == user and auth_data.password == password
    return AuthResult(success=ok, handled=False)


handler = Handler()
if len(sys.argv) > 5:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(sys.argv[5], sys.argv[6])
    controllers = [
        Controller(handler, hostname="127.0.0.1", port=port, authenticator=authenticator, auth_required=True,
                   tls_context=context, require_starttls=True, auth_require_tls=True),
        Controller(handler, hostname="127.0.0.1", port=int(sys.argv[7]), authenticator=authenticator,
                   auth_required=True, ssl_context=context,
                   # Already TLS: aiosmtpd only counts STARTTLS as TLS for AUTH.
                   auth_require_tls=False),
    ]
else:
    controllers = [
        Controller(handler, hostname="127.0.0.1", port=port, authenticator=authenticator,
                   auth_require_tls=False, auth_required=True),
    ]
for controller in controllers:
    controller.start()
print("ready", flush=True)
threading.Event().wait()

"""Start real mail servers for tests and for the demo.

Plain helpers, usable outside pytest: ``make_certificates`` (a CA, a server
certificate it signs and an untrusted self-signed one), ``start_smtp_server``
(aiosmtpd whose replies the caller scripts), ``start_raw_server`` (silent,
endless-line or fixed-greeting servers), ``closed_port`` and
``start_dovecot`` (IMAP and POP3, plain and TLS, with maildir users).
"""

from __future__ import annotations

import asyncio
import datetime
import ipaddress
import logging
import os
import pwd
import shutil
import socket
import ssl
import subprocess
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from mailboxes.transports import ServerEndpoint

logger = logging.getLogger(__name__)

LOCALHOST = "127.0.0.1"


# --- certificates -----------------------------------------------------------


@dataclass(frozen=True)
class Certificates:
    """Paths of the test PKI: a CA, a server pair it signs, an untrusted pair."""

    ca_file: Path
    cert_file: Path
    key_file: Path
    untrusted_cert_file: Path
    untrusted_key_file: Path

    def server_context(self, *, trusted: bool = True) -> ssl.SSLContext:
        """Return a server TLS context with the trusted or the untrusted pair."""
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        if trusted:
            context.load_cert_chain(self.cert_file, self.key_file)
        else:
            context.load_cert_chain(self.untrusted_cert_file, self.untrusted_key_file)
        return context


def make_certificates(folder: Path) -> Certificates:
    """Write a CA, a server certificate for localhost/127.0.0.1 and an
    untrusted self-signed certificate for the same names into ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = _name("alertcenter test CA")
    ca_cert = (
        _builder(ca_name, ca_name, ca_key.public_key(), now)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_key_usage(ca=True), critical=True)
        .add_extension(
            x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )

    server_key = ec.generate_private_key(ec.SECP256R1())
    server_cert = (
        _server_builder(_name("localhost"), ca_name, server_key, now)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )

    rogue_key = ec.generate_private_key(ec.SECP256R1())
    rogue_name = _name("localhost")
    rogue_cert = _server_builder(rogue_name, rogue_name, rogue_key, now).sign(
        rogue_key, hashes.SHA256()
    )

    paths = Certificates(
        ca_file=folder / "ca.pem",
        cert_file=folder / "server.pem",
        key_file=folder / "server.key",
        untrusted_cert_file=folder / "untrusted.pem",
        untrusted_key_file=folder / "untrusted.key",
    )
    paths.ca_file.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    paths.cert_file.write_bytes(server_cert.public_bytes(serialization.Encoding.PEM))
    paths.untrusted_cert_file.write_bytes(
        rogue_cert.public_bytes(serialization.Encoding.PEM)
    )
    for path, key in (
        (paths.key_file, server_key),
        (paths.untrusted_key_file, rogue_key),
    ):
        path.write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
        path.chmod(0o600)
    return paths


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _builder(
    subject: x509.Name,
    issuer: x509.Name,
    public_key: ec.EllipticCurvePublicKey,
    now: datetime.datetime,
) -> x509.CertificateBuilder:
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=30))
    )


def _server_builder(
    subject: x509.Name,
    issuer: x509.Name,
    key: ec.EllipticCurvePrivateKey,
    now: datetime.datetime,
) -> x509.CertificateBuilder:
    names = x509.SubjectAlternativeName(
        [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address(LOCALHOST))]
    )
    return (
        _builder(subject, issuer, key.public_key(), now)
        .add_extension(names, critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), True)
        .add_extension(_key_usage(ca=False), critical=True)
        .add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False
        )
        .add_extension(
            x509.SubjectKeyIdentifier.from_public_key(key.public_key()),
            critical=False,
        )
    )


def _key_usage(*, ca: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=True,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=not ca,
        key_cert_sign=ca,
        crl_sign=ca,
        encipher_only=False,
        decipher_only=False,
    )


# --- ports --------------------------------------------------------------------


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that nothing listened on a moment ago."""
    with socket.socket() as sock:
        sock.bind((LOCALHOST, 0))
        port: int = sock.getsockname()[1]
        return port


def closed_port() -> int:
    """Return a port where connections are refused (bound, then released)."""
    return free_port()


def wait_for_port(port: int, host: str = LOCALHOST, timeout: float = 10.0) -> None:
    """Wait until ``host:port`` accepts connections; raise TimeoutError."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with socket.create_connection((host, port), timeout=1):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise TimeoutError(f"nothing answers on {host}:{port}") from None
            time.sleep(0.05)


# --- raw servers ------------------------------------------------------------


RawBehaviour = Literal["silent", "endless", "greeting"]


class RawServer:
    """Serve one fixed misbehaviour on 127.0.0.1 from a thread.

    "silent" accepts and never says anything; "endless" sends ``prefix``
    then an endless line of "x"; "greeting" sends ``prefix`` and hangs up.
    """

    def __init__(self, behaviour: RawBehaviour, prefix: bytes = b"") -> None:
        self.behaviour = behaviour
        self.prefix = prefix
        self.host = LOCALHOST
        self._stopped = threading.Event()
        self._listener = socket.create_server((LOCALHOST, 0))
        self._listener.settimeout(0.2)
        self.port: int = self._listener.getsockname()[1]
        self._threads: list[threading.Thread] = []
        self._accepting = threading.Thread(target=self._accept, daemon=True)
        self._accepting.start()

    def stop(self) -> None:
        """Stop accepting and end every open connection."""
        self._stopped.set()
        self._accepting.join(timeout=5)
        for thread in self._threads:
            thread.join(timeout=5)
        self._listener.close()

    def _accept(self) -> None:
        while not self._stopped.is_set():
            try:
                conn, _address = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            thread = threading.Thread(target=self._serve, args=(conn,), daemon=True)
            self._threads.append(thread)
            thread.start()

    def _serve(self, conn: socket.socket) -> None:
        with conn:
            conn.settimeout(1)
            try:
                if self.prefix:
                    conn.sendall(self.prefix)
                if self.behaviour == "greeting":
                    time.sleep(0.2)
                    return
                chunk = b"x" * 65536
                while not self._stopped.is_set():
                    if self.behaviour == "endless":
                        conn.sendall(chunk)
                    else:
                        self._stopped.wait(0.1)
            except OSError:
                return


def start_raw_server(behaviour: RawBehaviour, prefix: bytes = b"") -> RawServer:
    """Return a running RawServer; call .stop() when done."""
    return RawServer(behaviour, prefix)


# --- SMTP (aiosmtpd) ----------------------------------------------------------


@dataclass(frozen=True)
class ReceivedMessage:
    """Hold one message the test SMTP server accepted."""

    mail_from: str
    recipients: list[str]
    data: bytes
    peer: str = ""


@dataclass
class SmtpReplies:
    """Scripted SMTP replies; None means "behave normally".

    ``rcpt`` maps a recipient address (any case) to the reply its RCPT TO
    gets, e.g. {"nobody@example.com": "550 5.1.1 <nobody@example.com>: ..."}.
    """

    ehlo: str | None = None
    mail_from: str | None = None
    rcpt: dict[str, str] = field(default_factory=dict)
    data: str | None = None
    # Seconds the server takes over each message before it answers DATA.
    data_delay: float = 0.0


class _ScriptedHandler:
    def __init__(self, replies: SmtpReplies, users: dict[str, str]) -> None:
        self.replies = replies
        self.users = users
        self.rcpt = {address.lower(): reply for address, reply in replies.rcpt.items()}
        self.messages: list[ReceivedMessage] = []

    async def handle_EHLO(
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        hostname: str,
        responses: list[str],
    ) -> list[str]:
        if self.replies.ehlo:
            return [self.replies.ehlo]
        session.host_name = hostname
        return responses

    async def handle_MAIL(
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        address: str,
        options: list[str],
    ) -> str:
        if self.replies.mail_from:
            return self.replies.mail_from
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return "250 2.1.0 Ok"

    async def handle_RCPT(
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        address: str,
        options: list[str],
    ) -> str:
        reply = self.rcpt.get(address.lower())
        if reply:
            return reply
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(options)
        return "250 2.1.5 Ok"

    async def handle_DATA(
        self, server: SMTP, session: Session, envelope: Envelope
    ) -> str:
        if self.replies.data_delay:
            await asyncio.sleep(self.replies.data_delay)
        if self.replies.data:
            return self.replies.data
        content = envelope.original_content or b""
        self.messages.append(
            ReceivedMessage(
                str(envelope.mail_from),
                list(envelope.rcpt_tos),
                content,
                peer=str(session.peer),
            )
        )
        return f"250 2.0.0 Ok: queued as {uuid.uuid4().hex[:10].upper()}"

    def authenticate(
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        mechanism: str,
        auth_data: Any,
    ) -> AuthResult:
        if not isinstance(auth_data, LoginPassword):
            return AuthResult(success=False, handled=False)
        login = auth_data.login.decode("utf-8", errors="replace")
        password = auth_data.password.decode("utf-8", errors="replace")
        success = login in self.users and self.users[login] == password
        return AuthResult(success=success, handled=False)


class SmtpServer:
    """Handle on a running scripted SMTP server (aiosmtpd)."""

    def __init__(self, controller: Controller, handler: _ScriptedHandler, port: int):
        self._controller = controller
        self._handler = handler
        self.host = LOCALHOST
        self.port = port
        self._running = True

    @property
    def messages(self) -> list[ReceivedMessage]:
        """Return the messages accepted so far."""
        return list(self._handler.messages)

    @property
    def replies(self) -> SmtpReplies:
        """Return the scripted replies; changes apply to the next command."""
        return self._handler.replies

    def stop(self) -> None:
        """Stop the server; stopping it again does nothing."""
        if self._running:
            self._running = False
            self._controller.stop()


def start_smtp_server(
    replies: SmtpReplies | None = None,
    *,
    port: int | None = None,
    security: Literal["none", "starttls", "tls"] = "none",
    certificates: Certificates | None = None,
    trusted: bool = True,
    users: dict[str, str] | None = None,
    auth_require_tls: bool = False,
    hostname: str = "mx.test.invalid",
) -> SmtpServer:
    """Start an aiosmtpd server on 127.0.0.1 and return its handle.

    ``security`` "starttls" offers STARTTLS, "tls" speaks TLS from the first
    byte; both need ``certificates`` (``trusted=False`` serves the untrusted
    self-signed pair). ``users`` enables AUTH PLAIN/LOGIN with that table.
    """
    handler = _ScriptedHandler(replies or SmtpReplies(), users or {})
    port = port or free_port()
    options: dict[str, Any] = {
        "server_hostname": hostname,
        "auth_require_tls": auth_require_tls,
        "enable_SMTPUTF8": True,
    }
    if users is not None:
        options["authenticator"] = handler.authenticate
    if security != "none":
        if certificates is None:
            raise ValueError(f"security {security!r} needs certificates")
        context = certificates.server_context(trusted=trusted)
        if security == "tls":
            options["ssl_context"] = context
            # aiosmtpd only counts STARTTLS as TLS; the whole session is
            # encrypted here, so AUTH must be offered anyway.
            options["auth_require_tls"] = False
        else:
            options["tls_context"] = context
    controller = Controller(handler, hostname=LOCALHOST, port=port, **options)
    controller.start()
    return SmtpServer(controller, handler, port)


# --- Dovecot ------------------------------------------------------------------


def dovecot_binary() -> str | None:
    """Return the path of the dovecot binary, or None when not installed."""
    return shutil.which("dovecot") or next(
        (p for p in ("/usr/sbin/dovecot",) if os.path.exists(p)), None
    )


_DOVECOT_CONF = """\
base_dir = {folder}/run
state_dir = {folder}/state
log_path = {folder}/dovecot.log
info_log_path = {folder}/dovecot.log
protocols = imap pop3
listen = {host}
default_login_user = {login_user}
default_internal_user = {internal_user}
first_valid_uid = 0
mail_location = maildir:~/Maildir
disable_plaintext_auth = no
auth_mechanisms = plain login
auth_failure_delay = 0
ssl = yes
ssl_cert = <{cert_file}
ssl_key = <{key_file}
pop3_uidl_format = %08Xu%08Xv
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {folder}/passwd
}}
userdb {{
  driver = passwd-file
  args = username_format=%u {folder}/passwd
}}
service imap-login {{
  chroot =
  inet_listener imap {{
    port = {imap}
  }}
  inet_listener imaps {{
    port = {imaps}
    ssl = yes
  }}
}}
service pop3-login {{
  chroot =
  inet_listener pop3 {{
    port = {pop3}
  }}
  inet_listener pop3s {{
    port = {pop3s}
    ssl = yes
  }}
}}
service anvil {{
  chroot =
  # No growing delay after failed logins: the tests fail logins on purpose.
  unix_listener anvil-auth-penalty {{
    mode = 0
  }}
}}
"""


class DovecotServer:
    """A private Dovecot instance in ``folder``, with passwd-file users."""

    def __init__(
        self, folder: Path, users: dict[str, str], certificates: Certificates
    ) -> None:
        self.folder = folder
        self.host = LOCALHOST
        self.certificates = certificates
        self.users = dict(users)
        self.imap, self.imaps = free_port(), free_port()
        self.pop3, self.pop3s = free_port(), free_port()
        self._process: subprocess.Popen[bytes] | None = None
        if os.geteuid() == 0:
            mail_user = pwd.getpwnam("nobody")
            self.login_user, self.internal_user = "dovenull", "dovecot"
        else:
            mail_user = pwd.getpwuid(os.geteuid())
            self.login_user = self.internal_user = mail_user.pw_name
        self.uid, self.gid = mail_user.pw_uid, mail_user.pw_gid
        self.config = folder / "dovecot.conf"
        self._passwd_stamp = 0

    def endpoint(
        self,
        protocol: Literal["imap", "pop3"],
        user: tuple[str, str],
        security: str = "none",
        **extra: Any,
    ) -> ServerEndpoint:
        """Return the endpoint of this server for a protocol and a security
        mode (implicit TLS on its own port), trusting the fixture's CA."""
        options: dict[str, Any] = {"ca_file": str(self.certificates.ca_file)}
        options.update(extra)
        port_name = protocol + "s" if security == "tls" else protocol
        return ServerEndpoint(
            host=self.host,
            port=getattr(self, port_name),
            security=security,  # type: ignore[arg-type]
            username=user[0],
            password=user[1],
            timeout=10,
            **options,
        )

    @property
    def log(self) -> str:
        """Return Dovecot's log and error output so far."""
        texts = []
        for name in ("dovecot.stderr", "dovecot.log"):
            path = self.folder / name
            if path.exists():
                texts.append(path.read_text(errors="replace"))
        return "\n".join(texts)

    def start(self) -> None:
        """Write the configuration and start Dovecot in the foreground."""
        binary = dovecot_binary()
        if binary is None:
            raise RuntimeError("dovecot is not installed")
        self.folder.mkdir(parents=True, exist_ok=True)
        self.folder.chmod(0o755)
        for sub in ("run", "state", "home"):
            (self.folder / sub).mkdir(exist_ok=True)
            (self.folder / sub).chmod(0o755)
        self.config.write_text(
            _DOVECOT_CONF.format(
                folder=self.folder,
                host=self.host,
                login_user=self.login_user,
                internal_user=self.internal_user,
                cert_file=self.certificates.cert_file,
                key_file=self.certificates.key_file,
                imap=self.imap,
                imaps=self.imaps,
                pop3=self.pop3,
                pop3s=self.pop3s,
            )
        )
        self._write_passwd()
        with open(self.folder / "dovecot.stderr", "ab") as stderr:
            self._process = subprocess.Popen(
                [binary, "-F", "-c", str(self.config)],
                stdout=subprocess.DEVNULL,
                stderr=stderr,
            )
        try:
            for port in (self.imap, self.imaps, self.pop3, self.pop3s):
                wait_for_port(port)
        except TimeoutError:
            self.stop()
            raise RuntimeError(f"dovecot did not start:\n{self.log}") from None

    def stop(self) -> None:
        """Stop Dovecot and wait for it to exit."""
        process, self._process = self._process, None
        if process is None:
            return
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def add_user(self, name: str, password: str) -> None:
        """Add a user (or change a password) and wait until Dovecot sees it.

        Dovecot looks at the passwd file at most once a second, so this takes
        up to a second on a running server; pass users to start_dovecot where
        speed matters.
        """
        self.users[name] = password
        self._write_passwd()
        if self._process is not None:
            time.sleep(1.05 - time.time() % 1)
            self._wait_for_password(name, password)

    def set_password(self, name: str, password: str) -> None:
        """Change a user's password."""
        if name not in self.users:
            raise KeyError(name)
        self.add_user(name, password)

    def maildir(self, name: str) -> Path:
        """Return the user's maildir, created with the mail uid if missing."""
        home = self.folder / "home" / name
        maildir = home / "Maildir"
        for path in (home, maildir, maildir / "cur", maildir / "new", maildir / "tmp"):
            if not path.exists():
                path.mkdir(mode=0o700)
                os.chown(path, self.uid, self.gid)
        return maildir

    def deliver(self, name: str, raw: bytes) -> Path:
        """Drop a message into the user's INBOX (maildir new/)."""
        maildir = self.maildir(name)
        unique = f"{time.time_ns()}.{uuid.uuid4().hex}.alertcenter-test"
        staging = maildir / "tmp" / unique
        staging.write_bytes(raw.replace(b"\r\n", b"\n"))
        os.chown(staging, self.uid, self.gid)
        staging.chmod(0o600)
        target = maildir / "new" / unique
        staging.rename(target)
        return target

    def set_uidvalidity(self, name: str, value: int) -> None:
        """Give the user's INBOX a new UIDVALIDITY (and renumber its UIDs)."""
        self.doveadm(
            "mailbox", "update", "-u", name, "--uid-validity", str(value), "INBOX"
        )

    def _wait_for_password(self, name: str, password: str) -> None:
        deadline = time.monotonic() + 10
        while True:
            result = subprocess.run(
                ["doveadm", "-c", str(self.config), "auth", "test", name, password],
                capture_output=True,
                timeout=30,
            )
            if result.returncode == 0:
                return
            if time.monotonic() > deadline:
                raise RuntimeError(f"dovecot did not take the password of {name}")
            time.sleep(0.1)

    def doveadm(self, *args: str) -> str:
        """Run doveadm against this instance; return its output."""
        result = subprocess.run(
            ["doveadm", "-c", str(self.config), *args],
            capture_output=True,
            text=True,
            timeout=30,
        )
        if result.returncode != 0:
            raise RuntimeError(f"doveadm {' '.join(args)} failed: {result.stderr}")
        return result.stdout

    def _write_passwd(self) -> None:
        lines = []
        for name, password in self.users.items():
            home = self.folder / "home" / name
            lines.append(
                f"{name}:{{PLAIN}}{password}:{self.uid}:{self.gid}::{home}::\n"
            )
        path = self.folder / "passwd"
        staging = self.folder / "passwd.new"
        staging.write_text("".join(lines))
        staging.chmod(0o644)
        # Dovecot reloads the file when its mtime (whole seconds) or size
        # changes; a password of the same length written within the same
        # second would go unseen, so the mtime always moves forward.
        self._passwd_stamp = max(int(time.time()), self._passwd_stamp + 1)
        os.utime(staging, (self._passwd_stamp, self._passwd_stamp))
        staging.rename(path)
        for name in self.users:
            self.maildir(name)


def start_dovecot(
    folder: Path,
    users: dict[str, str],
    certificates: Certificates | None = None,
) -> DovecotServer:
    """Start a private Dovecot in ``folder`` (made world-traversable) and
    return its handle; .stop() ends it."""
    folder = Path(folder)
    certificates = certificates or make_certificates(folder / "certs")
    server = DovecotServer(folder, users, certificates)
    server.start()
    return server

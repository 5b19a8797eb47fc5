"""`tobiume clients add | list | disable`: registering the systems that ask for tokens
(SMART Backend Services, "Registering a SMART Backend Service",
https://hl7.org/fhir/smart-app-launch/backend-services.html#registering-a-smart-backend-service).

A client registers its public keys (a JWK Set file, or the https URL where it publishes them),
its organisation, its role and the scopes it may ask for. `add` prints the new client's id as
the last word of its last line, so a script can take it with `tail -1 | awk '{print $NF}'`.
A key with private members (`d`, `p`, `q`, ...) is refused: the server holds no secret.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import sys
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tobiume.auth.roles import ROLES
from tobiume.config import get_settings

if TYPE_CHECKING:  # imported where used: `tobiume` starts fast for every other command
    from tobiume.storage.clients import Client

_ORGANIZATION = re.compile(r"Organization/[A-Za-z0-9\-.]{1,64}")
_PRIVATE_MEMBERS = ("d", "p", "q", "dp", "dq", "qi", "oth", "k")


class RegistrationError(Exception):
    """What is wrong with a client's registration, in words for the operator."""


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    clients = commands.add_parser("clients", help="systems registered to ask for tokens")
    actions = clients.add_subparsers(dest="action", required=True)
    add = actions.add_parser("add", help="register a client with its public keys")
    add.add_argument("--name", required=True)
    add.add_argument("--org", required=True, help="Organization/ID the client acts for")
    add.add_argument("--role", required=True, choices=sorted(ROLES))
    add.add_argument("--jwks", required=True, help="a JWK Set file, or the https URL of one")
    add.add_argument("--scopes", required=True, help='e.g. "system/*.rs system/Encounter.c"')
    actions.add_parser("list", help="every registered client")
    disable = actions.add_parser("disable", help="refuse a client every new token")
    disable.add_argument("client_id")


def run(args: argparse.Namespace) -> int:
    try:
        return asyncio.run(_run(args))
    except RegistrationError as exc:
        print(f"tobiume clients: {exc}", file=sys.stderr)
        return 2


async def _run(args: argparse.Namespace) -> int:
    from tobiume.db import Database
    from tobiume.storage.clients import add_client, all_clients, disable_client
    from tobiume.storage.migrate import upgrade

    settings = get_settings()
    new = _registration(args) if args.action == "add" else None
    database = Database(settings.database_url)
    try:
        if settings.should_auto_migrate:
            await upgrade(database.url)
        if new is not None:
            async with database.write() as conn:
                await add_client(conn, new)
            print(f"{new.name}: {new.role} of {new.organization}, scopes {new.scopes}")
            print(f"registered client {new.client_id}")
            return 0
        if args.action == "list":
            async with database.read() as conn:
                for known in await all_clients(conn):
                    _print(known)
            return 0
        async with database.write() as conn:
            found = await disable_client(conn, args.client_id)
        if not found:
            print(f"tobiume clients: no client {args.client_id!r}", file=sys.stderr)
            return 1
        print(f"disabled client {args.client_id}")
        return 0
    finally:
        await database.dispose()


def _print(known: Client) -> None:
    from tobiume.auth.client_keys import keys_of

    keys = known.jwks_url or f"{len(keys_of(known.jwks))} key(s) registered"
    state = "disabled" if known.disabled else "active"
    print(
        f"{known.client_id}\t{state}\t{known.name}\t{known.role}\t{known.organization}"
        f"\t{known.scopes}\t{keys}"
    )


def _registration(args: argparse.Namespace) -> Client:
    from tobiume.auth.client_keys import acceptable_url
    from tobiume.auth.scopes import parse_scope
    from tobiume.storage.clients import Client

    if not _ORGANIZATION.fullmatch(args.org):
        raise RegistrationError(f"--org takes Organization/ID, not {args.org!r}")
    scopes = args.scopes.split()
    wrong = [s for s in scopes if parse_scope(s) is None]
    if wrong or not scopes:
        raise RegistrationError(f"not SMART clinical scopes: {' '.join(wrong) or '(none)'}")
    jwks: dict[str, Any] | None = None
    jwks_url: str | None = None
    if args.jwks.startswith(("https://", "http://")):
        if not acceptable_url(args.jwks):
            raise RegistrationError("--jwks URL must be https (or http on this machine)")
        jwks_url = args.jwks
    else:
        jwks = _jwks_file(Path(args.jwks))
    return Client(
        client_id=str(uuid.uuid4()),
        name=args.name,
        organization=args.org,
        role=args.role,
        scopes=" ".join(scopes),
        jwks=jwks,
        jwks_url=jwks_url,
        disabled=False,
        created=datetime.now(UTC),
    )


def _jwks_file(path: Path) -> dict[str, Any]:
    import orjson

    from tobiume.auth.assertion import ALGORITHMS
    from tobiume.auth.client_keys import keys_of

    try:
        document = orjson.loads(path.read_bytes())
    except (OSError, orjson.JSONDecodeError) as exc:
        raise RegistrationError(f"cannot read a JWK Set from {path}: {exc}") from exc
    keys = keys_of(document)
    if not keys:
        raise RegistrationError(f'{path} holds no JWK Set ({{"keys": [...]}})')
    for key in keys:
        if any(member in key for member in _PRIVATE_MEMBERS):
            raise RegistrationError(f"{path} holds a private key; register public keys only")
        if not isinstance(key.get("kid"), str) or not key["kid"]:
            raise RegistrationError(f"{path}: every key needs a kid")
    usable = [
        k
        for k in keys
        if any(
            k.get("kty") == kty and (crv is None or k.get("crv") == crv)
            for kty, crv in ALGORITHMS.values()
        )
    ]
    if not usable:
        raise RegistrationError(f"{path} has no RSA or EC P-384 key (RS384 or ES384)")
    return {"keys": keys}

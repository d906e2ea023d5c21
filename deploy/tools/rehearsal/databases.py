"""The emulated account's RDS instances, as real PostgreSQL databases on this machine.

moto keeps an RDS instance as a record with an endpoint that resolves nowhere. For each one
created (``instance_created``, called by the emulator's DBInstance model) this module makes a
login role and a database of its own on the machine's PostgreSQL (127.0.0.1:5432, the one
the suite uses: ``deploy.tools.harness.postgres``), and remembers the endpoint. A function
whose ``DATABASE_HOST`` (or ``DATABASE_URL``) names that endpoint, or the endpoint of an RDS
Proxy in front of the instance, is pointed at the local database instead (``substitute``).

The server is shared by several runs (and people), so the role and the database both get a
random suffix; the role's name is what the instance's master secret must hold.

Gap: RDS Proxy requires TLS (the app defaults to ``sslmode=require``); the local server has
none, so the substitution sets ``sslmode=disable``.
"""

import logging
import threading
import uuid
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import psycopg
from psycopg import sql

from deploy.tools.harness.postgres import POSTGRES_URL, PostgresDatabase

logger = logging.getLogger(__name__)

LOCAL_HOST, LOCAL_PORT = "127.0.0.1", 5432


@dataclass
class LocalDatabase:
    """The local stand-in for one RDS instance: its role and its database."""

    instance_id: str
    role: str
    database: PostgresDatabase

    @property
    def name(self):
        return self.database.name


_lock = threading.Lock()
_instances: dict[str, LocalDatabase] = {}  # by instance id
_endpoints: dict[str, LocalDatabase] = {}  # by endpoint address (instances and proxies)


def instance_created(instance_id, endpoint_address, port, db_name, username, password) -> str:
    """Make the local database for the RDS instance ``instance_id``; return the username its
    master secret must carry (``username`` with a random suffix: roles are server-wide).

    Idempotent: an instance already made keeps its role and database. ``port`` is the
    instance's (5432 for PostgreSQL); the function always reaches the local server's.
    """
    with _lock:
        local = _instances.get(instance_id)
        if local is None:
            local = _create(instance_id, db_name or "postgres", username, password)
            _instances[instance_id] = local
            logger.info(
                "RDS instance %s (%s:%s) is database %s on %s:%s, role %s",
                instance_id,
                endpoint_address,
                port,
                local.name,
                LOCAL_HOST,
                LOCAL_PORT,
                local.role,
            )
        _endpoints[endpoint_address.lower()] = local
        return local.role


def proxy_created(proxy_name, endpoint_address, target_instance_id):
    """Map the RDS Proxy ``proxy_name``'s endpoint to its target instance's database."""
    with _lock:
        local = _instances.get(target_instance_id)
        if local is None:
            # Created through the API rather than the stack: no local database to lead to.
            logger.warning(
                "RDS Proxy %s targets instance %s, which has no local database; a function "
                "that connects through %s will not reach one",
                proxy_name,
                target_instance_id,
                endpoint_address,
            )
            return
        _endpoints[endpoint_address.lower()] = local


def endpoints() -> dict:
    """``{endpoint address: local database name}`` for every instance and RDS Proxy mapped
    (a proxy made through the API is found in moto's backend), for ``substitute`` in a
    process other than the emulator's."""
    _map_proxies()
    with _lock:
        return {endpoint: local.name for endpoint, local in _endpoints.items()}


def substitute(environment, mapped=None) -> dict:
    """``environment`` with its database pointed at the local one, when it names a mapped
    endpoint: ``DATABASE_HOST``/``PORT``/``NAME``/``SSLMODE`` (the variables the app builds
    ``DATABASE_URL`` from with ``DATABASE_SECRET_ARN``), and ``DATABASE_URL`` itself.

    ``mapped``: what ``endpoints()`` returned in the emulator's process (default: this
    process's own mapping)."""
    mapped = endpoints() if mapped is None else mapped
    result = dict(environment)
    name = mapped.get((result.get("DATABASE_HOST") or "").lower())
    if name:
        result.update(
            DATABASE_HOST=LOCAL_HOST,
            DATABASE_PORT=str(LOCAL_PORT),
            DATABASE_NAME=name,
            DATABASE_SSLMODE="disable",
        )
    url = result.get("DATABASE_URL")
    if url:
        result["DATABASE_URL"] = _local_url(url, mapped)
    return result


def drop_all():
    """Drop every database and role this run made (their connections are ended first)."""
    with _lock:
        made = list(_instances.values())
        _instances.clear()
        _endpoints.clear()
    for local in made:
        local.database.drop()  # WITH (FORCE): ends the function's open connections first
        with psycopg.connect(local.database.admin_url, autocommit=True) as connection:
            connection.execute(
                sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(local.role))
            )


def _create(instance_id, db_name, username, password):
    database = PostgresDatabase(POSTGRES_URL, prefix=db_name.lower())
    role = f"{username}_{uuid.uuid4().hex[:8]}".lower()
    try:
        with psycopg.connect(database.admin_url, autocommit=True) as connection:
            connection.execute(
                sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}").format(
                    sql.Identifier(role), sql.Literal(password)
                )
            )
            connection.execute(
                sql.SQL("ALTER DATABASE {} OWNER TO {}").format(
                    sql.Identifier(database.name), sql.Identifier(role)
                )
            )
    except psycopg.Error:
        database.drop()
        raise
    return LocalDatabase(instance_id=instance_id, role=role, database=database)


def _map_proxies():
    """Map the RDS Proxies moto holds whose default target group has a mapped instance."""
    for proxy in _moto_proxies():
        if proxy.endpoint.lower() in _endpoints:
            continue
        for target in proxy.proxy_target_groups["default"].targets:
            if target.type == "RDS_INSTANCE" and target.rds_resource_id in _instances:
                proxy_created(proxy.db_proxy_name, proxy.endpoint, target.rds_resource_id)


def _moto_proxies():
    from moto.rds.models import rds_backends

    for regions in list(rds_backends.values()):
        for backend in list(regions.values()):
            yield from list(backend.db_proxies.values())


def _local_url(url, mapped):
    parts = urlsplit(url)
    name = mapped.get(parts.hostname or "")  # urlsplit lower-cases the host
    if not name:
        return url
    credentials = parts.netloc.rpartition("@")[0]
    netloc = (
        f"{credentials}@{LOCAL_HOST}:{LOCAL_PORT}" if credentials else f"{LOCAL_HOST}:{LOCAL_PORT}"
    )
    query = dict(parse_qsl(parts.query, keep_blank_values=True))
    query["sslmode"] = "disable"
    return urlunsplit(parts._replace(netloc=netloc, path=f"/{name}", query=urlencode(query)))

"""bin/test's PostgreSQL probe: exit 0 when the test database answers (creating it when the
server answers but the database does not exist yet), else print why and exit 1."""
import sys
from urllib.parse import urlsplit, urlunsplit

import psycopg

url = sys.argv[1]
try:
    psycopg.connect(url, connect_timeout=2).close()
    sys.exit(0)
except psycopg.OperationalError as error:
    first_error = error

parts = urlsplit(url)
name = parts.path.lstrip("/")
try:  # Does the server answer? Ask its maintenance database.
    server = psycopg.connect(urlunsplit(parts._replace(path="/postgres")), connect_timeout=2, autocommit=True)
except psycopg.OperationalError:
    print(f"PostgreSQL not reachable at {url}: {str(first_error).strip().splitlines()[0]}")
    sys.exit(1)
with server:
    if server.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
        print(f"PostgreSQL answers but refuses database {name!r}: {str(first_error).strip().splitlines()[0]}")
        sys.exit(1)
    try:
        server.execute(psycopg.sql.SQL("CREATE DATABASE {}").format(psycopg.sql.Identifier(name)))
    except psycopg.Error as error:
        print(f"PostgreSQL answers but database {name!r} does not exist, and creating it failed: {str(error).strip().splitlines()[0]}")
        sys.exit(1)
print(f"created the missing PostgreSQL database {name!r}")

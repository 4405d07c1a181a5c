"""A private PostgreSQL 15 server for the tests of accounts_backend = postgresql: initdb
and pg_ctl from Debian's postgresql package, run as the unprivileged `postgres` user
(or as ourselves when we are not root) in a temporary directory, listening on a Unix
socket there and on a loopback port (password authentication, scram-sha-256, on TCP;
trust on the socket, for the test's own superuser connection). Never a system service."""
import contextlib
import os
import pwd
import shutil
import signal
import subprocess
import tempfile

import harness

PG_BIN = "/usr/lib/postgresql/15/bin"
PASSWORDS = {"mailbag_admin": "admin-pw", "mailbag_reader": "reader-pw", "mailbag_pop3": "pop3-pw",
             "mailbag_auth": "auth-pw"}


def available():
    return os.path.exists(os.path.join(PG_BIN, "initdb"))


class Postgres:
    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="mailbag-pg-", dir="/tmp")
        self.data = os.path.join(self.dir, "data")
        self.host = harness.unique_loopback()
        self.port = harness.free_port(self.host)
        self.user = None
        if harness.is_root():
            pw = pwd.getpwnam("postgres")
            self.user = (pw.pw_uid, pw.pw_gid)
            os.chown(self.dir, pw.pw_uid, pw.pw_gid)
        os.chmod(self.dir, 0o755)
        self.password_file = os.path.join(self.dir, "pg-passwords")

    def _run(self, args, check=True, **kw):
        def demote():
            if self.user:
                os.setgid(self.user[1])
                os.setuid(self.user[0])
        return subprocess.run(args, preexec_fn=demote, capture_output=True, text=True, check=check,
                              timeout=120, cwd=self.dir, **kw)

    def start(self):
        if not os.path.exists(self.data):
            self._run([os.path.join(PG_BIN, "initdb"), "-D", self.data, "-U", "postgres", "-A", "trust",
                       "--auth-host=scram-sha-256", "-E", "UTF8", "--no-sync", "--no-instructions"])
        opts = ("-k %s -c listen_addresses=%s -p %d -c fsync=off -c synchronous_commit=off "
                "-c full_page_writes=off -c shared_buffers=16MB -c max_connections=60"
                % (self.dir, self.host, self.port))
        self._run([os.path.join(PG_BIN, "pg_ctl"), "-D", self.data, "-o", opts, "-l",
                   os.path.join(self.dir, "postgres.log"), "-w", "-t", "60", "start"])
        return self

    def stop(self, mode="fast"):
        self._run([os.path.join(PG_BIN, "pg_ctl"), "-D", self.data, "-m", mode, "-w", "stop"], check=False)

    def _children(self, parent):
        out = []
        for d in os.listdir("/proc"):
            if not d.isdigit():
                continue
            try:
                with open("/proc/%s/stat" % d) as f:
                    stat = f.read()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == parent:
                out.append(int(d))
        return out

    @contextlib.contextmanager
    def frozen(self):
        """Every process of this server stopped (SIGSTOP), the postmaster first so that it
        forks no new backend: connections stay open and nothing answers, as with a hung
        server or a dead network path. SIGCONT at the end."""
        with open(os.path.join(self.data, "postmaster.pid")) as f:
            main = int(f.readline())
        os.kill(main, signal.SIGSTOP)
        pids = [main]
        try:
            for p in self._children(main):
                os.kill(p, signal.SIGSTOP)
                pids.append(p)
            yield
        finally:
            for p in reversed(pids):
                os.kill(p, signal.SIGCONT)

    def cleanup(self):
        self.stop("immediate")
        shutil.rmtree(self.dir, ignore_errors=True)

    def psql(self, sql, user="postgres", db="mailbag", password=None, check=True):
        """Runs `sql`; over the socket as the superuser, over TCP (password) as a role."""
        env = dict(os.environ)
        if password is None:
            args = ["-h", self.dir]
        else:
            args = ["-h", self.host]
            env["PGPASSWORD"] = password
        return self._run([os.path.join(PG_BIN, "psql"), "-X", "-q", "-t", "-A", "-v", "ON_ERROR_STOP=1",
                          *args, "-p", str(self.port), "-U", user, "-d", db, "-c", sql],
                         check=check, env=env)

    def setup_database(self):
        """The administrator's part before `mailctl db init`: the owner role (which may
        create the daemons' roles) and the database; the root-only password file."""
        self.psql("CREATE ROLE mailbag_admin LOGIN CREATEROLE PASSWORD '%s'" % PASSWORDS["mailbag_admin"],
                  db="postgres")
        self.psql("CREATE DATABASE mailbag OWNER mailbag_admin", db="postgres")
        with open(self.password_file, "w") as f:
            f.write("# role password\n")
            for role, pw in PASSWORDS.items():
                f.write("%s %s\n" % (role, pw))
        os.chmod(self.password_file, 0o600)

    def set_role_passwords(self):
        for role in ("mailbag_reader", "mailbag_pop3", "mailbag_auth"):
            self.psql("ALTER ROLE %s PASSWORD '%s'" % (role, PASSWORDS[role]), db="postgres")

    def conf(self, ttl="2s"):
        """The mailbag.conf keys of a node using this database."""
        return {"accounts_backend": "postgresql",
                "postgresql_conninfo": "host=%s port=%d dbname=mailbag sslmode=disable" % (self.host, self.port),
                "postgresql_password_file": self.password_file,
                "postgresql_cache_ttl": ttl,
                "postgresql_timeout": "2s"}

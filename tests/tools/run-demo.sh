#!/bin/bash
# `make run`: a private Mailbag demo server with everything (config, spool, accounts,
# Maildirs, logs) under RUN_DIR, SMTP on 127.0.0.1:2525. Works as root (the daemons drop
# to the mb-* users, which `mailctl init` creates) and as a normal user. A rerun keeps the
# existing state and password. Ctrl-C stops every process this script started.
#   usage: run-demo.sh BIN_DIR RUN_DIR      (absolute paths; see the Makefile's run target)
#   MAILBAG_DEMO_PORT=N moves SMTP to another port (default 2525), e.g. when 2525 is taken.
#   MAILBAG_DEMO_IMAP=1 (make run IMAP=1) also starts Dovecot for IMAP, configured by
#   `mailctl dovecot config` (root only: Dovecot switches to mb-vmail and mb-imapauth).
#   MAILBAG_DEMO_WEBMAIL=1 (make run WEBMAIL=1) also starts Dovecot and Roundcube's webmail,
#   configured by `mailctl roundcube config` (PHP's web server, as www-data).
set -euo pipefail

bin=${1:?usage: run-demo.sh BIN_DIR RUN_DIR}
run=${2:?usage: run-demo.sh BIN_DIR RUN_DIR}
addr=127.0.0.1
port=${MAILBAG_DEMO_PORT:-2525}
domain=example.test
user=demo@$domain
conf=$run/mailbag.conf

say() { printf '%s\n' "$*"; }
die() { printf 'run-demo: %s\n' "$*" >&2; exit 1; }

for p in mailctl mailbag-tlskey mailbag-auth queue-manager local remote dkim smtpd pop3-mailbox pop3d; do
  [ -x "$bin/$p" ] || die "missing $bin/$p (build it first: make)"
done
command -v openssl >/dev/null || die "openssl is needed for the demo certificate (apt-get install openssl)"
imap=${MAILBAG_DEMO_IMAP:-}
webmail=${MAILBAG_DEMO_WEBMAIL:-}
# Every peer is checked before anything starts: a missing one stops the demo here, not
# half-way with some daemons running.
if [ -n "$webmail" ]; then
  imap=1
  [ -r /var/lib/roundcube/public_html/index.php ] && command -v php >/dev/null ||
    die "WEBMAIL=1: Roundcube is not installed (apt-get install --no-install-recommends roundcube-core roundcube-sqlite3)"
  [ "$(id -u)" = 0 ] || die "WEBMAIL=1: needs root (Dovecot and Roundcube's PHP run as their own users)"
  getent passwd www-data >/dev/null || die "WEBMAIL=1: the web server user www-data does not exist"
fi
if [ -n "$imap" ]; then
  [ -x /usr/sbin/dovecot ] || die "IMAP=1: Dovecot is not installed (apt-get install dovecot-imapd)"
  [ "$(id -u)" = 0 ] || die "IMAP=1: needs root (Dovecot runs the mail processes as mb-vmail)"
  [ -x "$bin/mailbag-checkpassword" ] || die "missing $bin/mailbag-checkpassword (build it first: make)"
fi

mkdir -p "$run/log" "$run/tls"
chmod 0755 "$run" "$run/log" "$run/tls"
if [ "$(id -u)" = 0 ]; then
  # The daemons drop to mb-* users: every directory above run/ must let them through.
  d=$run
  while [ "$d" != / ]; do
    d=$(dirname "$d")
    perms=$(stat -c %A "$d")
    [ "${perms:9:1}" = x ] || [ "${perms:9:1}" = t ] ||
      die "$d is not traversable by other users (mode $perms); the daemons run as mb-* users. chmod o+x it or run make run elsewhere."
  done
fi

if (exec 3<>"/dev/tcp/$addr/$port") 2>/dev/null; then
  die "something already listens on $addr:$port (another make run?); MAILBAG_DEMO_PORT=N make run uses port N"
fi

if [ ! -e "$conf" ]; then
  cat >"$conf" <<EOF
# Mailbag demo configuration, written by tests/tools/run-demo.sh (make run).
# Every key is described in man/mailbag.conf.5.
hostname = localhost
log_target = stderr
spool_directory = $run/spool
data_directory = $run/data
mail_directory = $run/mail
tls_cert_file = $run/tls/cert.pem
tls_key_file = $run/tls/key.pem
smtp_listen = $addr:$port
queue_retry_min = 30s
# Built-in checks (see checks(8)); e.g. uncomment to record SPF, DKIM and DMARC verdicts:
# spf_check = yes
# dkim_check = yes
# dmarc_check = yes
# The demo lets POP3 clients log in without TLS on loopback; a real server should not.
pop3_plaintext_auth = yes
EOF
  chmod 0644 "$conf"
else
  sed -i "s|^smtp_listen *=.*|smtp_listen = $addr:$port|" "$conf"
fi

if [ ! -e "$run/tls/cert.pem" ] || [ ! -e "$run/tls/key.pem" ]; then
  openssl req -x509 -newkey rsa:2048 -nodes -subj /CN=localhost -days 365 \
    -keyout "$run/tls/key.pem" -out "$run/tls/cert.pem" 2>/dev/null
  chmod 0600 "$run/tls/key.pem"
fi

# Any other *_listen key a daemon has (submission, smtps, pop3...) moves off the standard
# port onto 127.0.0.1 next to the SMTP port, so the demo never needs root for a low port and
# never clashes with a real mail server on this machine.
extra_port=$((port + 1))
for p in smtpd pop3d; do
  while IFS= read -r line; do
    key=${line%% =*}
    case $key in
      smtp_listen | "") ;;
      *_listen)
        if ! grep -q "^$key *=" "$conf"; then
          printf '%s = %s:%d\n' "$key" "$addr" "$extra_port" >>"$conf"
          extra_port=$((extra_port + 1))
        fi ;;
    esac
  done < <("$bin/$p" -c "$conf" --dump-config)
done

"$bin/mailctl" -c "$conf" init >/dev/null

domains=$("$bin/mailctl" -c "$conf" domain list)
if ! grep -qiw -- "$domain" <<<"$domains"; then
  "$bin/mailctl" -c "$conf" domain add "$domain"
fi
pwfile=$run/demo-password
new_password=
if [ ! -s "$pwfile" ]; then
  (umask 077; head -c 48 /dev/urandom | base64 | tr -dc 'A-Za-z0-9' | cut -c1-16 >"$pwfile")
  new_password=1
fi
password=$(head -n1 "$pwfile")
users=$("$bin/mailctl" -c "$conf" user list)
if ! grep -qiF -- "$user" <<<"$users"; then
  printf '%s\n' "$password" | "$bin/mailctl" -c "$conf" user add "$user"
elif [ -n "$new_password" ]; then
  printf '%s\n' "$password" | "$bin/mailctl" -c "$conf" user passwd "$user"
fi

# --- start the daemons --------------------------------------------------------------------
names=()
pids=()
groups=()  # pids whose whole process group is stopped (PHP's web server and its workers)
stop_all() {
  local i
  trap - INT TERM EXIT
  for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
    kill -TERM "${pids[$i]}" 2>/dev/null || true
  done
  for pid in "${groups[@]}"; do kill -TERM -- "-$pid" 2>/dev/null || true; done
  for _ in $(seq 50); do
    local alive=0
    for pid in "${pids[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
    [ $alive = 0 ] && break
    sleep 0.1
  done
  for pid in "${pids[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done
  for pid in "${groups[@]}"; do kill -KILL -- "-$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap 'stop_all' EXIT
trap 'say ""; say "Stopping Mailbag..."; stop_all; say "Stopped. State kept in $run (rerun: make run)."; exit 0' INT TERM

# Each daemon gets a session of its own, so the terminal's Ctrl-C reaches only this script,
# which then stops the daemons in order (smtpd first) with SIGTERM.
start() {
  local name=$1
  setsid "$bin/$name" -c "$conf" </dev/null >>"$run/log/$name.log" 2>&1 &
  names+=("$name")
  pids+=($!)
}

# Waits (up to 30 s) until the command in "$@" succeeds; fails if a daemon died.
wait_for() {
  local what=$1; shift
  local i n
  for ((i = 0; i < 300; i++)); do
    "$@" 2>/dev/null && return 0
    for n in "${!pids[@]}"; do
      if ! kill -0 "${pids[$n]}" 2>/dev/null; then
        say "run-demo: ${names[$n]} exited during start-up; last lines of $run/log/${names[$n]}.log:" >&2
        tail -n 20 "$run/log/${names[$n]}.log" >&2
        exit 1
      fi
    done
    sleep 0.1
  done
  die "timed out waiting for $what"
}
unix_socket_up() {
  /usr/bin/python3 -c 'import socket,sys; s=socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET); s.connect(sys.argv[1])' "$1"
}
tcp_up() { (exec 3<>"/dev/tcp/$addr/$port"); }

# The TLS key daemon holds the private key; smtpd and pop3d ask it for each handshake.
start mailbag-tlskey
wait_for "the TLS key daemon's socket" unix_socket_up "$run/spool/private/tlskey"
start mailbag-auth
wait_for "the authentication daemon's socket" unix_socket_up "$run/spool/private/auth"
start queue-manager
wait_for "the queue manager's socket" unix_socket_up "$run/spool/private/submit"
start local
start remote
# The DKIM signer: idle until `mailctl dkim generate` gives a domain a key.
start dkim
# The built-in checks (checks(8)): idle until mailbag.conf turns one on (spf_check = yes, ...).
[ -x "$bin/checks" ] && start checks
start smtpd
wait_for "smtpd on $addr:$port" tcp_up
# pop3d hands every login to the mailbox process, which opens only that user's Maildir.
start pop3-mailbox
wait_for "the POP3 mailbox process's socket" unix_socket_up "$run/spool/private/pop3-mailbox"
start pop3d
pop3_port=$(sed -n 's/^pop3_listen *= *[^:]*:\([0-9]*\).*/\1/p' "$conf")
pop3_up() { (exec 3<>"/dev/tcp/$addr/$pop3_port"); }
sub_port=$(sed -n 's/^submission_listen *= *[^:]*:\([0-9]*\).*/\1/p' "$conf")
wait_for "pop3d on $addr:$pop3_port" pop3_up

imap_text=
if [ -n "$imap" ]; then
  # mailctl writes dovecot.conf (it replaces only its own files); local.conf, the
  # administrator's file, moves Dovecot onto the demo's address and ports.
  imap_port=$((port + 18)) imaps_port=$((port + 19))
  "$bin/mailctl" -c "$conf" dovecot config "$run/dovecot" >/dev/null
  mkdir -p "$run/dovecot/run" "$run/dovecot/state"
  printf '%s\n' "# make run's changes to the Dovecot configuration mailctl wrote." \
    "base_dir = $run/dovecot/run" "state_dir = $run/dovecot/state" "log_path = $run/log/dovecot.log" \
    "listen = $addr" "service imap-login {" "  inet_listener imap {" "    port = $imap_port" "  }" \
    "  inet_listener imaps {" "    port = $imaps_port" "  }" "}" >"$run/dovecot/local.conf"
  setsid /usr/sbin/dovecot -F -c "$run/dovecot/dovecot.conf" </dev/null >>"$run/log/dovecot.log" 2>&1 &
  names+=(dovecot)
  pids+=($!)
  imap_up() { (exec 3<>"/dev/tcp/$addr/$imap_port"); }
  wait_for "Dovecot's IMAP on $addr:$imap_port" imap_up
  imap_text="
  Read it over IMAP (Dovecot: port $imap_port with STARTTLS, $imaps_port with TLS; the same password):
    /usr/bin/python3 -c 'import imaplib,ssl; c=imaplib.IMAP4(\"$addr\", $imap_port); c.starttls(ssl._create_unverified_context()); c.login(\"$user\", open(\"$pwfile\").read().strip()); n=int(c.select()[1][0]); print(c.fetch(str(n), \"(BODY[])\")[1][0][1].decode() if n else \"no mail yet\"); c.logout()'
"
fi

webmail_text=
if [ -n "$webmail" ]; then
  # mailctl writes config.inc.php and roundcube-serve; local.inc.php, the administrator's
  # file, points Roundcube at the demo's Dovecot. Roundcube's state: $run/data/roundcube.
  web_port=$((port + 20))
  "$bin/mailctl" -c "$conf" roundcube config "$run/roundcube" >/dev/null
  printf '%s\n' "<?php" "// make run's changes to the Roundcube configuration mailctl wrote." \
    "\$config['imap_host'] = 'tls://$addr:$imap_port';" >"$run/roundcube/local.inc.php"
  setsid "$run/roundcube/roundcube-serve" "$addr:$web_port" </dev/null >>"$run/log/roundcube.log" 2>&1 &
  names+=(roundcube)
  pids+=($!)
  groups+=($!)
  web_up() {
    /usr/bin/python3 -c 'import sys,urllib.request; sys.exit(b"rcmloginuser" not in urllib.request.urlopen(sys.argv[1], timeout=5).read())' "$1"
  }
  wait_for "Roundcube on http://$addr:$web_port/" web_up "http://$addr:$web_port/"
  webmail_text="
  Read and send it in the browser (Roundcube webmail, through Dovecot and the submission port):
    http://$addr:$web_port/      log in as $user with the password below
"
fi

cat <<EOF

Mailbag demo server is running on $addr:$port
  (${names[*]}: pids ${pids[*]}$( [ "$(id -u)" = 0 ] && echo "; started as root, running as mb-tlskey, mb-authd, mb-queue, mb-vmail, mb-remote, mb-dkim, mb-checks, mb-smtpd, mb-pop3mbox, mb-pop3d"))

  Send a message:
    swaks --server $addr:$port --to $user --from you@example.net
  With STARTTLS (self-signed certificate):
    swaks --server $addr:$port --to $user --from you@example.net --tls
  Send as the demo user through submission (port $sub_port: STARTTLS, then AUTH):
    swaks --server $addr:$sub_port --tls --auth PLAIN --auth-user $user --auth-password \$(cat $pwfile) --from $user --to $user
  It lands in the Maildir:
    ls $run/mail/$domain/demo/new/
  Fetch it over POP3 (port $pop3_port; STLS is offered too):
    /usr/bin/python3 -c 'import poplib; p=poplib.POP3("$addr", $pop3_port); p.user("$user"); p.pass_(open("$pwfile").read().strip()); n=p.stat()[0]; print(b"\n".join(p.retr(n)[1]).decode()) if n else print("no mail yet"); p.quit()'
$imap_text$webmail_text
  Watch the logs (every line about a message starts with its queue id):
    tail -f $run/log/*.log
  Account: $user  password: $password  (kept in $pwfile)
  Config:  $conf

Press Ctrl-C to stop. State stays in $run for the next make run.
EOF

# Wait for Ctrl-C; if a daemon dies on its own, say so and stop the rest.
while true; do
  set +e
  wait -n "${pids[@]}"
  set -e
  for n in "${!pids[@]}"; do
    if ! kill -0 "${pids[$n]}" 2>/dev/null; then
      say "run-demo: ${names[$n]} exited; last lines of $run/log/${names[$n]}.log:" >&2
      tail -n 20 "$run/log/${names[$n]}.log" >&2
      stop_all
      exit 1
    fi
  done
done

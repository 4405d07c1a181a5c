# Mailbag build. Plain GNU make + pkg-config; C++20; objects under $(BUILD)/.
#   make            build everything (installs missing Debian build packages when root)
#   make run        start a private demo server in ./run (see README.md); IMAP=1 adds Dovecot,
#                   WEBMAIL=1 Dovecot and Roundcube's webmail
#   make test       format check, unit tests, fuzz-corpus replays, integration tests, then
#                   the unit tests and a part of the integration tests under ASan and UBSan
#   make bench      benchmark against Postfix and Dovecot (not part of test; BENCH_ARGS=--quick)
#   make fuzz       run every libFuzzer target for FUZZ_SECONDS each
#   make test-sanitize   the whole test suite under ASan and UBSan
#   make test-faults     only the fault-injection, crash and privilege tests (also in make test)
#   make test-tls   testssl.sh against ports 465 and 995 of a private server (minutes)
#   make install    install binaries, man pages, config, users and directories (DESTDIR-aware);
#                   IMAP=dovecot also writes Dovecot's IMAP configuration (mailctl dovecot config);
#                   WEBMAIL=roundcube also Roundcube's (mailctl roundcube config) and a unit
#                   serving it on WEBMAIL_LISTEN (implies IMAP=dovecot)

SHELL := /bin/bash
.DEFAULT_GOAL := all
BUILD ?= build
CXX ?= g++
PYTHON ?= /usr/bin/python3
PREFIX ?= /usr/local
FUZZ_SECONDS ?= 60
SAN ?=
# Compile on every core unless the caller chose a -j of their own (only the top-level
# make decides: a recursive make shares its parent's jobserver).
ifeq ($(MAKELEVEL),0)
ifeq ($(filter -j%,$(MAKEFLAGS)),)
MAKEFLAGS += -j$(shell nproc)
endif
endif

# ---------------------------------------------------------------------------------------
# Debian packages. Installed by apt-get when make runs as root; otherwise make says
# exactly what to install.
BUILD_PKGS := g++ make pkg-config libevent-dev liblmdb-dev libssl-dev libcap-dev \
              libunbound-dev libldns-dev libcrypt-dev libidn2-dev doctest-dev openssl \
              libspf2-dev libopendkim-dev libopendmarc-dev publicsuffix zlib1g-dev libpq-dev
TEST_PKGS := python3 python3-pytest python3-pytest-xdist swaks libnet-ssleay-perl msmtp fetchmail getmail6 \
             mailutils postfix dovecot-pop3d dovecot-imapd unbound lmdb-utils clang clang-format \
             libclang-rt-14-dev libcap2-bin iproute2 procps strace python3-dkim python3-dnspython python3-nacl rspamd \
             opendkim clamav-daemon clamav-milter ldnsutils \
             roundcube-core roundcube-sqlite3 chromium chromium-driver python3-selenium postgresql
PKG_LIBS := libevent libevent_openssl libevent_pthreads openssl libcap lmdb libunbound ldns libcrypt libidn2 zlib

# Peers (postfix, dovecot, unbound) must never start as system services: a temporary
# policy-rc.d refuses service starts during the install, and postfix is preseeded.
# Roundcube is preseeded too: no database set up by dbconfig-common and no web server
# reconfigured or restarted (its PHP comes with apache2-bin and mod_php, which are only
# files: no apache2 service is installed); the tests and make run serve it with php -S.
define ensure_pkgs
@missing=""; for p in $(1); do \
  dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q 'install ok installed' || missing="$$missing $$p"; \
done; \
if [ -n "$$missing" ]; then \
  if [ "$$(id -u)" = 0 ]; then \
    echo "Installing Debian packages:$$missing"; \
    printf '%s\n' "postfix postfix/main_mailer_type select No configuration" \
      "roundcube-core roundcube/dbconfig-install boolean false" \
      "roundcube-core roundcube/reconfigure-webserver multiselect" \
      "roundcube-core roundcube/restart-webserver boolean false" | debconf-set-selections; \
    own_policy=""; if [ ! -e /usr/sbin/policy-rc.d ]; then \
      printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d; chmod 755 /usr/sbin/policy-rc.d; own_policy=1; fi; \
    (apt-get update -q || true) && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $$missing; rc=$$?; \
    if [ -n "$$own_policy" ]; then rm -f /usr/sbin/policy-rc.d; fi; \
    [ $$rc = 0 ] || { echo "apt-get install failed"; exit 1; }; \
  else \
    echo "Missing Debian packages:$$missing"; \
    echo "Install them with:  sudo apt-get install$$missing"; exit 1; \
  fi; \
fi
endef

# pkg-config runs only once the packages are there (first use in a recipe).
PKG_CFLAGS = $(eval PKG_CFLAGS := $$(shell pkg-config --cflags $(PKG_LIBS)))$(PKG_CFLAGS)
PKG_LDLIBS = $(eval PKG_LDLIBS := $$(shell pkg-config --libs $(PKG_LIBS) libpq))$(PKG_LDLIBS)
# libpq's headers only for common/pg/ (the accounts backend on PostgreSQL), so that the
# other objects' command lines, and their compiler cache entries, stay as they were.
PG_CFLAGS = $(eval PG_CFLAGS := $$(shell pkg-config --cflags libpq))$(PG_CFLAGS)

# The sanitized build is compiled without optimisation and with line tables only (-g1 is
# what ASan's and UBSan's reports need): instrumented code at -O1 with full debug
# information compiles four to five times slower, which on a small machine dominated
# make test. DEBUGFLAGS=-g1 also serves make test's plain build for the same reason.
ifeq ($(SAN),1)
  SANFLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
  OPT := -O0
  DEBUGFLAGS ?= -g1
else
  SANFLAGS :=
  OPT := -O2
  DEBUGFLAGS ?= -g
endif
WARN := -Wall -Wextra -Werror -Wshadow=local -Wnon-virtual-dtor
CXXFLAGS_ALL = -std=c++20 $(OPT) $(DEBUGFLAGS) $(WARN) -pthread -I. $(SANFLAGS) $(PKG_CFLAGS) $(CXXFLAGS)
LDFLAGS_ALL = -pthread $(SANFLAGS) $(LDFLAGS)
LDLIBS_ALL = $(PKG_LDLIBS) $(LDLIBS)

DEPS_STAMP := $(BUILD)/.deps-build

# ---------------------------------------------------------------------------------------
# Modules: a folder whose *.cpp (minus main.cpp, *_test.cpp, *_fuzz.cpp) make one library.
lib_srcs = $(filter-out %/main.cpp %_test.cpp %_fuzz.cpp,$(wildcard $(1)/*.cpp))
# common/authd and common/tlskey are programs (the authentication and TLS key daemons),
# not part of the library.
COMMON_SRCS := $(filter-out %_test.cpp %_fuzz.cpp %/doctest_main.cpp %/fuzz_replay_main.cpp common/authd/% common/tlskey/%,$(wildcard common/*.cpp common/*/*.cpp))
COMMON_LIB := $(BUILD)/lib/libcommon.a

# program name -> folder
PROGRAMS := smtpd queue-manager local remote pop3d relayctl mailctl sendmail checks dkim mailbag-auth mailbag-tlskey pop3-mailbox mailbag-checkpassword
dir_smtpd := smtpd
dir_queue-manager := queue-manager
dir_local := delivery/local
dir_remote := delivery/remote
dir_pop3d := pop3d
dir_relayctl := relayctl
dir_mailctl := mailctl
dir_sendmail := mailctl/sendmail
dir_checks := smtpd/checks
dir_dkim := delivery/dkim
dir_mailbag-auth := common/authd
dir_mailbag-tlskey := common/tlskey
dir_pop3-mailbox := pop3d/mailbox
dir_mailbag-checkpassword := pop3d/checkpassword
# folders with a library (a program's folder, plus delivery/ shared by the agents)
MODULES := smtpd queue-manager delivery delivery/local delivery/remote pop3d relayctl mailctl mailctl/sendmail smtpd/checks delivery/dkim \
           common/authd common/tlskey pop3d/mailbox pop3d/checkpassword
libname = $(BUILD)/lib/lib$(subst /,_,$(1)).a
obj = $(patsubst %.cpp,$(BUILD)/obj/%.o,$(1))

# Programs that exist (have a main.cpp) in this tree.
BUILT_PROGRAMS := $(foreach p,$(PROGRAMS),$(if $(wildcard $(dir_$(p))/main.cpp),$(p)))
BIN := $(addprefix $(BUILD)/bin/,$(BUILT_PROGRAMS))
# extra libraries a program links (delivery agents share delivery/)
extra_libs_local := $(call libname,delivery)
extra_libs_remote := $(call libname,delivery)
extra_libs_pop3-mailbox := $(call libname,pop3d)
# mailctl check-dns judges MTA-STS policies with the remote agent's own parsers
extra_libs_mailctl := $(call libname,delivery/remote)
# libraries only the checks process links (libspf2 and libopendmarc have no .pc file)
ldlibs_smtpd/checks = -lspf2 $(shell pkg-config --libs opendkim) -lopendmarc

all: $(BIN)

$(DEPS_STAMP): Makefile
	$(call ensure_pkgs,$(BUILD_PKGS))
	@mkdir -p $(@D) && touch $@

$(BUILD)/obj/common/pg/%.o: CXXFLAGS_ALL += $(PG_CFLAGS)
# The tests that read the tree's own documents (man pages, dialog transcripts) are told
# where it is; only they, so that every other object's command line is the same in any
# checkout and a compiler cache serves them all.
$(call obj,common/config/config_doc_test.cpp common/ipc/ipc_doc_test.cpp smtpd/dialogs_test.cpp): \
  CXXFLAGS_ALL += -DMAILBAG_SOURCE_DIR='"$(CURDIR)"'
$(BUILD)/obj/%.o: %.cpp | $(DEPS_STAMP)
	@mkdir -p $(@D)
	$(CXX) $(CXXFLAGS_ALL) -MMD -MP -c $< -o $@

$(COMMON_LIB): $(call obj,$(COMMON_SRCS))
	@mkdir -p $(@D)
	@rm -f $@
	ar rcs $@ $^

define module_lib
$(call libname,$(1)): $(call obj,$(call lib_srcs,$(1)))
	@mkdir -p $$(@D)
	@rm -f $$@
	ar rcs $$@ $$^ $$(if $$^,,&& true)
endef
$(foreach m,$(MODULES),$(eval $(call module_lib,$(m))))

define program
$(BUILD)/bin/$(1): $(call obj,$(dir_$(1))/main.cpp) $(call libname,$(dir_$(1))) $(extra_libs_$(1)) $(COMMON_LIB)
	@mkdir -p $$(@D)
	$$(CXX) $$(LDFLAGS_ALL) -o $$@ $$^ $$(LDLIBS_ALL) $$(ldlibs_$(dir_$(1)))
endef
$(foreach p,$(BUILT_PROGRAMS),$(eval $(call program,$(p))))

# ---------------------------------------------------------------------------------------
# Unit tests: one doctest binary per folder that has *_test.cpp files.
TEST_DIRS := $(sort $(patsubst %/,%,$(dir $(wildcard common/*_test.cpp common/*/*_test.cpp $(addsuffix /*_test.cpp,$(MODULES))))))
test_bin = $(BUILD)/tests/$(subst /,_,$(1))_test
# common/* subfolders test against libcommon only (common/authd and common/tlskey,
# programs, also their own)
test_libs = $(if $(filter common%,$(1)),$(if $(filter common/authd common/tlskey,$(1)),$(call libname,$(1))),$(call libname,$(1)) $(if $(filter delivery/%,$(1)),$(call libname,delivery)) $(extra_libs_$(1)))
define test_program
$(call test_bin,$(1)): $(call obj,$(wildcard $(1)/*_test.cpp) common/testing/doctest_main.cpp) $(call test_libs,$(1)) $(COMMON_LIB)
	@mkdir -p $$(@D)
	$$(CXX) $$(LDFLAGS_ALL) -o $$@ $$^ $$(LDLIBS_ALL) $$(ldlibs_$(1))
endef
$(foreach d,$(TEST_DIRS),$(eval $(call test_program,$(d))))
UNIT_TESTS := $(foreach d,$(TEST_DIRS),$(call test_bin,$(d)))

# Fuzz targets, built with g++ as plain programs that replay their seed corpus
# (tests/fuzz/corpus/NAME/), so every corpus runs in make test.
FUZZ_SRCS := $(wildcard common/*/*_fuzz.cpp $(addsuffix /*_fuzz.cpp,$(MODULES)))
fuzz_name = $(basename $(notdir $(1)))
fuzz_dir_of = $(patsubst %/,%,$(dir $(1)))
# the modules a fuzz target links besides common/: its folder's, and delivery/ for the
# delivery agents' targets
fuzz_modules = $(if $(filter common%,$(1)),,$(call fuzz_dir_of,$(1))) \
               $(if $(filter delivery/%,$(call fuzz_dir_of,$(1))),delivery)
define fuzz_replay
$(BUILD)/fuzz-replay/$(call fuzz_name,$(1)): $(call obj,$(1) common/testing/fuzz_replay_main.cpp) $(foreach m,$(call fuzz_modules,$(1)),$(call libname,$(m))) $(COMMON_LIB)
	@mkdir -p $$(@D)
	$$(CXX) $$(LDFLAGS_ALL) -o $$@ $$^ $$(LDLIBS_ALL) $$(ldlibs_$(call fuzz_dir_of,$(1)))
endef
$(foreach f,$(FUZZ_SRCS),$(eval $(call fuzz_replay,$(f))))
FUZZ_REPLAYS := $(foreach f,$(FUZZ_SRCS),$(BUILD)/fuzz-replay/$(call fuzz_name,$(f)))

test-deps:
	$(call ensure_pkgs,$(BUILD_PKGS) $(TEST_PKGS))

unit: $(UNIT_TESTS) $(FUZZ_REPLAYS)
	@set -e; for t in $(UNIT_TESTS); do echo "== $$t"; $$t --no-intro=true --minimal=true; done
	@set -e; for f in $(FUZZ_REPLAYS); do n=$$(basename $$f); \
	  echo "== corpus $$n"; $$f tests/fuzz/corpus/$$n; done

integration: all
	MAILBAG_BUILD=$(CURDIR)/$(BUILD) $(PYTHON) -m pytest -q -n 2 -p no:cacheprovider tests/integration tests/crash tests/regress

# The integration tests that make test also runs against the ASan/UBSan build: every
# daemon's network, IPC and queue-file parsers under real traffic and corrupt input, kept
# small because the sanitized build itself takes half of make test's time
# (make test-sanitize runs the whole suite under the sanitizers).
SAN_TESTS ?= $(addprefix tests/integration/,test_core.py test_chunking.py test_pop3.py test_submission.py \
               test_milter.py test_faults_corrupt.py test_faults_sockets.py) tests/regress

test: test-deps
	$(MAKE) --no-print-directory format-check
	$(MAKE) --no-print-directory DEBUGFLAGS=-g1 all unit
	$(MAKE) --no-print-directory integration
	$(MAKE) --no-print-directory BUILD=build-san SAN=1 all unit
	MAILBAG_BUILD=$(CURDIR)/build-san $(PYTHON) -m pytest -q -n 2 -p no:cacheprovider $(SAN_TESTS)

test-sanitize: test-deps
	$(MAKE) --no-print-directory BUILD=build-san SAN=1 all unit
	$(MAKE) --no-print-directory BUILD=build-san SAN=1 integration

FAULT_TESTS := tests/crash $(wildcard tests/integration/test_faults*.py tests/integration/test_hardening*.py \
               tests/integration/test_install*.py tests/integration/test_privileges.py)
test-faults: test-deps all
	MAILBAG_BUILD=$(CURDIR)/$(BUILD) $(PYTHON) -m pytest -q -n 2 -p no:cacheprovider $(FAULT_TESTS)

# testssl.sh's full scan of the implicit-TLS ports (about a minute each); the quick
# protocol and cipher checks (tests/integration/test_tls.py) are part of make test.
test-tls: all
	$(call ensure_pkgs,$(BUILD_PKGS) $(TEST_PKGS) testssl.sh)
	MAILBAG_TESTSSL=1 MAILBAG_BUILD=$(CURDIR)/$(BUILD) $(PYTHON) -m pytest -q -s -p no:cacheprovider \
	  tests/integration/test_tls_testssl.py

# libFuzzer builds with clang: objects compiled once into $(FUZZ_BUILD)/obj with coverage
# instrumentation, ASan and UBSan (in parallel, like the normal build), one binary per
# target; each target then runs FUZZ_SECONDS on a copy of its corpus.
FUZZ_BUILD := $(BUILD)/fuzz
FUZZ_CXXFLAGS = -std=c++20 -O1 -g -I. -fsanitize=fuzzer-no-link,address,undefined $(PKG_CFLAGS) $(PG_CFLAGS)
fuzz_obj = $(patsubst %.cpp,$(FUZZ_BUILD)/obj/%.o,$(1))
fuzz_srcs = $(1) $(foreach m,$(call fuzz_modules,$(1)),$(call lib_srcs,$(m))) $(COMMON_SRCS)
FUZZ_TARGETS := $(foreach f,$(FUZZ_SRCS),$(FUZZ_BUILD)/$(call fuzz_name,$(f)))

$(FUZZ_BUILD)/obj/%.o: %.cpp
	@mkdir -p $(@D)
	clang++ $(FUZZ_CXXFLAGS) -MMD -MP -c $< -o $@

define fuzz_target
$(FUZZ_BUILD)/$(call fuzz_name,$(1)): $(call fuzz_obj,$(call fuzz_srcs,$(1)))
	clang++ -fsanitize=fuzzer,address,undefined -o $$@ $$^ $(PKG_LDLIBS) -pthread $$(ldlibs_$(call fuzz_dir_of,$(1)))
endef
$(foreach f,$(FUZZ_SRCS),$(eval $(call fuzz_target,$(f))))

fuzz-build: $(FUZZ_TARGETS)

fuzz: test-deps
	$(MAKE) --no-print-directory fuzz-build
	@set -e; for t in $(FUZZ_TARGETS); do n=$$(basename $$t); \
	  mkdir -p $(FUZZ_BUILD)/corpus/$$n; \
	  cp -n tests/fuzz/corpus/$$n/* $(FUZZ_BUILD)/corpus/$$n/ 2>/dev/null || true; \
	  echo "== fuzzing $$n for $(FUZZ_SECONDS)s"; \
	  $$t -max_total_time=$(FUZZ_SECONDS) -max_len=65536 $(FUZZ_BUILD)/corpus/$$n; \
	done

run: all
	@MAILBAG_DEMO_IMAP=$(IMAP) MAILBAG_DEMO_WEBMAIL=$(WEBMAIL) tests/tools/run-demo.sh $(CURDIR)/$(BUILD)/bin $(CURDIR)/run

bench: all
	$(call ensure_pkgs,$(BUILD_PKGS) $(TEST_PKGS) linux-perf)
	$(PYTHON) tests/bench/bench.py --bin $(CURDIR)/$(BUILD)/bin $(BENCH_ARGS)

# make install: binaries, man pages, systemd units, an example config (never over an
# existing one), then -- when installing for real as root -- `mailctl init`, which creates
# the users, groups and directories with their owners and modes. Idempotent; an upgrade
# keeps the queue, the databases and the mailboxes (init never removes anything).
SBINDIR ?= $(PREFIX)/sbin
MANDIR ?= $(PREFIX)/share/man
UNITDIR ?= /etc/systemd/system
CONFDIR ?= /etc/mailbag
# the link-up hook (mailctl/mailbag-linkup.in) for ifupdown and NetworkManager
IFUPDIR ?= /etc/network/if-up.d
NMDISPATCHDIR ?= /etc/NetworkManager/dispatcher.d
# where programs look for sendmail, newaliases and mailq: links to ours go there unless another
# MTA's files are already there (never replaced); the cron.d example for relayctl expire
MTALINKDIR ?= /usr/sbin
EXAMPLEDIR ?= $(PREFIX)/share/doc/mailbag/examples
UNIT_SRCS := $(wildcard */*.service.in */*/*.service.in)
# WEBMAIL=roundcube: Roundcube through PHP's built-in web server on this address (for
# other hosts, a TLS reverse proxy in front); it needs Dovecot's IMAP.
WEBMAIL_LISTEN ?= 127.0.0.1:8080
ifeq ($(WEBMAIL),roundcube)
ifeq ($(IMAP),)
override IMAP := dovecot
endif
endif
install: all
	@case "$(IMAP)" in dovecot | "") ;; *) echo "IMAP=$(IMAP): only IMAP=dovecot is known; nothing installed"; exit 1;; esac
	@case "$(WEBMAIL)" in roundcube | "") ;; *) echo "WEBMAIL=$(WEBMAIL): only WEBMAIL=roundcube is known; nothing installed"; exit 1;; esac
	@if [ "$(IMAP)" = dovecot ] && [ ! -x /usr/sbin/dovecot ]; then \
	  echo "IMAP=dovecot: Dovecot is not installed (apt-get install dovecot-imapd); nothing installed"; exit 1; fi
	@if [ "$(WEBMAIL)" = roundcube ] && { [ ! -r /var/lib/roundcube/public_html/index.php ] || ! command -v php >/dev/null; }; then \
	  echo "WEBMAIL=roundcube: Roundcube is not installed (apt-get install --no-install-recommends roundcube-core roundcube-sqlite3); nothing installed"; exit 1; fi
	install -d -m 0755 $(DESTDIR)$(SBINDIR) $(DESTDIR)$(MANDIR)/man5 $(DESTDIR)$(MANDIR)/man7 \
	  $(DESTDIR)$(MANDIR)/man8 $(DESTDIR)$(UNITDIR) $(DESTDIR)$(CONFDIR)
	@set -e; for p in $(filter-out sendmail,$(BUILT_PROGRAMS)); do \
	  echo "install $(DESTDIR)$(SBINDIR)/$$p"; install -m 0755 $(BUILD)/bin/$$p $(DESTDIR)$(SBINDIR)/$$p; done
	@set -e; if [ -e $(BUILD)/bin/sendmail ]; then \
	  install -m 0755 $(BUILD)/bin/sendmail $(DESTDIR)$(SBINDIR)/sendmail; \
	  if [ "$$(id -u)" = 0 ] && getent group mb-drop >/dev/null; then \
	    chgrp mb-drop $(DESTDIR)$(SBINDIR)/sendmail && chmod 2755 $(DESTDIR)$(SBINDIR)/sendmail; \
	    echo "install $(DESTDIR)$(SBINDIR)/sendmail (setgid mb-drop)"; \
	  else echo "install $(DESTDIR)$(SBINDIR)/sendmail (not setgid: run make install as root after mailctl init)"; fi; fi
	@set -e; for m in man/*.[578]; do s=$${m##*.}; install -m 0644 $$m $(DESTDIR)$(MANDIR)/man$$s/; done
	@set -e; for u in $(UNIT_SRCS); do n=$$(basename $$u .in); \
	  sed -e 's|@SBINDIR@|$(SBINDIR)|g' -e 's|@CONFIG@|$(CONFDIR)/mailbag.conf|g' $$u > $(DESTDIR)$(UNITDIR)/$$n; \
	  chmod 0644 $(DESTDIR)$(UNITDIR)/$$n; echo "install $(DESTDIR)$(UNITDIR)/$$n"; done
	install -m 0644 mailctl/mailbag.target $(DESTDIR)$(UNITDIR)/mailbag.target
	install -d -m 0755 $(DESTDIR)$(IFUPDIR) $(DESTDIR)$(NMDISPATCHDIR)
	sed -e 's|@SBINDIR@|$(SBINDIR)|g' -e 's|@CONFIG@|$(CONFDIR)/mailbag.conf|g' mailctl/mailbag-linkup.in \
	  > $(DESTDIR)$(IFUPDIR)/mailbag && chmod 0755 $(DESTDIR)$(IFUPDIR)/mailbag
	install -m 0755 $(DESTDIR)$(IFUPDIR)/mailbag $(DESTDIR)$(NMDISPATCHDIR)/50-mailbag
	install -m 0644 relayctl/mailbag-relayctl-expire.timer $(DESTDIR)$(UNITDIR)/mailbag-relayctl-expire.timer
	install -m 0644 mailctl/mailbag-tlsrpt.timer $(DESTDIR)$(UNITDIR)/mailbag-tlsrpt.timer
	install -d -m 0755 $(DESTDIR)$(EXAMPLEDIR)
	@set -e; for c in relayctl/mailbag-relayctl.cron.in mailctl/mailbag-tlsrpt.cron.in; do n=$$(basename $$c .cron.in); \
	  sed -e 's|@SBINDIR@|$(SBINDIR)|g' -e 's|@CONFIG@|$(CONFDIR)/mailbag.conf|g' $$c > $(DESTDIR)$(EXAMPLEDIR)/cron.d-$$n; \
	  chmod 0644 $(DESTDIR)$(EXAMPLEDIR)/cron.d-$$n; echo "install $(DESTDIR)$(EXAMPLEDIR)/cron.d-$$n"; done
	@set -e; if [ -e $(BUILD)/bin/sendmail ] && [ "$(SBINDIR)" != "$(MTALINKDIR)" ]; then \
	  install -d -m 0755 $(DESTDIR)$(MTALINKDIR); for n in sendmail newaliases; do l=$(DESTDIR)$(MTALINKDIR)/$$n; \
	    if [ -L $$l ] && [ "$$(readlink $$l)" = "$(SBINDIR)/sendmail" ]; then :; \
	    elif [ -e $$l ] || [ -L $$l ]; then echo "keeping $$l: another MTA's (Mailbag's is $(SBINDIR)/sendmail)"; \
	    else ln -s $(SBINDIR)/sendmail $$l && echo "link $$l -> $(SBINDIR)/sendmail"; fi; done; fi
	@set -e; if [ "$(SBINDIR)" != "$(MTALINKDIR)" ]; then l=$(DESTDIR)$(MTALINKDIR)/mailq; \
	  if [ -L $$l ] && [ "$$(readlink $$l)" = "$(SBINDIR)/mailctl" ]; then :; \
	  elif [ -e $$l ] || [ -L $$l ]; then echo "keeping $$l: another MTA's (Mailbag's is $(SBINDIR)/mailctl queue list)"; \
	  else install -d -m 0755 $(DESTDIR)$(MTALINKDIR) && ln -s $(SBINDIR)/mailctl $$l && echo "link $$l -> $(SBINDIR)/mailctl"; fi; fi
	@if [ -e $(DESTDIR)$(CONFDIR)/mailbag.conf ]; then echo "keeping existing $(DESTDIR)$(CONFDIR)/mailbag.conf"; \
	else $(BUILD)/bin/mailctl config-example > $(DESTDIR)$(CONFDIR)/mailbag.conf && \
	  chmod 0644 $(DESTDIR)$(CONFDIR)/mailbag.conf && echo "install $(DESTDIR)$(CONFDIR)/mailbag.conf (example: edit hostname)"; fi
	@if [ -z "$(DESTDIR)" ] && [ "$$(id -u)" = 0 ]; then \
	  $(SBINDIR)/mailctl -c $(CONFDIR)/mailbag.conf init && \
	  if [ -e $(SBINDIR)/sendmail ]; then chgrp mb-drop $(SBINDIR)/sendmail && chmod 2755 $(SBINDIR)/sendmail; fi; \
	  echo "Installed. Next: edit $(CONFDIR)/mailbag.conf, add a domain and a user with mailctl, then"; \
	  echo "  systemctl daemon-reload && systemctl enable --now mailbag.target"; \
	else echo "Staged into '$(DESTDIR)'; run 'mailctl init' as root on the target machine."; fi
	@if [ "$(IMAP)" = dovecot ]; then \
	  if [ ! -x /usr/sbin/dovecot ]; then \
	    echo "IMAP=dovecot: Dovecot is not installed (apt-get install dovecot-imapd); no IMAP configuration written"; exit 1; fi; \
	  if [ -z "$(DESTDIR)" ] && [ "$$(id -u)" = 0 ]; then \
	    $(SBINDIR)/mailctl -c $(CONFDIR)/mailbag.conf dovecot config $(CONFDIR)/dovecot && \
	    echo "IMAP: start Dovecot with: dovecot -c $(CONFDIR)/dovecot/dovecot.conf"; \
	  else echo "IMAP=dovecot: run 'mailctl dovecot config' as root on the target machine."; fi; \
	elif [ -n "$(IMAP)" ]; then echo "IMAP=$(IMAP): only IMAP=dovecot is known"; exit 1; fi
	@if [ "$(WEBMAIL)" = roundcube ]; then \
	  sed -e 's|@CONFDIR@|$(CONFDIR)|g' -e 's|@LISTEN@|$(WEBMAIL_LISTEN)|g' mailctl/mailbag-webmail.unit.in \
	    > $(DESTDIR)$(UNITDIR)/mailbag-webmail.service && chmod 0644 $(DESTDIR)$(UNITDIR)/mailbag-webmail.service && \
	  echo "install $(DESTDIR)$(UNITDIR)/mailbag-webmail.service"; \
	  if [ -z "$(DESTDIR)" ] && [ "$$(id -u)" = 0 ]; then \
	    $(SBINDIR)/mailctl -c $(CONFDIR)/mailbag.conf roundcube config $(CONFDIR)/roundcube && \
	    echo "Webmail: start Dovecot (above), then: systemctl daemon-reload && systemctl enable --now mailbag-webmail" && \
	    echo "  (Roundcube on http://$(WEBMAIL_LISTEN)/; for other hosts put a TLS reverse proxy in front)"; \
	  else echo "WEBMAIL=roundcube: run 'mailctl roundcube config' as root on the target machine."; fi; \
	elif [ -n "$(WEBMAIL)" ]; then echo "WEBMAIL=$(WEBMAIL): only WEBMAIL=roundcube is known"; exit 1; fi

clean:
	rm -rf $(BUILD) build-san

# The house format is .clang-format; `clang-format -i FILE` fixes a file.
format-check:
	@files=$$(git ls-files '*.cpp' '*.hpp' 2>/dev/null); \
	  [ -n "$$files" ] || files=$$(find . -path './build*' -prune -o \( -name '*.cpp' -o -name '*.hpp' \) -print); \
	  clang-format --dry-run --Werror $$files || { echo "format-check: run clang-format -i on the files above"; exit 1; }

.PHONY: all test unit integration test-deps test-sanitize test-faults test-tls fuzz fuzz-build run bench install clean format-check
.DELETE_ON_ERROR:

-include $(shell find $(BUILD)/obj $(FUZZ_BUILD)/obj -name '*.d' 2>/dev/null)

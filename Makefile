# ngx_jpulse: the nginx module, cachectl, and their tests.
#
#   make            build build/ngx_http_jpulse_module.so and build/cachectl
#   make test       deps, build, unit tests, Test::Nginx suites (t/) in
#                   TEST_JOBS=3 shards run side by side (t/README.md)
#   make run        nginx + module on 127.0.0.1:8080 with examples/
#   make bench      bench/run: feature vs baseline ratios (BENCH_ARGS=search:
#                   jpulse_search against the Mongo-wire test server)
#   make bench-render  the template engine: renders/s on one core
#   make bench-cachectl  edit -> visible on every worker (p50, max), a
#                   1,000-file deploy (CACHECTL=/path: another binary)
#   make bench-report  bench/report/run: ngx_jpulse against the Node peer
#                   (per core, all cores), latency, invalidation, the
#                   curves: bench/results/report.md + charts (< 15 min;
#                   REPORT_ARGS=--quick: a smoke run of every part)
#   make chaos      cachectl under long and hostile cases (chaos/;
#                   CHAOS=name: one of them; CACHECTL=/path), and the
#                   fault-injection suite (chaos/faults)
#   make chaos-faults  faults injected into a small cluster under load
#                   (FAULTS="redis-kill ..." a subset; FAULTS_ARGS=--quick,
#                   --asan, --sentinel, --cluster); then the same with
#                   Redis Sentinel (failovers) and with Redis Cluster
#                   (failovers, a reshard): docs/reliability.md
#   make deps       install the Debian packages (as root), the Node
#                   peer of the session suites (peers/node, npm ci) and
#                   the Mongo-wire test server (scripts/mongo-test-server)
#   make asan       unit tests and cachectl under ASan + UBSan
#   make asan-t     the suites against the module and cachectl under
#                   ASan + UBSan
#   make fuzz       libFuzzer targets (FUZZ_SECONDS each)
#   make deb        Debian packages into build/deb/, lintian (docs/packages.md)
#
# NGX_SRC=DIR builds against another nginx source tree (default: a copy of
# Debian's nginx-dev tree, which matches /usr/sbin/nginx).

NGX_SRC     ?= /usr/share/nginx/src
BUILD       ?= build
CC          ?= cc

NGX_BUILD    = $(BUILD)/nginx
MODULE       = $(BUILD)/ngx_http_jpulse_module.so
CTL_BIN      = $(BUILD)/cachectl

NGX_CONFIGURE_FLAGS = --with-compat --with-threads \
                      --with-http_stub_status_module --with-debug

WARN         = -Wall -Wextra -Wpointer-arith -Wshadow -Wstrict-prototypes \
               -Wmissing-prototypes -Wno-unused-parameter -Werror
CFLAGS      ?= -O2 -g
ALL_CFLAGS   = -std=gnu11 $(WARN) $(CFLAGS) -Ilibjpulse \
               $(shell pkg-config --cflags jansson 2>/dev/null)
LIB_LIBS     = $(shell pkg-config --libs jansson 2>/dev/null || echo -ljansson) \
               $(shell pkg-config --libs libcrypto 2>/dev/null || echo -lcrypto) \
               $(shell pkg-config --libs libpcre2-8 2>/dev/null || echo -lpcre2-8)
CTL_LIBS     = $(shell pkg-config --libs hiredis 2>/dev/null || echo -lhiredis) \
               $(shell pkg-config --libs libmongoc-1.0) $(LIB_LIBS)
CTL_CFLAGS   = $(shell pkg-config --cflags libmongoc-1.0)

# jp_bson_json.c needs libbson: only the module (config) and its own
# test and fuzz target build it
BSON_JSON    = libjpulse/jp_bson_json.c
BSON_CFLAGS  = $(shell pkg-config --cflags libbson-1.0)
BSON_LIBS    = $(shell pkg-config --libs libbson-1.0)
LIB_SRCS     = $(filter-out $(BSON_JSON),$(wildcard libjpulse/*.c))
LIB_HDRS     = $(wildcard libjpulse/*.h)
MOD_SRCS     = $(wildcard ngx_jpulse_module/*.c ngx_jpulse_module/*.h)
CTL_SRCS     = $(wildcard cachectl-daemon/*.c)
CTL_HDRS     = $(wildcard cachectl-daemon/*.h)
# libjpulse compiled once, for cachectl and the unit tests (each test
# compiling every source itself took 3 of CI's 12 minutes)
LIB_OBJS     = $(patsubst libjpulse/%.c,$(BUILD)/lib/%.o,$(LIB_SRCS))
LIB_AR       = $(BUILD)/libjpulse.a
UNIT_SRCS    = $(wildcard t/unit/test_*.c)
UNIT_BINS    = $(patsubst t/unit/%.c,$(BUILD)/unit/%,$(UNIT_SRCS))

.PHONY: all module cachectl deps test unit t run bench bench-render \
        bench-cachectl bench-report chaos asan \
        asan-t fuzz clean deb

all: module cachectl

module: $(MODULE)
cachectl: $(CTL_BIN)

deps:
	@scripts/deps.sh
	@scripts/npm-deps.sh
	@scripts/mongo-test-server/install.sh

# which tree and flags the copy was configured with: another NGX_SRC
# must configure again
NGX_STAMP    = $(BUILD)/nginx-src.stamp

.PHONY: force
$(NGX_STAMP): force
	@mkdir -p $(BUILD)
	@echo "$(NGX_SRC) $(NGX_CONFIGURE_FLAGS)" | cmp -s - $@ \
	    || echo "$(NGX_SRC) $(NGX_CONFIGURE_FLAGS)" > $@

# configure writes objs/ into the current directory: work on a copy
$(NGX_BUILD)/objs/Makefile: config $(NGX_STAMP)
	rm -rf $(NGX_BUILD)
	mkdir -p $(BUILD)
	cp -r $(NGX_SRC) $(NGX_BUILD)
	cd $(NGX_BUILD) && ./configure $(NGX_CONFIGURE_FLAGS) \
	    --add-dynamic-module=$(CURDIR) > configure.log \
	    || { tail -30 configure.log; exit 1; }

$(MODULE): $(NGX_BUILD)/objs/Makefile $(MOD_SRCS) $(LIB_SRCS) $(BSON_JSON) \
	    $(LIB_HDRS)
	$(MAKE) -C $(NGX_BUILD) -f objs/Makefile modules
	@# a new file, not an overwrite: running nginx processes map the old one
	cp $(NGX_BUILD)/objs/ngx_http_jpulse_module.so $@.tmp
	mv -f $@.tmp $@

$(BUILD)/lib/%.o: libjpulse/%.c $(LIB_HDRS)
	@mkdir -p $(BUILD)/lib
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(LIB_AR): $(LIB_OBJS)
	rm -f $@
	$(AR) rcs $@ $(LIB_OBJS)

$(CTL_BIN): $(CTL_SRCS) $(CTL_HDRS) $(LIB_AR) $(LIB_HDRS)
	@mkdir -p $(BUILD)
	$(CC) $(ALL_CFLAGS) $(CTL_CFLAGS) -o $@ $(CTL_SRCS) $(LIB_AR) \
	    $(CTL_LIBS)

$(BUILD)/unit/test_bson_json: t/unit/test_bson_json.c $(BSON_JSON) \
	    $(LIB_HDRS)
	@mkdir -p $(BUILD)/unit
	$(CC) $(ALL_CFLAGS) $(BSON_CFLAGS) -o $@ $< $(BSON_JSON) -lcmocka \
	    $(BSON_LIBS) $(LIB_LIBS)

$(BUILD)/unit/%: t/unit/%.c $(wildcard t/unit/*.h) $(LIB_AR) $(LIB_HDRS)
	@mkdir -p $(BUILD)/unit
	$(CC) $(ALL_CFLAGS) -o $@ $< $(LIB_AR) -lcmocka $(LIB_LIBS)

# t/840's tool: jp_redis_cluster against a real cluster, over hiredis,
# with cachectl's reply conversion
TOOL_BINS    = $(BUILD)/unit/jp_cluster_tool
TOOL_CTL     = cachectl-daemon/cachectl_resp.c

$(BUILD)/unit/jp_cluster_tool: t/unit/jp_cluster_tool.c $(TOOL_CTL) \
	    $(TOOL_CTL:.c=.h) $(LIB_AR) $(LIB_HDRS)
	@mkdir -p $(BUILD)/unit
	$(CC) $(ALL_CFLAGS) -Icachectl-daemon -o $@ $< $(TOOL_CTL) $(LIB_AR) \
	    $(shell pkg-config --libs hiredis 2>/dev/null || echo -lhiredis) \
	    $(LIB_LIBS)

unit: $(UNIT_BINS) $(TOOL_BINS)
	@for t in $(UNIT_BINS); do echo "unit: $$t"; $$t || exit 1; done

# the Test::Nginx-format suites only (the module must be built), in
# TEST_JOBS shards side by side (t/README.md, "Shards"; 1: one prove)
TEST_JOBS   ?= 3

t: all
	t/run --jobs $(TEST_JOBS)

test: deps
	$(MAKE) all $(UNIT_BINS) $(TOOL_BINS)
	t/run --unit --jobs $(TEST_JOBS)
	prove bench/report/t/

run: deps
	$(MAKE) all
	examples/run

bench: deps
	$(MAKE) all $(BUILD)/bench/search_direct
	bench/run $(BENCH_ARGS)

# bench/run search-direct's baseline: jpulse_search's query, straight to
# MongoDB with libmongoc (bench/search/search_direct.c)
$(BUILD)/bench/search_direct: bench/search/search_direct.c $(LIB_SRCS) \
                              $(LIB_HDRS)
	@mkdir -p $(BUILD)/bench
	$(CC) $(ALL_CFLAGS) $(CTL_CFLAGS) -o $@ $< $(LIB_SRCS) \
	    $(shell pkg-config --libs libmongoc-1.0) $(LIB_LIBS) -lpthread

# the template engine on one core: render-only vs compile + render
$(BUILD)/bench/render_bench: bench/render/render_bench.c $(LIB_SRCS) \
                             $(LIB_HDRS)
	@mkdir -p $(BUILD)/bench
	$(CC) -std=gnu11 $(WARN) -O2 -Ilibjpulse -o $@ $< $(LIB_SRCS) $(LIB_LIBS)

bench-render: $(BUILD)/bench/render_bench
	$(BUILD)/bench/render_bench

# everything issue 15 measures, then one report with gnuplot charts
# (bench/report/README.md); `bench/report/run --plot-only DIR` redraws it
REPORT_ARGS ?=

bench-report: deps
	$(MAKE) all
	bench/report/run $(REPORT_ARGS)

# cachectl: file write -> every worker of two nginx instances serves it.
# CACHECTL=/path measures that binary instead of $(CTL_BIN) (which is
# then not built). Needs nginx and redis-server (make deps).
CACHECTL    ?=

bench-cachectl:
	@test -n "$(CACHECTL)" || $(MAKE) cachectl
	@test -e $(MODULE) || $(MAKE) module
	CACHECTL="$(CACHECTL)" bench/cachectl/latency

# chaos/: the long cases of issue 11 (1M session fields, 100k files,
# wedges, idle load, deploy bursts) and issue 16's faults, each a few
# minutes at most
CHAOS       ?=

chaos:
	@test -n "$(CACHECTL)" || $(MAKE) cachectl
	CACHECTL="$(CACHECTL)" chaos/run $(CHAOS)

# chaos/faults (issue 16): Redis (one server, Sentinel, Cluster), cachectl,
# nginx and MongoDB faults under wrk load, with signed-in users; --asan
# needs build/asan/ (make asan and build/asan/ngx_http_jpulse_module.so)
FAULTS      ?=
FAULTS_ARGS ?=

.PHONY: chaos-faults
chaos-faults:
	@test -n "$(CACHECTL)" || $(MAKE) cachectl
	@test -e $(MODULE) || $(MAKE) module
	CACHECTL="$(CACHECTL)" chaos/faults $(FAULTS_ARGS) $(FAULTS)
	@# the Sentinel and Redis Cluster passes: their faults by default, or
	@# those named
	test -n "$(FAULTS)" || CACHECTL="$(CACHECTL)" chaos/faults --sentinel \
	    $(FAULTS_ARGS)
	test -n "$(FAULTS)" || CACHECTL="$(CACHECTL)" chaos/faults --cluster \
	    $(FAULTS_ARGS)

# libjpulse and cachectl under AddressSanitizer and UBSan
ASAN_CFLAGS  = -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer \
               -fno-sanitize-recover=all

asan:
	$(MAKE) BUILD=$(BUILD)/asan CC=clang CFLAGS="$(ASAN_CFLAGS)" \
	    $(BUILD)/asan/cachectl \
	    $(patsubst t/unit/%.c,$(BUILD)/asan/unit/%,$(UNIT_SRCS))
	@for t in $(patsubst t/unit/%.c,$(BUILD)/asan/unit/%,$(UNIT_SRCS)); do \
	    echo "asan: $$t"; $$t || exit 1; done

# the module under ASan + UBSan, preloaded into Debian's nginx, against
# every suite (but the runner's own, whose valgrind fixtures cannot share
# a process with ASan); any sanitizer report fails it
ASAN_NGX_BUILD = $(BUILD)/asan-nginx
ASAN_MODULE    = $(BUILD)/asan/ngx_http_jpulse_module.so

$(ASAN_MODULE): $(MOD_SRCS) $(LIB_SRCS) $(BSON_JSON) $(LIB_HDRS) config \
	    $(NGX_STAMP)
	rm -rf $(ASAN_NGX_BUILD)
	mkdir -p $(BUILD)/asan
	cp -r $(NGX_SRC) $(ASAN_NGX_BUILD)
	cd $(ASAN_NGX_BUILD) && ./configure $(NGX_CONFIGURE_FLAGS) \
	    --with-cc-opt="-fsanitize=address,undefined -fno-omit-frame-pointer \
	        -fno-sanitize-recover=all" \
	    --with-ld-opt="-fsanitize=address,undefined" \
	    --add-dynamic-module=$(CURDIR) > configure.log \
	    || { tail -30 configure.log; exit 1; }
	$(MAKE) -C $(ASAN_NGX_BUILD) -f objs/Makefile modules
	cp $(ASAN_NGX_BUILD)/objs/ngx_http_jpulse_module.so $@.tmp
	mv -f $@.tmp $@

asan-t: all $(ASAN_MODULE) asan
	rm -rf $(BUILD)/asan-reports && mkdir -p $(BUILD)/asan-reports
	chmod 1777 $(BUILD)/asan-reports
	TEST_NGINX_CACHECTL=$(CURDIR)/$(BUILD)/asan/cachectl \
	JPULSE_ASAN_DIR=$(CURDIR)/$(BUILD)/asan-reports \
	TEST_NGINX_BINARY=$(CURDIR)/t/nginx-asan \
	TEST_NGINX_LOAD_MODULES=$(CURDIR)/$(ASAN_MODULE) \
	    t/run $(filter-out t/000-runner.t,$(wildcard t/*.t))
	@if [ -n "$$(ls $(BUILD)/asan-reports)" ]; then \
	    cat $(BUILD)/asan-reports/*; exit 1; fi
	@echo "asan-t: no sanitizer reports"

# libFuzzer targets for every parser of untrusted input, FUZZ_SECONDS each
FUZZ_SECONDS ?= 30
FUZZ_SRCS     = $(wildcard fuzz/fuzz_*.c)
FUZZ_BINS     = $(patsubst fuzz/%.c,$(BUILD)/fuzz/%,$(FUZZ_SRCS))

$(BUILD)/fuzz/%: fuzz/%.c $(wildcard fuzz/*.h) $(LIB_SRCS) $(LIB_HDRS)
	@mkdir -p $@-corpus
	clang -g -O1 -fsanitize=fuzzer,address,undefined -Ilibjpulse \
	    -o $@ $< $(LIB_SRCS) $(LIB_LIBS)

$(BUILD)/fuzz/fuzz_bson_json: fuzz/fuzz_bson_json.c $(wildcard fuzz/*.h) \
    $(BSON_JSON) $(LIB_HDRS)
	@mkdir -p $@-corpus
	clang -g -O1 -fsanitize=fuzzer,address,undefined -Ilibjpulse \
	    $(BSON_CFLAGS) -o $@ $< $(BSON_JSON) $(BSON_LIBS) $(LIB_LIBS)

fuzz: $(FUZZ_BINS)
	@for f in $(FUZZ_BINS); do \
	    echo "fuzz: $$f for $(FUZZ_SECONDS)s"; \
	    $$f -max_total_time=$(FUZZ_SECONDS) $$f-corpus > $$f.log 2>&1 \
	        || { tail -40 $$f.log; exit 1; }; \
	    tail -1 $$f.log; \
	done

# libnginx-mod-http-jpulse and jpulse-cachectl (debian/) into build/deb/,
# then lintian: docs/packages.md
# Only the Build-Depends (debian/control) and lintian, not all of make deps:
# as root, missing ones are installed (apt-get build-dep ./); otherwise it
# says what is missing.
deb:
	@dpkg-checkbuilddeps && command -v lintian >/dev/null || \
	    if [ "$$(id -u)" = 0 ]; then \
	        apt-get install -y --no-install-recommends lintian && \
	        apt-get build-dep -y ./; \
	    else \
	        echo "make deb: as root: apt-get build-dep ./ && apt-get install lintian" >&2; \
	        exit 1; \
	    fi
	scripts/deb-build.sh

clean:
	rm -rf $(BUILD) t/servroot

/*
 * make bench-render: the template engine on one core.
 *
 * A ~20 KB page with ~300 expressions, shaped like a jPulse page (values,
 * conditions, #each over config arrays, helpers, subexpressions, an i18n
 * pre-pass, escaping of request data), rendered over a fixed context:
 * renders per second with the page compiled once, compiled every time,
 * and the speedup between the two. Timed by the clock for a fixed time
 * per variant; the numbers are what this machine gives right now.
 */

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#ifdef __linux__
#include <linux/perf_event.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#endif

#include <jansson.h>

#include "jp_tpl.h"


#define BENCH_SECONDS  2.0


static const char  bench_section[] =
    "{{#with appConfig.view.home.card}}"
    "<section class=\"card\" id=\"s%d\">\n"
    "  <h2>{{i18n.view.home.title}}: {{this.title}}</h2>\n"
    "  <p>{{string.default this.summary \"no summary\"}}"
    " - {{string.uppercase app.site.shortName}}</p>\n"
    "  {{#if (and user.isAuthenticated (eq user.preferences.theme "
    "\"dark\"))}}<span class=\"dark\">{{user.firstName}}</span>"
    "{{else}}<span>{{i18n.view.home.greeting}}</span>{{/if}}\n"
    "  <ul>{{#each this.items}}<li data-n=\"{{math.add @index 1}}\">"
    "{{this}}</li>{{/each}}</ul>\n"
    "  <a href=\"/search?q={{url.param.q}}\">{{app.site.name}}</a>\n"
    "  <div class=\"body\"><p>Tide tables, harbour notices and the week's\n"
    "  forecast for every station on the coast, updated as the readings\n"
    "  come in. Times are local; heights are in metres above chart datum.\n"
    "  </p><p class=\"note\">Readings older than an hour are shown in grey\n"
    "  and are not used for the forecast.</p></div>\n"
    "</section>{{/with}}\n";


static double
bench_now(void)
{
    struct timespec  ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);

    return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}


/*
 * The CPU's count of instructions retired in user space, or -1 where
 * there is none (no counter in a VM, perf_event_paranoid): a measure that
 * a busy machine does not skew as it does renders/s.
 */
static int
bench_counter_open(void)
{
#ifdef __linux__
    struct perf_event_attr  attr;

    memset(&attr, 0, sizeof(attr));
    attr.size = sizeof(attr);
    attr.type = PERF_TYPE_HARDWARE;
    attr.config = PERF_COUNT_HW_INSTRUCTIONS;
    attr.disabled = 1;
    attr.exclude_kernel = 1;
    attr.exclude_hv = 1;

    return (int) syscall(SYS_perf_event_open, &attr, 0, -1, -1, 0);
#else
    return -1;
#endif
}


static int64_t
bench_counter_read(int fd)
{
    int64_t  n;

    if (fd < 0 || read(fd, &n, sizeof(n)) != (ssize_t) sizeof(n)) {
        return -1;
    }

    return n;
}


/* About 20 KB of template: a header, then sections until the size. */

static char *
bench_page(size_t *len, unsigned *expressions)
{
    int          copy;
    char        *page;
    size_t       n, cap;
    unsigned     count;
    const char  *p;

    cap = 32 * 1024;
    page = malloc(cap);
    if (page == NULL) {
        return NULL;
    }

    n = (size_t) snprintf(page, cap,
        "<!DOCTYPE html>\n<html lang=\"{{user.preferences.language}}\">"
        "<head><title>{{app.site.name}}</title></head><body>\n"
        "{{#if appConfig.system.broadcastMessage.enable}}<div class=\"bc\">"
        "{{appConfig.system.broadcastMessage.text}}</div>{{/if}}\n");

    for (copy = 0; n < 20 * 1024 - 1024; copy++) {
        n += (size_t) snprintf(page + n, cap - n, bench_section, copy);
    }

    n += (size_t) snprintf(page + n, cap - n,
                           "<footer>{{app.site.copyright}}</footer>\n"
                           "</body></html>\n");

    count = 0;

    for (p = page; (p = strstr(p, "{{")) != NULL; p += 2) {
        count++;
    }

    *len = n;
    *expressions = count;

    return page;
}


static json_t *
bench_context(void)
{
    int      i, j;
    char     text[64];
    json_t  *ctx, *card, *items;

    ctx = json_pack("{s:{s:s,s:s,s:s},s:{s:b,s:s,s:{s:s,s:s}},"
                    "s:{s:{s:s}},s:{s:{s:{s:b,s:s}}}}",
                    "app", "name", "Tides", "shortName", "tides",
                    "copyright", "(c) 2026 Tides",
                    "user", "isAuthenticated", 1, "firstName", "Ada",
                    "preferences", "theme", "dark", "language", "en",
                    "url", "param", "q", "<script>alert(1)</script>",
                    "appConfig", "system", "broadcastMessage", "enable", 1,
                    "text", "Maintenance at 02:00");
    items = json_array();

    for (j = 0; j < 6; j++) {
        snprintf(text, sizeof(text), "item %d", j);
        json_array_append_new(items, json_string(text));
    }

    i = 7;
    snprintf(text, sizeof(text), "Card %d", i);
    card = json_pack("{s:s,s:s,s:o}", "title", text,
                     "summary", "A card of the benchmark page.",
                     "items", items);

    json_object_set_new(json_object_get(ctx, "appConfig"), "view",
                        json_pack("{s:{s:o}}", "home", "card", card));

    return ctx;
}


int
main(int argc, char **argv)
{
    int                n, count, fd;
    char              *page;
    unsigned           uses;
    int64_t            instructions;
    size_t             len = 0, out_len;
    double             start, render_rate, nginx_rate, full_rate;
    json_t            *ctx, *i18n;
    unsigned           expressions = 0;
    jp_tpl_buf_t       out;
    jp_tpl_error_t     err;
    jp_tpl_program_t  *prog;

    page = bench_page(&len, &expressions);
    ctx = bench_context();
    i18n = json_pack("{s:{s:{s:s,s:s}}}", "view", "home",
                     "title", "Welcome",
                     "greeting", "Hello {{user.firstName}}");

    if (page == NULL || ctx == NULL || i18n == NULL) {
        fprintf(stderr, "bench-render: out of memory\n");
        return 1;
    }

    prog = jp_tpl_compile(page, len, "bench.shtml", i18n, &err);
    if (prog == NULL) {
        fprintf(stderr, "bench-render: %s:%u:%u: %s\n", err.file, err.line,
                err.column, err.message);
        return 1;
    }

    jp_tpl_buf_init(&out, 0);

    if (jp_tpl_render(prog, ctx, NULL, NULL, 0, &out, &err) != 0) {
        fprintf(stderr, "bench-render: render failed: %s\n", err.message);
        return 1;
    }

    out_len = out.len;

    /*
     * render_bench N: N renders and nothing else, for an instruction
     * counter (valgrind --tool=callgrind --toggle-collect=jp_tpl_render)
     */
    if (argc > 1) {
        count = atoi(argv[1]);

        for (n = 0; n < count; n++) {
            out.len = 0;
            (void) jp_tpl_render(prog, ctx, NULL, NULL, 0, &out, &err);
        }

        printf("%d renders, %zu bytes out\n", count + 1, out_len);

        jp_tpl_buf_free(&out);
        jp_tpl_free(prog);
        json_decref(ctx);
        json_decref(i18n);
        free(page);

        return 0;
    }

    /* instructions per render, where the CPU counts them */
    instructions = -1;
    fd = bench_counter_open();

#ifdef __linux__
    if (fd >= 0) {
        ioctl(fd, PERF_EVENT_IOC_RESET, 0);
        ioctl(fd, PERF_EVENT_IOC_ENABLE, 0);

        for (n = 0; n < 1000; n++) {
            out.len = 0;
            (void) jp_tpl_render(prog, ctx, NULL, NULL, 0, &out, &err);
        }

        ioctl(fd, PERF_EVENT_IOC_DISABLE, 0);
        instructions = bench_counter_read(fd);
        instructions = instructions < 0 ? -1 : instructions / 1000;
        close(fd);
    }
#endif

    /* render only: the program compiled once, as nginx's cache keeps it */

    n = 0;
    start = bench_now();

    while (bench_now() - start < BENCH_SECONDS) {
        out.len = 0;
        (void) jp_tpl_render(prog, ctx, NULL, NULL, 0, &out, &err);
        n++;
    }

    render_rate = n / (bench_now() - start);

    /*
     * the same as nginx renders it: its contexts hold the request's data
     * only under ctx.url (JP_TPL_URL_TOP_ONLY), so no walk looks for
     * other containers of it
     */

    n = 0;
    start = bench_now();

    while (bench_now() - start < BENCH_SECONDS) {
        out.len = 0;
        (void) jp_tpl_render_uses(prog, ctx, NULL, NULL, JP_TPL_URL_TOP_ONLY,
                                  &out, &err, &uses);
        n++;
    }

    nginx_rate = n / (bench_now() - start);

    /* compile + render: what every request would cost without a cache */

    n = 0;
    start = bench_now();

    while (bench_now() - start < BENCH_SECONDS) {
        jp_tpl_program_t  *p;

        p = jp_tpl_compile(page, len, "bench.shtml", i18n, &err);
        out.len = 0;
        (void) jp_tpl_render(p, ctx, NULL, NULL, 0, &out, &err);
        jp_tpl_free(p);
        n++;
    }

    full_rate = n / (bench_now() - start);

    printf("page: %zu bytes of template, %u expressions, %zu bytes out\n",
           len, expressions, out_len);
    printf("render only:      %10.0f renders/s (target >= 50000): %s\n",
           render_rate, render_rate >= 50000 ? "PASS" : "MISS");
    if (instructions >= 0) {
        printf("render only:      %10lld instructions/render\n",
               (long long) instructions);
    } else {
        printf("render only:             n/a instructions/render (no CPU"
               " counter here: callgrind, see bench/README.md)\n");
    }
    printf("render, nginx's way: %7.0f renders/s (JP_TPL_URL_TOP_ONLY)\n",
           nginx_rate);
    printf("compile + render: %10.0f renders/s\n", full_rate);
    printf("speedup of compiling once: %.1fx\n", render_rate / full_rate);

    jp_tpl_buf_free(&out);
    jp_tpl_free(prog);
    json_decref(ctx);
    json_decref(i18n);
    free(page);

    return 0;
}

/*
 * Unit tests: date.* as jPulse 1.7.17 renders them (jpulse-template-
 * helpers.md section 11; its verified examples are the vectors). The
 * server zone is UTC here (TZ=UTC is set before the first lookup).
 */

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "jp_tpl.h"
#include "jp_tz.h"


#define T0  1737212000123LL     /* 2025-01-18T14:53:20.123Z */

static int64_t  now_ms = T0;


static int
no_read(void *data, const char *path, char **src, size_t *len)
{
    return -1;
}


static int
no_mtime(void *data, const char *path, int64_t *ms)
{
    return -1;
}


static int
no_list(void *data, const char *dir, jp_tpl_list_pt cb, void *arg)
{
    return -1;
}


static int64_t
fixed_now(void *data)
{
    return now_ms;
}


static const jp_tpl_host_t  host = {
    NULL, no_read, no_mtime, no_list, fixed_now, NULL
};


static json_t *
parse(const char *json)
{
    json_t        *j;
    json_error_t   err;

    if (json == NULL) {
        return NULL;
    }

    j = json_loads(json, 0, &err);
    if (j == NULL) {
        fail_msg("bad test JSON: %s: %s", err.text, json);
    }

    return j;
}


static char *
render(const char *src, const char *ctx_json, const char *i18n_json,
    unsigned *uses)
{
    int                rc;
    char              *s;
    json_t            *ctx, *i18n;
    unsigned           u;
    jp_tpl_buf_t       out;
    jp_tpl_error_t     err;
    jp_tpl_program_t  *prog;

    ctx = parse(ctx_json);
    i18n = parse(i18n_json);

    prog = jp_tpl_compile(src, strlen(src), "t.shtml", i18n, &err);
    json_decref(i18n);

    if (prog == NULL) {
        fail_msg("%s: %s", err.message, src);
    }

    jp_tpl_buf_init(&out, 0);
    rc = jp_tpl_render_uses(prog, ctx, &host, NULL, 0, &out, &err, &u);
    jp_tpl_free(prog);
    json_decref(ctx);

    assert_int_equal(rc, 0);

    if (uses != NULL) {
        *uses = u;
    }

    s = strdup(out.data ? out.data : "");
    assert_non_null(s);
    jp_tpl_buf_free(&out);

    return s;
}


static void
check_i18n(const char *src, const char *ctx, const char *i18n,
    const char *want)
{
    char  *got;

    got = render(src, ctx, i18n, NULL);

    if (strcmp(got, want) != 0) {
        print_error("template: %s\n    want: %s\n     got: %s\n", src, want,
                    got);
        free(got);
        fail();
    }

    free(got);
}


#define check(src, ctx, want)  check_i18n(src, ctx, NULL, want)

#define D  "{\"d\":\"2025-01-18T14:53:20.123Z\"}"


static int
setup(void **state)
{
    /* the server zone (date.parse of local times, timezone="server") */
    setenv("TZ", "UTC", 1);
    jp_tz_flush();
    now_ms = T0;

    return 0;
}


/* §11.1: what a date argument can be, missing versus invalid */
static void
test_inputs(void **state)
{
    check("[{{date.format vars.missing format=\"%Y%\"}}]", NULL, "[2025]");
    check("[{{date.format}}]", NULL, "[2025-01-18T14:53:20.123Z]");
    check("[{{date.format nope}}]", NULL, "[]");
    check("[{{date.format \"\"}}|{{date.format \"  \"}}|{{date.format "
          "null}}|{{date.format true}}|{{date.format false}}]", NULL,
          "[||||]");
    check("{{date.format 0}} {{date.format -1}}", NULL,
          "1970-01-01T00:00:00.000Z 1969-12-31T23:59:59.999Z");
    /* exponents from the context: the argument lexer's number rule is
     * not date.*'s (jPulse reads any JS Number() text) */
    check("{{date.format a}}|{{date.format b}}|{{date.format c}}",
          "{\"a\":8.64e15,\"b\":8.64e16,\"c\":-8.64e15}",
          "+275760-09-13T00:00:00.000Z||-271821-04-20T00:00:00.000Z");
    check("{{date.format md}}", "{\"md\":{\"$date\":"
          "\"2025-01-01T00:00:00Z\"}}", "2025-01-01T00:00:00.000Z");
    check("{{date.format md}}", "{\"md\":{\"$date\":0}}",
          "1970-01-01T00:00:00.000Z");
    check("[{{date.format o}}|{{date.format a}}|{{date.format x.y}}]",
          "{\"o\":{\"a\":1},\"a\":[1],\"x\":{\"y\":null}}", "[||]");
    check("{{date.format 1.9}} {{date.format -1.9}}", NULL,
          "1970-01-01T00:00:00.001Z 1969-12-31T23:59:59.999Z");
    check("{{date.format date=\"2025-01-01\"}}", NULL,
          "2025-01-01T00:00:00.000Z");
    check("{{date.format 0 date=\"2025-01-01\"}}", NULL,
          "2025-01-01T00:00:00.000Z");
}


/* §11.2 */
static void
test_now(void **state)
{
    unsigned  uses;
    char     *got;

    check("{{date.now}} {{date.now 5 x=1}}", NULL,
          "1737212000123 1737212000123");
    check("{{math.add (date.now) 1}}", NULL, "1737212000124");

    got = render("{{date.now}}", NULL, NULL, &uses);
    free(got);
    assert_int_equal(uses, JP_TPL_USES_TIME);
}


/* §11.3 and the V8 parser forms */
static void
test_parse(void **state)
{
    check("{{date.parse \"2025-01-18T14:53:20Z\"}}", NULL, "1737212000000");
    check("{{date.parse \"2025-01-18T10:00\"}}", NULL, "1737194400000");
    check("{{date.parse \"0\"}}", NULL, "946684800000");
    check("[{{date.parse true}}]", NULL, "[]");
    check("[{{date.parse}}|{{date.parse vars.x}}|{{date.parse \"bad\"}}|"
          "{{date.parse \"now\"}}|{{date.parse \"1737212000123\"}}]", NULL,
          "[||||]");
    check("{{date.parse date=\"2025-01-01\"}}", NULL, "1735689600000");
    check("{{math.add (date.parse \"2025-01-01T00:00:00Z\") 1}}", NULL,
          "1735689600001");
    check("{{date.parse 1.5}} {{date.parse 0}} {{date.parse -7}}", NULL,
          "1.5 0 -7");
    check("{{date.parse \"2026-11-26T01:02:03.456Z\"}} "
          "{{date.parse \"1970-01-02\"}}", NULL,
          "1795654923456 86400000");
    check("{{date.parse \"2026-11-26T01:00:00+01:00\"}} "
          "{{date.parse \"2026-11-26T01:00:00.1234567-00:30\"}}", NULL,
          "1795651200000 1795656600123");
    check("{{date.parse \"2025\"}} {{date.parse \"2025-02\"}} "
          "{{date.parse \"+002025-01-01T00:00:00Z\"}}", NULL,
          "1735689600000 1738368000000 1735689600000");
    /* V8 rolls a day up to 31 over; 32 and month 13 are invalid */
    check("{{date.parse \"2025-02-30\"}}|{{date.parse \"2025-02-32\"}}|"
          "{{date.parse \"2025-13-01\"}}|{{date.parse \"2025-01-01T25:00\"}}",
          NULL, "1740873600000|||");
    check("{{date.parse \"2025-01-01T24:00\"}}", NULL, "1735776000000");
    /* legacy forms: server-local without a zone (UTC here) */
    check("{{date.parse \"2025/01/18\"}} {{date.parse \"2025-01-18 10:00\"}}",
          NULL, "1737158400000 1737194400000");
    check("{{date.parse \"Jan 18 2025 10:00 GMT+0200\"}} "
          "{{date.parse \"Sat, 18 Jan 2025 10:00:00 GMT\"}}", NULL,
          "1737187200000 1737194400000");
    check("{{date.parse \"01/18/2025 10:00 PM\"}} "
          "{{date.parse \"January 18, 2025 12:30 am EST\"}}", NULL,
          "1737237600000 1737178200000");
    check("{{date.parse \"2025-01-18T10:00:00+0200\"}} "
          "{{date.parse \"2025-01-18 10:00:00.000Z\"}}", NULL,
          "1737187200000 1737194400000");
    /* past the 'T' only the ISO form (and V8's +hhmm); checked against
     * Node 20.20.2 */
    check("[{{date.parse \"2025-1-08T10:00\"}}|"
          "{{date.parse \"2025-01-18T10:00:00 PM\"}}|"
          "{{date.parse \"2025-01-18T10:00:00+02\"}}|"
          "{{date.parse \"2025-01-18T1:00\"}}|"
          "{{date.parse \"2025-01-18 10:00:00.\"}}]", NULL, "[||||]");
    check("{{date.parse \"18 Jan 25 (comment) 10:00:05.5 +01:00\"}}", NULL,
          "1737190805500");
    check("[{{date.parse \"2025-01-18x\"}}|{{date.parse \"12345678901\"}}|"
          "{{date.parse \"1/2/3/4\"}}|{{date.parse \"10:00\"}}]", NULL,
          "[|||]");
}


/* §11.4: the tokens, one after the other */
static void
test_format_tokens(void **state)
{
    check("{{date.format d format=\"%DATE%|%TIME%|%DATETIME%|%Y%|%M%|%D%|"
          "%H%|%MIN%|%SEC%|%MS%|%ISO%|%%|%m%|%S%\"}}", D,
          "2025-01-18|14:53|2025-01-18 14:53|2025|01|18|14|53|20|123|"
          "2025-01-18T14:53:20.123Z|%%|%m%|%S%");
    check("{{date.format d format=\"%Y%-%M%-%D% %H%:%MIN%:%SEC%.%MS%\"}}", D,
          "2025-01-18 14:53:20.123");
    check("{{date.format d}}|{{date.format d format=\"\"}}", D,
          "2025-01-18T14:53:20.123Z|2025-01-18T14:53:20.123Z");
    /* the old tokens are text to jPulse */
    check("{{date.format d format=\"YYYY-MM-DD HH:mm:ss\"}}", D,
          "YYYY-MM-DD HH:mm:ss");
    /* sequential: a replacement can make the next token */
    check("{{date.format d format=\"%D%ATE%|%%Y%%|%MIN%S%\"}}", D,
          "18ATE%|%2025%|53S%");
    check("{{date.format 1500000000000000 format=\"%Y%/%DATE%\"}}", NULL,
          "49503/49503-02-10");
    check("{{date.format -63000000000000 format=\"%Y% %ISO%\"}}", NULL,
          "-27 -000027-08-11T08:00:00.000Z");
    check("{{date.format d format=5}}", D,
          "<!-- Error: Handlebar \"date.format d format=5\": "
          "format.replace is not a function -->");
    check("{{date.format d format=0}}", D, "2025-01-18T14:53:20.123Z");
}


/* §11.4: timezone= */
static void
test_format_zones(void **state)
{
    check("{{date.format d timezone=\"America/New_York\"}}", D,
          "2025-01-18T09:53:20.123-05:00");
    check("{{date.format d timezone=\"america/new_york\"}}|"
          "{{date.format d timezone=\"US/Eastern\"}}", D,
          "2025-01-18T09:53:20.123-05:00|2025-01-18T09:53:20.123-05:00");
    check("{{date.format d timezone=\"Asia/Kolkata\"}}", D,
          "2025-01-18T20:23:20.123+05:30");
    check("{{date.format d timezone=\"Europe/London\"}}", D,
          "2025-01-18T14:53:20.123Z");
    check("{{date.format d timezone=\"UTC\"}}|{{date.format d "
          "timezone=\"Bad/Zone\"}}|{{date.format d timezone=\"\"}}|"
          "{{date.format d timezone=5}}|{{date.format d timezone=\"server\"}}",
          D, "2025-01-18T14:53:20.123Z|2025-01-18T14:53:20.123Z|"
          "2025-01-18T14:53:20.123Z|2025-01-18T14:53:20.123Z|"
          "2025-01-18T14:53:20.123Z");
    check("{{date.format \"2025-07-18T14:53:20.123Z\" "
          "timezone=\"Europe/London\"}}", NULL,
          "2025-07-18T15:53:20.123+01:00");
    check("{{date.format \"2025-03-30T01:30:00Z\" "
          "timezone=\"Europe/Berlin\"}}", NULL,
          "2025-03-30T03:30:00.000+02:00");
    check("{{date.format d format=\"%DATETIME%:%SEC%\" "
          "timezone=\"Asia/Kathmandu\"}}", D, "2025-01-18 20:38:20");
    check("{{date.format d format=\"%H%%MIN%\" timezone=\"America/St_Johns\""
          "}}", D, "1123");
    /* local mean time: an offset with seconds, printed as jPulse does */
    check("{{date.format \"1850-01-18T14:53:20.123Z\" "
          "timezone=\"America/New_York\"}}", NULL,
          "1850-01-18T09:57:18.123-04:56.03333333333336");
    /* after the last transition: the footer's rule (2100, DST) */
    check("{{date.format \"2100-07-01T12:00:00Z\" "
          "timezone=\"America/New_York\" format=\"%TIME% %ISO%\"}}", NULL,
          "08:00 2100-07-01T08:00:00.000-04:00");
    check("{{date.format \"2100-01-01T12:00:00Z\" "
          "timezone=\"Australia/Sydney\" format=\"%TIME%\"}}", NULL, "23:00");
    /* names that never reach the disk, and case: "Browser" is a name */
    check("{{date.format d timezone=\"../etc/passwd\"}}|"
          "{{date.format d timezone=\"/etc/localtime\"}}|"
          "{{date.format d timezone=\"Browser\"}}|"
          "{{date.format d timezone=\"America//New_York\"}}|"
          "{{date.format d timezone=\"zone.tab\"}}", D,
          "2025-01-18T14:53:20.123Z|2025-01-18T14:53:20.123Z|"
          "2025-01-18T14:53:20.123Z|2025-01-18T14:53:20.123Z|"
          "2025-01-18T14:53:20.123Z");
}


/* §11.4: timezone="browser" and its synonyms read user.timezone */
static void
test_format_user_zone(void **state)
{
    unsigned  uses;
    char     *got;

    check("{{date.format d timezone=\"browser\"}}|{{date.format d "
          "timezone=\"browser\" format=\"%DATETIME%\"}}",
          "{\"d\":\"2025-01-18T14:53:20.123Z\","
          "\"user\":{\"timezone\":\"Asia/Tokyo\"}}",
          "2025-01-18T23:53:20.123+09:00|2025-01-18 23:53");
    check("{{date.format d timezone=\"client\"}}|{{date.format d "
          "timezone=\"user\"}}|{{date.format d timezone=\"view\"}}",
          "{\"d\":\"2025-01-18T14:53:20.123Z\","
          "\"user\":{\"timezone\":\"America/Chicago\"}}",
          "2025-01-18T08:53:20.123-06:00|2025-01-18T08:53:20.123-06:00|"
          "2025-01-18T08:53:20.123-06:00");
    /* no user, or no zone: the server's (UTC here) */
    check("{{date.format d timezone=\"browser\"}}|{{date.format d "
          "timezone=\"browser\"}}", D,
          "2025-01-18T14:53:20.123Z|2025-01-18T14:53:20.123Z");
    check("{{date.format d timezone=\"browser\"}}",
          "{\"d\":0,\"user\":{\"timezone\":\"\"}}",
          "1970-01-01T00:00:00.000Z");
    /* a #with scope or an include argument named user wins, as in jPulse */
    check("{{#with o}}{{date.format d timezone=\"user\"}}{{/with}}",
          "{\"d\":0,\"o\":{\"user\":{\"timezone\":\"Asia/Tokyo\"}}}",
          "1970-01-01T09:00:00.000+09:00");

    got = render("{{date.format d timezone=\"browser\"}}",
                 "{\"d\":0,\"user\":{\"timezone\":\"Asia/Tokyo\"}}", NULL,
                 &uses);
    free(got);
    assert_int_equal(uses, JP_TPL_USES_USER);

    got = render("{{date.format d timezone=\"Asia/Tokyo\"}}",
                 "{\"d\":0,\"user\":{\"timezone\":\"Asia/Tokyo\"}}", NULL,
                 &uses);
    free(got);
    assert_int_equal(uses, 0);

    got = render("{{date.format}}", NULL, NULL, &uses);
    free(got);
    assert_int_equal(uses, JP_TPL_USES_TIME);
}


static const char  en[] =
    "{\"controller\":{\"handlebar\":{\"date\":{\"fromNow\":{"
    "\"pastRange\":\"%RANGE% ago\",\"futureRange\":\"in %RANGE%\","
    "\"pastMoment\":\"moments ago\",\"thisMoment\":\"just now\","
    "\"futureMoment\":\"in a moment\",\"separator\":\", \","
    "\"long\":{\"year\":\"%VALUE% year\",\"years\":\"%VALUE% years\","
    "\"month\":\"%VALUE% month\",\"months\":\"%VALUE% months\","
    "\"week\":\"%VALUE% week\",\"weeks\":\"%VALUE% weeks\","
    "\"day\":\"%VALUE% day\",\"days\":\"%VALUE% days\","
    "\"hour\":\"%VALUE% hour\",\"hours\":\"%VALUE% hours\","
    "\"minute\":\"%VALUE% minute\",\"minutes\":\"%VALUE% minutes\","
    "\"second\":\"%VALUE% second\",\"seconds\":\"%VALUE% seconds\"},"
    "\"short\":{\"year\":\"%VALUE%y\",\"month\":\"%VALUE%mo\","
    "\"week\":\"%VALUE%w\",\"day\":\"%VALUE%d\",\"hour\":\"%VALUE%h\","
    "\"minute\":\"%VALUE%m\",\"second\":\"%VALUE%s\"}}}}}}";

static const char  de[] =
    "{\"controller\":{\"handlebar\":{\"date\":{\"fromNow\":{"
    "\"pastRange\":\"vor %RANGE%\",\"futureRange\":\"in %RANGE%\","
    "\"pastMoment\":\"vor wenigen Augenblicken\","
    "\"thisMoment\":\"gerade jetzt\","
    "\"futureMoment\":\"in wenigen Augenblicken\",\"separator\":\", \","
    "\"long\":{\"day\":\"%VALUE% Tag\",\"days\":\"%VALUE% Tagen\","
    "\"hour\":\"%VALUE% Stunde\",\"hours\":\"%VALUE% Stunden\","
    "\"minute\":\"%VALUE% Minute\",\"minutes\":\"%VALUE% Minuten\"},"
    "\"short\":{\"day\":\"%VALUE%ta\",\"hour\":\"%VALUE%std\","
    "\"minute\":\"%VALUE%min\",\"second\":\"%VALUE%sek\"}}}}}}";


/* d is now + delta ms */
static void
check_from(const char *i18n, double delta, const char *fmt,
    const char *want)
{
    char  src[256], ctx[64];

    snprintf(ctx, sizeof(ctx), "{\"d\":%.1f}", (double) now_ms + delta);
    snprintf(src, sizeof(src), "{{date.fromNow d%s%s%s}}",
             fmt ? " format=\"" : "", fmt ? fmt : "", fmt ? "\"" : "");

    check_i18n(src, ctx, i18n, want);
}


#define S  1000.0
#define MIN  (60 * S)
#define H  (60 * MIN)
#define DAY  (24 * H)

/* §11.5 */
static void
test_from_now(void **state)
{
    check_from(en, -0.5 * S, NULL, "just now");
    check_from(en, 0.5 * S, NULL, "just now");
    check_from(en, 0, NULL, "just now");
    check_from(en, -0.5 * S, "short", "0s ago");
    check_from(en, 0.5 * S, "short", "in 0s");
    check_from(en, -3 * S, NULL, "moments ago");
    check_from(en, 3 * S, NULL, "in a moment");
    check_from(en, -3 * S, "short", "3s ago");
    check_from(en, 2.9 * S, "short 1", "in 2s");
    check_from(en, -7 * S, NULL, "7 seconds ago");
    check_from(en, 6.9 * S, NULL, "in 6 seconds");
    check_from(en, -(2 * H + 5 * MIN + 30 * S), NULL,
               "2 hours, 5 minutes ago");

    check_from(en, 6 * DAY + 13 * H + 29 * MIN + 10 * S, NULL,
               "in 6 days, 13 hours");
    check_from(en, 6 * DAY + 13 * H + 29 * MIN + 10 * S, "short 3",
               "in 6d 13h 29m");
    check_from(en, 6 * DAY + 13 * H + 29 * MIN + 10 * S, "medium",
               "in 6 days, 13 hours");
    check_from(en, 6 * DAY + 13 * H + 29 * MIN + 10 * S, "long 0",
               "in 6 days, 13 hours");
    check_from(en, 6 * DAY + 13 * H + 29 * MIN + 10 * S, "long x",
               "in 6 days, 13 hours");
    check_from(en, 6 * DAY + 13 * H + 29 * MIN + 10 * S, "",
               "in 6 days, 13 hours");
    check_from(en, 6 * DAY + 13 * H + 29 * MIN + 10 * S, "  short   1 ",
               "in 6d");
    check_from(en, 6 * DAY + 13 * H + 29 * MIN + 10 * S, "long -1",
               "just now");
    check_from(en, 400 * DAY - 5 * S, NULL, "in 1 year, 1 month");
    check_from(en, 400 * DAY - 5 * S, "short 3", "in 1y 1mo 4d");
    check_from(en, 45 * DAY, NULL, "in 1 month, 2 weeks");

    check_from(en, -(DAY + H + MIN + 1.5 * S), "long 3",
               "1 day, 1 hour, 1 minute ago");
    check_from(en, -(DAY + H + MIN + 1.5 * S), "long 7",
               "1 day, 1 hour, 1 minute, 1 second ago");
    check_from(en, -(DAY + H + MIN + 1.5 * S), "short 9",
               "1d 1h 1m 1s ago");
    check_from(en, -(DAY + H + MIN + 1.5 * S), "Long",
               "1 day, 1 hour ago");

    now_ms = 1796234391584LL;               /* 2026-12-02 */
    check("{{date.fromNow 0 format=\"short 1\"}}", NULL, "56y ago");
    now_ms = T0;

    check_from(de, -0.5 * S, NULL, "gerade jetzt");
    check_from(de, -3 * S, NULL, "vor wenigen Augenblicken");
    check_from(de, 3 * S, NULL, "in wenigen Augenblicken");
    check_from(de, 6 * DAY + 13 * H + 29 * MIN + 10 * S, NULL,
               "in 6 Tagen, 13 Stunden");
    check_from(de, -(DAY + H + MIN + 1.5 * S), "long 3",
               "vor 1 Tag, 1 Stunde, 1 Minute");
    check_from(de, -(DAY + H + MIN + 1.5 * S), "short 3",
               "vor 1ta 1std 1min");
    check_from(de, -0.5 * S, "short", "vor 0sek");
    check_from(de, -(DAY + H + MIN + 1.5 * S), "medium",
               "vor 1 day, 1 hour");

    /* no translations: English, and the missing separator is its key */
    check_from(NULL, -3 * S, "short", "3s ago");
    check_from(NULL, 6 * DAY + 13 * H, "medium", "in 6 days, 13 hours");
    check_from(NULL, -(2 * H + 5 * MIN), NULL,
               "2 hours" "controller.handlebar.date.fromNow.separator"
               "5 minutes ago");

    check("[{{date.fromNow}}|{{date.fromNow vars.x}}|{{date.fromNow \"x\"}}]",
          NULL, "[||]");
    check("{{date.fromNow 0 format=5}}", NULL,
          "<!-- Error: Handlebar \"date.fromNow 0 format=5\": "
          "formatParam.trim is not a function -->");
}


#define A  "{\"d\":\"2025-01-31T10:00:00.000Z\"," \
           "\"leap\":\"2024-02-29T12:00Z\"}"

/* §11.6 */
static void
test_add(void **state)
{
    check("{{date.add d value=1 unit=\"months\"}}", A, "1740996000000");
    check("{{date.format (date.add leap value=1 unit=\"year\")}}", A,
          "2025-03-01T12:00:00.000Z");
    check("{{date.format (date.add d value=1.5 unit=\"days\")}} "
          "{{date.format (date.add d value=-1.5 unit=\"days\")}}", A,
          "2025-02-01T10:00:00.000Z 2025-01-29T10:00:00.000Z");
    check("{{date.format (date.add d value=\"2\" unit=\"Weeks\")}}", A,
          "2025-02-14T10:00:00.000Z");
    check("{{date.format (date.add d value=true unit=\"day\")}}", A,
          "2025-01-31T10:00:00.000Z");
    check("{{date.format (date.add d value=1 unit=\"ms\")}}", A,
          "2025-01-31T10:00:00.001Z");
    check("[{{date.add d unit=\"days\"}}|{{date.add d value=1}}|"
          "{{date.add d value=1 unit=\"fortnight\"}}|"
          "{{date.add d value=\"x\" unit=\"days\"}}|"
          "{{date.add \"bad\" value=1 unit=\"days\"}}]", A, "[||||]");
    check("{{date.add d value=1 unit=5}}", A,
          "<!-- Error: Handlebar \"date.add d value=1 unit=5\": "
          "unit.toLowerCase is not a function -->");
    /* no date at all: now */
    check("{{date.add value=1 unit=\"seconds\"}}", NULL, "1737212001123");
    check("{{date.add value=\" 2.5e1x\" unit=\"HOURS\"}}", NULL,
          "1737302000123");
    check("{{date.format (date.add d value=-13 unit=\"months\")}} "
          "{{date.format (date.add d value=90 unit=\"minutes\")}}", A,
          "2023-12-31T10:00:00.000Z 2025-01-31T11:30:00.000Z");
    check("{{date.add 0 value=1e300 unit=\"years\"}}", NULL, "NaN");
}


#define B  "{\"a\":\"2025-01-18T00:00Z\",\"b\":\"2025-01-25T12:00Z\"," \
           "\"n\":1000,\"c\":-1500}"

/* §11.7 */
static void
test_diff(void **state)
{
    check("{{date.diff a b}}", B, "648000000");
    check("{{date.diff a b unit=\"days\"}} {{date.diff b a unit=\"days\"}}",
          B, "7.5 -7.5");
    check("{{date.diff a b unit=\"weeks\"}} {{date.diff a b unit=\"months\"}} "
          "{{date.diff a b unit=\"years\"}} {{date.diff a b unit=\"hours\"}}",
          B, "1.07 0.25 0.02 180");
    check("{{date.diff a b unit=\"bogus\"}} {{date.diff a b unit=\"DAYS\"}}",
          B, "648000000 7.5");
    check("[{{date.diff}}]", B, "[]");
    check("{{date.diff n c unit=\"seconds\"}}", B, "-2.5");
    check("{{date.diff 0 1 unit=\"seconds\"}} {{date.diff 0 -1 "
          "unit=\"seconds\"}}", B, "0 0");
    check("{{date.diff n 0}}", B, "-1000");
    /* the second date missing, "" or false: now; "null" is no literal but
     * a word, its own text (R13), an invalid date: "" */
    check("{{date.diff a}} {{date.diff a \"\"}} {{date.diff a null}} "
          "{{date.diff a false}}", B,
          "53600123 53600123  53600123");
    check("[{{date.diff a \"bad\"}}|{{date.diff \"bad\" a}}]", B, "[|]");
    check("{{date.diff date1=(a) date2=(b) unit=\"hours\"}}", B, "180");
}


int
main(void)
{
    const struct CMUnitTest  tests[] = {
        cmocka_unit_test_setup(test_inputs, setup),
        cmocka_unit_test_setup(test_now, setup),
        cmocka_unit_test_setup(test_parse, setup),
        cmocka_unit_test_setup(test_format_tokens, setup),
        cmocka_unit_test_setup(test_format_zones, setup),
        cmocka_unit_test_setup(test_format_user_zone, setup),
        cmocka_unit_test_setup(test_from_now, setup),
        cmocka_unit_test_setup(test_add, setup),
        cmocka_unit_test_setup(test_diff, setup),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}

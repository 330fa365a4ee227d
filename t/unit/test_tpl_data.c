/*
 * Unit tests: math.*, array.*, json.parse and file.exists/timestamp/list
 * as jPulse 1.7.17 renders them. The vectors marked "ref" are the outputs
 * jpulse-template-helpers.md (sections 7, 9, 10, 12) recorded from the
 * real engine; the others are edge cases of ours.
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


typedef struct {
    const char  *path;
    int64_t      mtime;
} mem_file_t;


static const mem_file_t  files[] = {
    { "zz/Upper.tmpl", 1 },
    { "zz/crlf.tmpl", 2 },
    { "zz/inc1.tmpl", 3 },
    { "zz/q1.tmpl", 1714979289000LL },
    { "zz/q22.tmpl", 5 },
    { "zz/.hidden.tmpl", 6 },
    { "zz/t.css.tmpl", 7 },
    { "zz/app.js.tmpl", 8 },
    { "zz/plain.css", 9 },
    { "zz/sub/s1.tmpl", 10 },
    { "zz/sub/deeper/d1.tmpl", 11 },
    { "zz/.git/x.tmpl", 12 },
    { "zz/node_modules/m.tmpl", 13 },
    { "zz/node_modules.tmpl", 14 },
    { "admin/config.shtml", 15 },
    { "admin/users.shtml", 16 },
    { "top.shtml", 17 },
    { NULL, 0 }
};


static int
mem_mtime(void *data, const char *path, int64_t *ms)
{
    const mem_file_t  *f;

    for (f = files; f->path != NULL; f++) {
        if (strcmp(f->path, path) == 0) {
            *ms = f->mtime;
            return 0;
        }
    }

    return -1;
}


/* names in dir: files, and a subdirectory as "name/" once per file in
 * it, as the nginx host's Redis index gives them */
static int
mem_list(void *data, const char *dir, jp_tpl_list_pt cb, void *arg)
{
    size_t             n;
    const char        *name, *slash;
    const mem_file_t  *f;

    n = strlen(dir);

    for (f = files; f->path != NULL; f++) {
        if (n == 0) {
            name = f->path;

        } else if (strncmp(f->path, dir, n) == 0 && f->path[n] == '/') {
            name = f->path + n + 1;

        } else {
            continue;
        }

        slash = strchr(name, '/');

        if (cb(arg, name, slash ? (size_t) (slash - name + 1) : strlen(name))
            != 0)
        {
            return -1;
        }
    }

    return 0;
}


static int64_t
mem_now(void *data)
{
    return 1700000000000LL;
}


static const jp_tpl_host_t  mem_host = {
    NULL, NULL, mem_mtime, mem_list, mem_now, NULL
};


static char *
render(const char *src, const char *ctx_json)
{
    int                rc;
    char              *s;
    json_t            *ctx;
    json_error_t       jerr;
    jp_tpl_buf_t       out;
    jp_tpl_error_t     err;
    jp_tpl_program_t  *prog;

    ctx = NULL;

    if (ctx_json != NULL) {
        ctx = json_loads(ctx_json, 0, &jerr);
        if (ctx == NULL) {
            fail_msg("bad test JSON: %s: %s", jerr.text, ctx_json);
        }
    }

    prog = jp_tpl_compile(src, strlen(src), "test.shtml", NULL, &err);
    if (prog == NULL) {
        json_decref(ctx);
        fail_msg("%s: %s", src, err.message);
    }

    jp_tpl_buf_init(&out, 0);
    rc = jp_tpl_render(prog, ctx, &mem_host, NULL, 0, &out, &err);
    jp_tpl_free(prog);
    json_decref(ctx);

    if (rc != 0) {
        jp_tpl_buf_free(&out);
        fail_msg("%s: %s", src, err.message);
    }

    s = strdup(out.data ? out.data : "");
    assert_non_null(s);
    jp_tpl_buf_free(&out);

    return s;
}


static void
check(const char *src, const char *ctx, const char *want)
{
    char  *got;

    got = render(src, ctx);

    if (strcmp(got, want) != 0) {
        print_error("template: %s\n    want: %s\n     got: %s\n", src, want,
                    got);
        free(got);
        fail();
    }

    free(got);
}


/* math.*: variadic helpers count what is no number as 0 */
static void
test_math_variadic(void **state)
{
    check("{{math.add}}|{{math.add vars.missing 1}}|{{math.subtract 5}}",
          NULL, "0|1|5");                                           /* ref */
    check("{{math.add \"x\" 10}}|{{math.add true true}}|"
          "{{math.add \" 12 \" 1}}", NULL, "10|2|13");              /* ref */
    check("{{math.add 0.1 0.2}}|{{math.add 1.5 2.5}}", NULL,
          "0.30000000000000004|4");                                 /* ref */
    check("{{math.add \"2025-01-01T00:00:00Z\" 0}}", NULL,
          "1735689600000");                                         /* ref */
    check("{{math.multiply 1e200 1e200}}", NULL, "Infinity");       /* ref */
    check("{{math.divide 5 0 2}}|{{math.divide 5 \"0\"}}|"
          "{{math.divide 5 \"abc\"}}|{{math.divide 0 5}}|"
          "{{math.divide 1 3}}", NULL,
          "0|0|0|0|0.3333333333333333");                            /* ref */
    check("{{math.min}}|{{math.min \"a\" 3}}|"
          "{{math.max (json.parse \"[1,5,3]\")}}|"
          "{{math.max (json.parse \"[7]\")}}", NULL, "0|0|0|7");    /* ref */
    check("{{math.min 3 1 2}}|{{math.max 3 1 2}}|{{math.max a}}|"
          "{{math.add e}}|{{math.add o 2}}", "{\"a\":[4,9,2],\"e\":[],"
          "\"o\":{}}", "1|3|0|0|2");
    check("{{math.subtract}}|{{math.multiply}}|{{math.divide}}|"
          "{{math.multiply 2 \"3\"}}|{{math.subtract 10 3 2}}", NULL,
          "0|0|0|6|5");
}


/* unary and binary helpers: Number() only; NaN or the wrong count is 0 */
static void
test_math_unary(void **state)
{
    check("{{math.mod -7 3}}|{{math.mod 7 -3}}|{{math.mod 5.5 2}}|"
          "{{math.mod 5 0}}|{{math.mod 5}}|{{math.mod 5 2 1}}", NULL,
          "-1|1|1.5|0|0|0");                                        /* ref */
    check("{{math.mod \"2025-01-01\" 7}}", NULL, "0");              /* ref */
    check("{{math.round 2.5}}|{{math.round -2.5}}|{{math.round -0.4}}|"
          "{{math.round 3.7 2}}|{{math.round}}", NULL,
          "3|-2|0|0|0");                                            /* ref */
    check("{{math.floor \"4.9\"}}|{{math.floor -3.7}}|{{math.ceil \"\"}}|"
          "{{math.ceil -3.2}}|{{math.round 1e21}}", NULL,
          "4|-4|0|-3|1e+21");                                       /* ref */
    check("{{math.round 0.49999999999999994}}|{{math.round -0.5}}|"
          "{{math.floor}}|{{math.ceil 1 2}}|{{math.floor \"x\"}}", NULL,
          "0|0|0|0|0");
    /* fmod is exact where x - trunc(x / y) * y is not */
    check("{{math.mod 100000000000000000 3}}|{{math.mod -1e-300 1e300}}|"
          "{{math.mod 1 (math.multiply 1e200 1e200)}}", NULL,
          "1|-1e-300|1");
}


/* JavaScript's Number() of a string */
static void
test_math_number_syntax(void **state)
{
    check("{{math.floor \"0x1A\"}}|{{math.floor \"0b11\"}}|"
          "{{math.floor \"0o17\"}}|{{math.floor \"1e3\"}}|"
          "{{math.floor \".5e1\"}}|{{math.floor \"1.\"}}|"
          "{{math.floor \"+7\"}}", NULL, "26|3|15|1000|5|1|7");
    check("{{math.floor \"inf\"}}|{{math.floor \"nan\"}}|"
          "{{math.floor \"-0x10\"}}|{{math.floor \"1e\"}}|"
          "{{math.floor \"1_000\"}}|{{math.floor \".\"}}|"
          "{{math.floor \"0x\"}}|{{math.floor \"0x1p3\"}}", NULL,
          "0|0|0|0|0|0|0|0");
    check("{{math.floor \"Infinity\"}}|{{math.floor \"-Infinity\"}}|"
          "{{math.floor \" \xc2\xa0\t12\xc2\xa0\"}}", NULL,
          "Infinity|-Infinity|12");
    check("{{math.multiply 0 (math.multiply 1e200 1e200)}}|"
          "{{math.subtract 0 (math.multiply 1e200 1e200)}}", NULL,
          "NaN|-Infinity");
}


/* results print as String(n) */
static void
test_math_output(void **state)
{
    check("{{math.divide 1 10000000}}|{{math.divide 1 1000000}}|"
          "{{math.multiply 1e21 1.5}}|{{math.multiply -1 1e-10}}", NULL,
          "1e-7|0.000001|1.5e+21|-1e-10");
    check("{{math.multiply 1152921504606846976 1}}|"
          "{{math.multiply 123456789 1000000000000}}|"
          "{{math.divide 123456789 1000}}|{{math.multiply 100.5 -1}}", NULL,
          "1152921504606847000|123456789000000000000|123456.789|-100.5");
    check("{{math.subtract 0.3 0.1}}|{{math.multiply 1e-7 -0}}", NULL,
          "0.19999999999999998|0");
}


/* a result is an argument as jPulse's re-tokenized text would be */
static void
test_math_as_argument(void **state)
{
    check("{{eq (math.add 1 1) 2}}|{{#gt (math.add 5 5) (math.add 1 1)}}Y"
          "{{else}}N{{/gt}}|{{#if (math.subtract 1 1)}}T{{else}}F{{/if}}",
          NULL, "true|Y|F");
    check("{{let x=(math.add 1 2)}}{{vars.x}}|{{math.add (math.add 1 2) 1}}|"
          "{{array.at a (math.add 0 1)}}", "{\"a\":[\"p\",\"q\"]}",
          "3|4|q");
    check("{{math.add 1 2 3}} {{math.subtract 10 3 2}} {{math.multiply 2 3}}"
          " {{math.divide 7 2}} {{math.mod 7 3}}", NULL, "6 5 6 3.5 1");
}


#define A  "{\"a\":[\"x\",{\"k\":1},[1,2],null,5],\"b\":[1,2,3],"         \
           "\"c\":[1,\"2\",null],\"o\":{\"p\":1,\"q\":2},\"e\":{},"         \
           "\"n\":[]}"

static void
test_array_at(void **state)
{
    check("{{array.at a 0}}|{{array.at a 1}}|{{array.at a 2}}|"
          "{{array.at a 3}}|{{array.at a 4}}", A,
          "x|[object Object]|1,2|null|5");                          /* ref */
    check("[{{array.at a -1}}]{{array.at a 1.5}}|{{array.at a \"1\"}}|"
          "[{{array.at a 9}}][{{array.at a}}][{{array.at a 1 2}}]"
          "[{{array.at \"abc\" 0}}][{{array.at a \"x\"}}]", A,
          "[]undefined|[object Object]|[][][][][]");                 /* ref */
    check("{{array.first a}}|{{array.last a}}|[{{array.first n}}]"
          "[{{array.last \"abc\"}}][{{array.first}}]", A, "x|5|[][][]");
    check("{{array.first (json.parse '[{\"k\":1}]')}}|"
          "{{array.last (json.parse '[[1,2]]')}}|"
          "{{array.last (json.parse '[true,1.50]')}}", NULL,
          "[object Object]|1,2|1.5");                               /* ref */
    check("[{{array.last '[\"a\",\"b\",\"c\"]'}}]", NULL, "[]");    /* ref */
}


static void
test_array_join_length(void **state)
{
    check("{{array.join a \"-\"}}|{{array.join b}}|{{array.join b 0}}|"
          "{{array.join b \"\"}}|[{{array.join \"abc\"}}]", A,
          "x-[object Object]-1,2--5|1,2,3|10203|123|[]");           /* ref */
    check("{{array.join (json.parse '[[1,[2,null]],null,true]') \";\"}}",
          NULL, "1,2,;;true");
    check("{{array.length a}}|{{array.length o}}|"
          "{{array.length \"not an array\"}}|{{array.length 42}}|"
          "{{array.length}}", A, "5|2|0|0|0");                      /* ref */
    check("{{math.add (array.length b) 1}}", A, "4");
}


static void
test_array_predicates(void **state)
{
    check("{{array.includes c 1}}|{{array.includes c \"1\"}}|"
          "{{array.includes c 2}}|{{array.includes c \"2\"}}", A,
          "true|false|false|true");                                 /* ref */
    check("{{array.includes c}}|{{array.includes \"abc\" \"a\"}}|"
          "{{array.includes c vars.missing}}|{{array.includes c 1 2}}|"
          "{{array.includes a o}}", A, "false|false|false|false|false");
    check("{{array.isEmpty \"abc\"}}|{{array.isEmpty 5}}|{{array.isEmpty e}}|"
          "{{array.isEmpty o}}|{{array.isEmpty n}}|{{array.isEmpty b}}|"
          "{{array.isEmpty vars.missing}}|{{array.isEmpty \"\"}}", A,
          "true|true|true|false|true|false|true|true");             /* ref */
}


static void
test_array_concat_reverse(void **state)
{
    check("{{array.concat b \"x\" o 5 c}}|{{array.concat \"x\"}}|"
          "{{array.concat}}", A, "[1,2,3,1,\"2\",null]|[]|[]");     /* ref */
    check("{{array.reverse b}}|{{b}}|{{array.reverse \"abc\"}}|"
          "{{array.reverse}}|{{array.reverse n}}", A,
          "[3,2,1]|[1,2,3]|[]|[]|[]");                              /* ref */
}


static void
test_array_sort(void **state)
{
    check("{{array.sort (json.parse '[\"b\",\"a\",\"B\",\"A\",\"_\",\"1\","
          "\"\xc3\xa9\",\"e\",\"f\"]')}}", NULL,
          "[\"_\",\"1\",\"a\",\"A\",\"b\",\"B\",\"e\",\"\xc3\xa9\",\"f\"]");
    check("{{array.sort (json.parse '[10,9,\"8\",1.5,-1]')}}|"
          "{{array.sort (json.parse '[\"10\",9,\"8\"]')}}", NULL,
          "[-1,1.5,\"8\",9,10]|[\"10\",\"8\",9]");                  /* ref */
    check("{{array.sort (json.parse '[\"10\",\"2\",\"1\"]') sortAs=\"number\"}}"
          "|{{array.sort (json.parse '[10,2,1]') sortAs=\"string\"}}|"
          "{{array.sort (json.parse '[10,2,1]') sortAs=\"date\"}}", NULL,
          "[\"1\",\"2\",\"10\"]|[1,10,2]|[1,10,2]");                /* ref */
    check("{{array.sort (json.parse '[3,null,1]')}}|"
          "{{array.sort (json.parse '[\"b\",null,\"a\"]')}}", NULL,
          "[null,1,3]|[\"a\",\"b\",null]");                         /* ref */
    check("{{array.sort (json.parse '[2,\"x\",1]') sortAs=\"number\"}}",
          NULL, "[2,\"x\",1]");                                     /* ref */
    check("{{array.sort \"abc\"}}|{{array.sort}}|{{array.sort n}}", A,
          "[]|[]|[]");                                              /* ref */
}


#define ROWS                                                               \
    "{\"r\":[{\"n\":\"b\"},{\"n\":null},{\"x\":1},{\"n\":\"a\"},"             \
    "{\"n\":\"C\"}],\"v\":[{\"v\":\"10\"},{\"v\":9},{\"v\":\"8\"}],"          \
    "\"p\":[{\"p\":{\"q\":2},\"t\":[\"z\"]},{\"p\":{\"q\":1},"                 \
    "\"t\":[\"y\"]}],\"s\":[\"b\",\"a\"]}"

static void
test_array_sort_by(void **state)
{
    check("{{array.sort r sortBy=\"n\"}}", ROWS,
          "[{\"n\":\"a\"},{\"n\":\"b\"},{\"n\":\"C\"},{\"n\":null},"
          "{\"x\":1}]");                                            /* ref */
    check("{{array.sort r sortBy=\"n\" reverse=true}}", ROWS,
          "[{\"x\":1},{\"n\":null},{\"n\":\"C\"},{\"n\":\"b\"},"
          "{\"n\":\"a\"}]");                                        /* ref */
    check("{{array.sort v sortBy=\"v\"}}", ROWS,
          "[{\"v\":\"10\"},{\"v\":\"8\"},{\"v\":9}]");              /* ref */
    check("{{#each (array.sort p sortBy=\"p.q\")}}{{this.p.q}}{{/each}}|"
          "{{#each (array.sort p sortBy=\"t.0\")}}{{this.p.q}}{{/each}}|"
          "{{#each (array.sort p sortBy=\"p..q\")}}{{this.p.q}}{{/each}}|"
          "{{array.sort s sortBy=\"n\"}}", ROWS,
          "12|12|12|[\"b\",\"a\"]");                                /* ref */
    check("{{#each (array.sort r sortBy=\"n\")}}{{this.n}}{{/each}}|"
          "{{array.sort s reverse=\"true\"}}|{{array.sort s reverse=1}}",
          ROWS, "abC|[\"b\",\"a\"]|[\"a\",\"b\"]");                 /* ref */
}


/* localeCompare under ICU's root order, beyond the reference's example */
static void
test_array_sort_collation(void **state)
{
    check("{{array.sort (json.parse '[\"\xc3\x89\",\"f\",\"ea\",\"E\","
          "\"\xc3\xa9\",\"e\"]')}}", NULL,
          "[\"e\",\"E\",\"\xc3\xa9\",\"\xc3\x89\",\"ea\",\"f\"]");
    /* the decomposed form sorts as the precomposed one */
    check("{{array.sort (json.parse '[\"f\",\"e\xcc\x81\",\"ez\",\"e\"]')}}",
          NULL, "[\"e\",\"e\xcc\x81\",\"ez\",\"f\"]");
    check("{{array.sort (json.parse '[\"ab\",\"a-b\",\"a b\",\"a_b\","
          "\"9\",\"10\",\"$\",\"Z\",\"zz\"]')}}", NULL,
          "[\"$\",\"10\",\"9\",\"a b\",\"a_b\",\"a-b\",\"ab\",\"Z\",\"zz\"]");
    check("{{array.sort (json.parse '[\"\xc3\xbe\",\"z\",\"\xc3\xb0\",\"e\","
          "\"d\",\"\xc3\xa6\",\"ae\",\"af\"]')}}", NULL,
          "[\"ae\",\"\xc3\xa6\",\"af\",\"d\",\"\xc3\xb0\",\"e\",\"z\","
          "\"\xc3\xbe\"]");
    /* objects and arrays as String(): "[object Object]" is punctuation */
    check("{{array.sort (json.parse '[[2,1],{\"a\":1},[1]]')}}", NULL,
          "[{\"a\":1},[1],[2,1]]");
}


/* more than 64 elements: runs merged, still stable */
static void
test_array_sort_long(void **state)
{
    int      i, k, last_k, last_i;
    char     src[8192], *p, *got;
    size_t   j;
    json_t  *arr, *el;

    p = src + sprintf(src, "{{array.sort (json.parse '[");

    for (i = 0; i < 200; i++) {
        p += sprintf(p, "%s{\"k\":%d,\"i\":%d}", i ? "," : "", (i * 5) % 7,
                     i);
    }

    sprintf(p, "]') sortBy=\"k\"}}");

    got = render(src, NULL);
    arr = json_loads(got, 0, NULL);
    free(got);
    assert_non_null(arr);
    assert_int_equal(json_array_size(arr), 200);

    last_k = -1;
    last_i = -1;

    /* by k, and in array order within one k */
    json_array_foreach(arr, j, el) {
        k = (int) json_integer_value(json_object_get(el, "k"));
        i = (int) json_integer_value(json_object_get(el, "i"));

        assert_true(k >= last_k);
        if (k == last_k) {
            assert_true(i > last_i);
        }

        last_k = k;
        last_i = i;
    }

    json_decref(arr);
}


static void
test_json_parse(void **state)
{
    check("{{json.parse '{\"a\":[1,\"x\",true,null]}'}}", NULL,
          "{\"a\":[1,\"x\",true,null]}");                           /* ref */
    check("{{json.parse \"123\"}}|{{json.parse 123}}|"
          "{{json.parse '\"str\"'}}|{{json.parse \"false\"}}|"
          "{{json.parse \"null\"}}|{{json.parse \"{\\\"a\\\":1}\"}}", NULL,
          "123||str|false||{\"a\":1}");                             /* ref */
    check("{{json.parse (string.concat \"[\" \"1]\")}}|"
          "{{json.parse '  [\"a\",\"b\"]  '}}", NULL,
          "[1]|[\"a\",\"b\"]");                                     /* ref */
    check("{{let arr=(json.parse '[\"a b\",\"c\"]')}}{{array.first vars.arr}}",
          NULL, "a b");                                             /* ref */
    check("[{{json.parse \"bad\"}}][{{json.parse \"\"}}][{{json.parse}}]"
          "[{{json.parse 0}}][{{json.parse \"[1,]\"}}][{{json.parse \"1 2\"}}]",
          NULL, "[][][][][][]");                                    /* ref */
    /* null as an argument is the word null (ref: section 2.4.4) */
    check("[{{string.concat (json.parse \"bad\")}}]"
          "[{{eq (json.parse \"bad\") \"null\"}}]"
          "[{{math.add (json.parse \"bad\") 1}}]", NULL,
          "[null][true][1]");
    check("[{{json.parse \"\xff\"}}][{{json.parse '\"\xc3\xa9\"'}}]", NULL,
          "[][\xc3\xa9]");
}


/* arrays and objects print as JSON.stringify: numbers as String(n) */
static void
test_json_output(void **state)
{
    check("{{json.parse \"[0.1,1.0,1e21,-0.0,1.5e-7,100]\"}}|"
          "{{array.sort (json.parse \"[0.3,0.1]\")}}", NULL,
          "[0.1,1,1e+21,0,1.5e-7,100]|[0.1,0.3]");
    check("{{o}}", "{\"o\":{\"a\":0.1,\"s\":\"q\\\"\\\\/\\n\\u0001\xc3\xa9\","
          "\"n\":null,\"t\":[true,false,{}]}}",
          "{\"a\":0.1,\"s\":\"q\\\"\\\\/\\n\\u0001\xc3\xa9\",\"n\":null,"
          "\"t\":[true,false,{}]}");
}


static void
test_file_exists(void **state)
{
    check("{{file.exists \"zz/q1.tmpl\"}}|{{file.exists \"zz\"}}|"
          "{{file.exists \"zz/t.css\"}}|{{file.exists \"no.tmpl\"}}", NULL,
          "true|false|true|false");                                 /* ref */
    check("{{file.exists \"zz/app.js\"}}|{{file.exists \"zz/APP.JS\"}}|"
          "{{file.exists \"zz/plain.css\"}}|{{file.exists \"zz/t.CSS\"}}|"
          "{{file.exists \"'zz/q1.tmpl'\"}}|{{file.exists \"zz/q1\"}}", NULL,
          "true|false|true|false|true|false");
    /* jPulse: true; our jail keeps it a missing file */
    check("{{file.exists \"../app.conf\"}}|{{file.exists \"/etc/passwd\"}}|"
          "{{file.exists \"\"}}", NULL, "false|false|false");
    check("{{file.exists}}", NULL,
          "<!-- Error: Handlebar \"file.exists\": Cannot read properties of "
          "undefined (reading 'replace') -->");                     /* ref */
    check("{{file.exists 5}}", NULL,
          "<!-- Error: Handlebar \"file.exists 5\": filePath.replace is not "
          "a function -->");                                        /* ref */
}


static void
test_file_timestamp(void **state)
{
    check("{{file.timestamp \"zz/q1.tmpl\"}}|{{file.timestamp \"zz/t.css\"}}|"
          "{{file.timestamp \"nope.css\"}}|{{file.timestamp \"../x\"}}", NULL,
          "1714979289000|7|1700000000000|1700000000000");           /* ref */
    check("{{math.add (file.timestamp \"zz/q1.tmpl\") 1}}", NULL,
          "1714979289001");
    check("{{file.timestamp}}", NULL,
          "<!-- Error: Handlebar \"file.timestamp\": Cannot read properties "
          "of undefined (reading 'replace') -->");
}


static void
test_file_list(void **state)
{
    check("{{file.list \"zz/*.tmpl\"}}", NULL,
          "[\"zz/Upper.tmpl\",\"zz/app.js.tmpl\",\"zz/crlf.tmpl\","
          "\"zz/inc1.tmpl\",\"zz/node_modules.tmpl\",\"zz/q1.tmpl\","
          "\"zz/q22.tmpl\",\"zz/t.css.tmpl\"]");                    /* ref */
    check("{{file.list \"zz/*/*.tmpl\"}}|{{file.list \"zz/q?.tmpl\"}}", NULL,
          "[\"zz/sub/s1.tmpl\"]|[\"zz/q1.tmpl\"]");                 /* ref */
    check("{{file.list \"zz/**\"}}{{file.list \"../x\"}}{{file.list}}"
          "{{file.list \"zz/*.none\"}}{{file.list \"/zz/*\"}}"
          "{{file.list \"\"}}{{file.list 0}}{{file.list \"zz\\\\..\\\\*\"}}",
          NULL, "[][][][][][][][]");                                /* ref */
    check("{{#each file.list \"zz/q*.tmpl\" sortBy=\"filename\"}}<{{this}}>"
          "{{/each}}|{{#each (file.list \"zz/q*.tmpl\")}}<{{this}}>{{/each}}",
          NULL, "<zz/q1.tmpl><zz/q22.tmpl>|<zz/q1.tmpl><zz/q22.tmpl>");
    check("{{file.list 5}}", NULL,
          "<!-- Error: Handlebar \"file.list 5\": globPattern.includes is "
          "not a function -->");                                    /* ref */
}


/* "*" in any segment, "?" across "/", the walk's limits */
static void
test_file_list_walk(void **state)
{
    check("{{file.list \"*/config.shtml\"}}|{{file.list \"*\"}}|"
          "{{file.list \"*/*/*/*.tmpl\"}}", NULL,
          "[\"admin/config.shtml\"]|[\"top.shtml\"]|"
          "[\"zz/sub/deeper/d1.tmpl\"]");
    check("{{file.list \"zz?sub?s1.tmpl\"}}|{{file.list \"admin/*\"}}|"
          "{{file.list \"top.shtml\"}}|{{file.list \"*.shtml\"}}", NULL,
          "[\"zz/sub/s1.tmpl\"]|[\"admin/config.shtml\",\"admin/users.shtml\"]"
          "|[\"top.shtml\"]|[\"top.shtml\"]");
    /* hidden and node_modules entries are never walked */
    check("{{file.list \"zz/*/x.tmpl\"}}{{file.list \"zz/*/m.tmpl\"}}"
          "{{file.list \"zz/.git/x.tmpl\"}}{{file.list \"./top.shtml\"}}"
          "{{file.list \"zz/node_modules/m.tmpl\"}}"
          "{{file.list \"zz/.hidden.tmpl\"}}", NULL, "[][][][][][]");
    check("{{array.length (file.list \"*/*.tmpl\")}}", NULL, "8");
}


int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_math_variadic),
        cmocka_unit_test(test_math_unary),
        cmocka_unit_test(test_math_number_syntax),
        cmocka_unit_test(test_math_output),
        cmocka_unit_test(test_math_as_argument),
        cmocka_unit_test(test_array_at),
        cmocka_unit_test(test_array_join_length),
        cmocka_unit_test(test_array_predicates),
        cmocka_unit_test(test_array_concat_reverse),
        cmocka_unit_test(test_array_sort),
        cmocka_unit_test(test_array_sort_by),
        cmocka_unit_test(test_array_sort_collation),
        cmocka_unit_test(test_array_sort_long),
        cmocka_unit_test(test_json_parse),
        cmocka_unit_test(test_json_output),
        cmocka_unit_test(test_file_exists),
        cmocka_unit_test(test_file_timestamp),
        cmocka_unit_test(test_file_list),
        cmocka_unit_test(test_file_list_walk),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}

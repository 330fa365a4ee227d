/*
 * The W-141 syntax of string fields ("," OR, ";" AND, "!" NOT, "*"
 * wildcards, /re/flags), for one field or a multi-field parameter.
 *
 * A value is first parsed into a flat tree (OR of AND groups of terms),
 * bounded by JP_SEARCH_TERMS_MAX and JP_SEARCH_AND_MAX, then written for
 * one field or for the fields of a multi-field parameter. The shapes are
 * jPulse's (schemaBasedQuery, StringQueryParser) with its bugs fixed:
 * wildcards escape every other regex metacharacter; a /regex/ is at most
 * JP_SEARCH_REGEX_MAX bytes, must compile (PCRE2, the engine MongoDB
 * runs) and must not nest repetitions (no catastrophic backtracking), or
 * the value is refused (jPulse searched it as a literal); "!x" is
 * {$ne:"x"} (jPulse wrote {$not:"x"}, which MongoDB refuses); a NOT
 * of a multi-field parameter is a $nor (none of its fields matches).
 */

#define PCRE2_CODE_UNIT_WIDTH 8

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <pcre2.h>

#include "jp_search_int.h"


typedef enum {
    JP_TERM_EXACT = 0,
    JP_TERM_REGEX,
    JP_TERM_ANY                 /* "!" alone: jPulse's empty condition */
} jp_term_kind_e;


typedef struct {
    jp_term_kind_e              kind;
    int                         neg;
    char                       *text;       /* value or pattern, NUL-ended */
    char                        options[4]; /* "ims" subset, sorted */
} jp_term_t;


typedef struct {
    size_t                      nterms;
    jp_term_t                   terms[JP_SEARCH_TERMS_MAX];
    size_t                      ngroups;
    size_t                      group[JP_SEARCH_TERMS_MAX]; /* sizes */
} jp_w141_t;


static int jp_w141_parse(const char *param, const char *value, size_t len,
    jp_w141_t *w, jp_search_error_t *err);
static void jp_w141_free(jp_w141_t *w);
static int jp_w141_term(const char *param, const char *p, size_t len,
    jp_w141_t *w, jp_search_error_t *err);
static int jp_w141_regex_check(const char *pattern, size_t len,
    const char *flags, size_t flen, char *options);
static int jp_w141_regex_safe(const char *p, size_t len);
static int jp_w141_regex_escape(const char *p, size_t len, size_t *i,
    int in_class);
static int jp_w141_regex_class(const char *p, size_t len, size_t *i);
static int jp_w141_regex_group(const char *p, size_t len, size_t *i);
static int jp_w141_regex_brace(const char *p, size_t len, size_t *i);
static json_t *jp_w141_cond(const jp_term_t *t, int positive);
static json_t *jp_w141_leaf(const jp_term_t *t, const char *const *fields,
    size_t nfields);
static json_t *jp_w141_write(const jp_w141_t *w, const char *const *fields,
    size_t nfields, int *exact);


void
jp_search_error_set(jp_search_error_t *err, const char *code,
    const char *param, size_t plen, const char *fmt, ...)
{
    va_list  ap;

    if (err == NULL) {
        return;
    }

    err->code = code;

    if (plen >= sizeof(err->param)) {
        plen = sizeof(err->param) - 1;
    }

    memcpy(err->param, param, plen);
    err->param[plen] = '\0';

    va_start(ap, fmt);
    vsnprintf(err->message, sizeof(err->message), fmt, ap);
    va_end(ap);
}


static int
jp_w141_space(int c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f'
           || c == '\v';
}


void
jp_search_trim(const char **p, size_t *len)
{
    while (*len && jp_w141_space((unsigned char) **p)) {
        (*p)++;
        (*len)--;
    }

    while (*len && jp_w141_space((unsigned char) (*p)[*len - 1])) {
        (*len)--;
    }
}


/*
 * jPulse protects "," and ";" inside every /x/ of the value (the regex
 * /\/([^/]+)\/([gimsuy]*)/g, leftmost matches, not overlapping) before
 * splitting: mark those bytes.
 */

static void
jp_w141_protect(const char *v, size_t len, unsigned char *prot)
{
    size_t  i, j;

    memset(prot, 0, len);

    for (i = 0; i < len; i++) {
        if (v[i] != '/' || i + 1 >= len || v[i + 1] == '/') {
            continue;
        }

        for (j = i + 1; j < len && v[j] != '/'; j++) { /* void */ }

        if (j == len) {
            return;
        }

        memset(prot + i + 1, 1, j - i - 1);

        for (i = j + 1; i < len && strchr("gimsuy", v[i]) && v[i]; i++) {
            /* void */
        }

        i--;
    }
}


static int
jp_w141_parse(const char *param, const char *value, size_t len, jp_w141_t *w,
    jp_search_error_t *err)
{
    size_t          i, s, a, as, n, plen;
    const char     *p;
    unsigned char  *prot;

    memset(w, 0, sizeof(*w));
    plen = strlen(param);

    prot = malloc(len + 1);
    if (prot == NULL) {
        jp_search_error_set(err, NULL, param, plen, "out of memory");
        return -1;
    }

    jp_w141_protect(value, len, prot);

    /* OR terms at ',', each an AND group at ';' */

    for (s = 0, i = 0; i <= len; i++) {
        if (i < len && (value[i] != ',' || prot[i])) {
            continue;
        }

        n = w->nterms;

        for (as = s, a = s; a <= i; a++) {
            if (a < i && (value[a] != ';' || prot[a])) {
                continue;
            }

            p = value + as;
            plen = a - as;
            jp_search_trim(&p, &plen);

            if (plen) {
                if (w->nterms == JP_SEARCH_TERMS_MAX) {
                    jp_search_error_set(err, "INVALID_PARAMETER", param,
                                        strlen(param),
                                        "more than %d terms",
                                        JP_SEARCH_TERMS_MAX);
                    goto failed;
                }

                if (w->nterms - n == JP_SEARCH_AND_MAX) {
                    jp_search_error_set(err, "INVALID_PARAMETER", param,
                                        strlen(param),
                                        "more than %d terms in one AND "
                                        "group", JP_SEARCH_AND_MAX);
                    goto failed;
                }

                if (jp_w141_term(param, p, plen, w, err) != 0) {
                    goto failed;
                }
            }

            as = a + 1;
        }

        if (w->nterms > n) {
            w->group[w->ngroups++] = w->nterms - n;
        }

        s = i + 1;
    }

    free(prot);

    return 0;

failed:

    free(prot);
    jp_w141_free(w);

    return -1;
}


static void
jp_w141_free(jp_w141_t *w)
{
    size_t  i;

    for (i = 0; i < w->nterms; i++) {
        free(w->terms[i].text);
    }

    w->nterms = 0;
    w->ngroups = 0;
}


static int
jp_w141_term(const char *param, const char *p, size_t len, jp_w141_t *w,
    jp_search_error_t *err)
{
    int         star;
    char       *d;
    size_t      i, slash;
    jp_term_t  *t;

    t = &w->terms[w->nterms];
    memset(t, 0, sizeof(*t));

    if (p[0] == '!') {
        t->neg = 1;
        p++;
        len--;
        jp_search_trim(&p, &len);

        if (len == 0) {
            t->kind = JP_TERM_ANY;
            t->neg = 0;
            w->nterms++;
            return 0;
        }
    }

    /* /pattern/flags: the last '/' ends the pattern, flags [gimsuy]* */

    if (len >= 3 && p[0] == '/') {
        for (slash = len - 1; slash > 0 && p[slash] != '/'; slash--) {
            /* void */
        }

        for (i = slash + 1; i < len && strchr("gimsuy", p[i]) && p[i]; i++) {
            /* void */
        }

        if (slash > 1 && i == len) {
            if (len > JP_SEARCH_REGEX_MAX) {
                jp_search_error_set(err, "INVALID_PARAMETER", param,
                                    strlen(param),
                                    "a regular expression longer than %d "
                                    "bytes", JP_SEARCH_REGEX_MAX);
                return -1;
            }

            if (jp_w141_regex_check(p + 1, slash - 1, p + slash + 1,
                                    len - slash - 1, t->options)
                != 0)
            {
                jp_search_error_set(err, "INVALID_PARAMETER", param,
                                    strlen(param),
                                    "an invalid or unsafe regular "
                                    "expression");
                return -1;
            }

            t->kind = JP_TERM_REGEX;
            t->text = strndup(p + 1, slash - 1);
            goto done;
        }
    }

    if (memchr(p, '*', len) == NULL) {
        t->kind = JP_TERM_EXACT;
        t->text = strndup(p, len);
        goto done;
    }

    /*
     * a wildcard: anchored where no '*' is, every metacharacter escaped;
     * each '*' past the first multiplies the backtracking of a miss by
     * the field's length, so two at most, in JP_SEARCH_REGEX_MAX bytes
     */

    for (i = 0, star = 0; i < len; i++) {
        star += (p[i] == '*');
    }

    if (star > 2 || len > JP_SEARCH_REGEX_MAX) {
        jp_search_error_set(err, "INVALID_PARAMETER", param, strlen(param),
                            "a wildcard with more than two '*' or longer "
                            "than %d bytes", JP_SEARCH_REGEX_MAX);
        return -1;
    }

    t->kind = JP_TERM_REGEX;
    strcpy(t->options, "i");

    t->text = malloc(2 * len + 3);
    if (t->text == NULL) {
        goto done;
    }

    d = t->text;
    star = 0;

    if (p[0] != '*') {
        *d++ = '^';
    }

    for (i = 0; i < len; i++) {
        if (p[i] == '*') {
            if (!star) {
                *d++ = '.';
                *d++ = '*';
            }

            star = 1;
            continue;
        }

        star = 0;

        if (strchr("\\^$.|?+()[]{}", p[i]) && p[i]) {
            *d++ = '\\';
        }

        *d++ = p[i];
    }

    if (p[len - 1] != '*') {
        *d++ = '$';
    }

    *d = '\0';

done:

    if (t->text == NULL) {
        jp_search_error_set(err, NULL, param, strlen(param), "out of memory");
        return -1;
    }

    w->nterms++;

    return 0;
}


/*
 * JavaScript's flags: each at most once. MongoDB knows i, m, s (and x,
 * which JavaScript lacks); g and y mean nothing to a match and u is how
 * MongoDB always reads patterns, so they are dropped.
 */

static int
jp_w141_regex_check(const char *pattern, size_t len, const char *flags,
    size_t flen, char *options)
{
    int                 rc;
    size_t              i, off;
    uint32_t            opts;
    const char         *o;
    pcre2_code         *re;
    unsigned char       seen[128];

    memset(seen, 0, sizeof(seen));
    opts = PCRE2_UTF | PCRE2_NEVER_BACKSLASH_C;

    for (i = 0; i < flen; i++) {
        if (seen[(unsigned char) flags[i] & 0x7f]++) {
            return -1;
        }
    }

    for (o = "ims"; *o; o++) {
        if (seen[(unsigned char) *o]) {
            *options++ = *o;
        }
    }

    *options = '\0';

    if (seen['i']) {
        opts |= PCRE2_CASELESS;
    }

    if (seen['m']) {
        opts |= PCRE2_MULTILINE;
    }

    if (seen['s']) {
        opts |= PCRE2_DOTALL;
    }

    if (memchr(pattern, '\0', len) != NULL || !jp_w141_regex_safe(pattern, len))
    {
        return -1;
    }

    re = pcre2_compile((PCRE2_SPTR) pattern, len, opts, &rc, &off, NULL);
    if (re == NULL) {
        return -1;
    }

    pcre2_code_free(re);

    return 0;
}


/*
 * No catastrophic backtracking: a group repeated without bound (*, +,
 * {n,} or {n,m} with m > 1) may hold neither a repetition without bound
 * nor an alternation ("(a+)+", "(a|a)*", "(\w+\s?)*" are refused; "(ab)+",
 * "(a?b)*", "a+b+" pass). Escapes and classes are skipped as PCRE2 reads
 * them; what this scanner misreads, PCRE2 then refuses or it only errs on
 * the side of refusing.
 */

#define JP_REGEX_DEPTH  16

static int
jp_w141_regex_safe(const char *p, size_t len)
{
    int     depth, risky, last_risky, q;
    size_t  i;
    int     frame[JP_REGEX_DEPTH];

    depth = 0;
    last_risky = 0;
    risky = 0;

    for (i = 0; i < len; i++) {
        q = 0;

        switch (p[i]) {

        case '\\':
            if (jp_w141_regex_escape(p, len, &i, 0) != 0) {
                return 0;
            }

            last_risky = 0;
            continue;

        case '[':
            if (jp_w141_regex_class(p, len, &i) != 0) {
                return 0;
            }

            last_risky = 0;
            continue;

        case '(':
            if (depth == JP_REGEX_DEPTH || jp_w141_regex_group(p, len, &i) != 0)
            {
                return 0;
            }

            frame[depth++] = risky;
            risky = 0;
            last_risky = 0;
            continue;

        case ')':
            if (depth == 0) {
                return 0;
            }

            last_risky = risky;
            risky = frame[--depth] | risky;
            continue;

        case '|':
            risky = 1;
            last_risky = 0;
            continue;

        case '*':
        case '+':
            q = 1;
            break;

        case '{':
            /*
             * {n}, {n,}, {n,m}, and for newer PCRE2 {,m} and spaces
             * inside: read more loosely than PCRE2 so that no repeat
             * passes as a literal
             */
            q = jp_w141_regex_brace(p, len, &i);
            if (q < 0) {
                last_risky = 0;
                continue;
            }

            break;

        default:
            last_risky = 0;
            continue;
        }

        if (q) {
            if (last_risky) {
                return 0;
            }

            risky = 1;
        }

        /* a lazy or possessive suffix */
        if (i + 1 < len && (p[i + 1] == '?' || p[i + 1] == '+')) {
            i++;
        }

        last_risky = 0;
    }

    return depth == 0;
}


/* the condition on one field: the value, {$ne}, a regex, {$not: regex} */

static json_t *
jp_w141_cond(const jp_term_t *t, int positive)
{
    json_t  *re;

    if (t->kind == JP_TERM_EXACT) {
        return positive ? json_string(t->text)
                        : json_pack("{s:s}", "$ne", t->text);
    }

    /*
     * A BSON regex as the value matches as $regex does; libbson reads no
     * {$regex: <regex value>} from Extended JSON, only the bare value
     */
    re = json_pack("{s:{s:s,s:s}}", "$regularExpression", "pattern", t->text,
                   "options", t->options);

    return positive ? re : json_pack("{s:o}", "$not", re);
}


static json_t *
jp_w141_leaf(const jp_term_t *t, const char *const *fields, size_t nfields)
{
    size_t   i;
    json_t  *a, *c;

    if (t->kind == JP_TERM_ANY) {
        return json_object();
    }

    if (nfields == 1) {
        c = jp_w141_cond(t, !t->neg);
        return c ? json_pack("{s:o}", fields[0], c) : NULL;
    }

    /* several fields: any of them matches, or (NOT) none does */

    a = json_array();
    if (a == NULL) {
        return NULL;
    }

    for (i = 0; i < nfields; i++) {
        c = jp_w141_cond(t, 1);
        if (c == NULL || json_array_append_new(a, json_pack("{s:o}",
                                                            fields[i], c))
                         != 0)
        {
            json_decref(a);
            return NULL;
        }
    }

    return json_pack("{s:o}", t->neg ? "$nor" : "$or", a);
}


static json_t *
jp_w141_write(const jp_w141_t *w, const char *const *fields, size_t nfields,
    int *exact)
{
    size_t   g, i, k, n;
    json_t  *ors, *ands, *leaf, *v;

    *exact = (w->nterms > 0);

    for (i = 0; i < w->nterms; i++) {
        if (w->terms[i].kind != JP_TERM_EXACT) {
            *exact = 0;
        }
    }

    if (w->nterms == 0) {
        return json_object();
    }

    ors = json_array();
    if (ors == NULL) {
        return NULL;
    }

    for (k = 0, g = 0; g < w->ngroups; g++) {
        n = w->group[g];
        ands = json_array();
        if (ands == NULL) {
            goto nomem;
        }

        for (i = 0; i < n; i++, k++) {
            leaf = jp_w141_leaf(&w->terms[k], fields, nfields);
            if (leaf == NULL || json_array_append_new(ands, leaf) != 0) {
                json_decref(ands);
                goto nomem;
            }
        }

        if (n == 1) {
            leaf = json_incref(json_array_get(ands, 0));
            json_decref(ands);

            /* jPulse's multi-field OR: every term on every field, flat */
            v = json_object_get(leaf, "$or");
            if (nfields > 1 && w->ngroups > 1 && v != NULL) {
                if (json_array_extend(ors, v) != 0) {
                    json_decref(leaf);
                    goto nomem;
                }

                json_decref(leaf);
                continue;
            }

        } else {
            leaf = json_pack("{s:o}", "$and", ands);
        }

        if (leaf == NULL || json_array_append_new(ors, leaf) != 0) {
            goto nomem;
        }
    }

    if (w->ngroups == 1) {
        v = json_incref(json_array_get(ors, 0));
        json_decref(ors);
        return v;
    }

    return json_pack("{s:o}", "$or", ors);

nomem:

    json_decref(ors);

    return NULL;
}


json_t *
jp_search_filter_string(const char *field, const char *value, size_t len,
    int *exact, jp_search_error_t *err)
{
    json_t     *q;
    jp_w141_t   w;

    if (jp_w141_parse(field, value, len, &w, err) != 0) {
        return NULL;
    }

    q = jp_w141_write(&w, &field, 1, exact);
    jp_w141_free(&w);

    if (q == NULL) {
        jp_search_error_set(err, NULL, field, strlen(field), "out of memory");
    }

    return q;
}


json_t *
jp_search_filter_multi(const jp_search_multi_t *m, const char *value,
    size_t len, int *exact, jp_search_error_t *err)
{
    size_t       i;
    json_t      *q;
    jp_w141_t    w;
    const char  *fields[JP_SEARCH_MULTI_MAX];

    if (jp_w141_parse(m->name, value, len, &w, err) != 0) {
        return NULL;
    }

    for (i = 0; i < m->nfields; i++) {
        fields[i] = m->fields[i];
    }

    q = jp_w141_write(&w, fields, m->nfields, exact);
    jp_w141_free(&w);

    if (q == NULL) {
        jp_search_error_set(err, NULL, m->name, strlen(m->name),
                            "out of memory");
    }

    return q;
}


/*
 * An escape at p[*i] ('\\'): *i is left on its last byte. \Q and \E
 * (quoting hides metacharacters from this scanner), \g and \k (calls of
 * a group repeat it unseen) are refused; \cX is three bytes.
 */

static int
jp_w141_regex_escape(const char *p, size_t len, size_t *i, int in_class)
{
    size_t  j;

    j = *i + 1;
    if (j >= len) {
        return -1;
    }

    switch (p[j]) {

    case 'Q':
    case 'E':
        return -1;

    case 'g':
    case 'k':
        if (!in_class) {
            return -1;
        }

        break;

    case 'c':
        j++;
        if (j >= len) {
            return -1;
        }

        break;
    }

    *i = j;

    return 0;
}


/*
 * A class at p[*i] ('['), ended as PCRE2 ends it: a ']' right after "["
 * or "[^" is a member, escapes as outside, "[:name:]" is a POSIX name;
 * any other "[:", "[." or "[=" is refused. *i is left on the ']'.
 */

static int
jp_w141_regex_class(const char *p, size_t len, size_t *i)
{
    size_t  j, k;

    j = *i + 1;

    if (j < len && p[j] == '^') {
        j++;
    }

    if (j < len && p[j] == ']') {
        j++;
    }

    for ( /* void */ ; j < len; j++) {

        if (p[j] == ']') {
            *i = j;
            return 0;
        }

        if (p[j] == '\\') {
            if (jp_w141_regex_escape(p, len, &j, 1) != 0) {
                return -1;
            }

            continue;
        }

        if (p[j] != '[' || j + 1 >= len
            || (p[j + 1] != ':' && p[j + 1] != '.' && p[j + 1] != '='))
        {
            continue;
        }

        if (p[j + 1] != ':') {
            return -1;
        }

        k = j + 2;
        if (k < len && p[k] == '^') {
            k++;
        }

        while (k < len && p[k] >= 'a' && p[k] <= 'z') {
            k++;
        }

        if (k + 1 >= len || p[k] != ':' || p[k + 1] != ']') {
            return -1;
        }

        j = k + 1;
    }

    return -1;
}


/*
 * A group at p[*i] ('('): plain, or "(?:", "(?=", "(?!", "(?<=", "(?<!",
 * "(?>", whose bodies this scanner reads as any group's. Comments, inline
 * options ("(?x)" changes what every later byte means), names,
 * recursion, conditions and "(*VERB)" are refused. *i is left on the
 * group's opening bytes' last.
 */

static int
jp_w141_regex_group(const char *p, size_t len, size_t *i)
{
    size_t  j;

    j = *i + 1;

    if (j < len && p[j] == '*') {
        return -1;
    }

    if (j >= len || p[j] != '?') {
        return 0;
    }

    j++;

    if (j < len && (p[j] == ':' || p[j] == '=' || p[j] == '!' || p[j] == '>'))
    {
        *i = j;
        return 0;
    }

    if (j + 1 < len && p[j] == '<' && (p[j + 1] == '=' || p[j + 1] == '!')) {
        *i = j + 1;
        return 0;
    }

    return -1;
}


/*
 * A brace at p[*i]: 1 if it repeats more than once, 0 if at most once,
 * -1 if it is a literal; *i is left on the '}' of a quantifier.
 */

static int
jp_w141_regex_brace(const char *p, size_t len, size_t *i)
{
    int     comma, digits;
    long    lo, hi;
    size_t  j;

    lo = 0;
    hi = -1;
    comma = 0;
    digits = 0;

    for (j = *i + 1; j < len && p[j] != '}'; j++) {

        if (p[j] == ' ') {
            continue;
        }

        if (p[j] == ',' && !comma) {
            comma = 1;
            continue;
        }

        if (p[j] < '0' || p[j] > '9') {
            return -1;
        }

        digits = 1;

        if (comma) {
            hi = (hi < 0 ? 0 : hi) * 10 + (p[j] - '0');
            hi = hi > 1000000 ? 1000000 : hi;

        } else {
            lo = lo * 10 + (p[j] - '0');
            lo = lo > 1000000 ? 1000000 : lo;
        }
    }

    if (j >= len || !digits) {
        return -1;
    }

    *i = j;

    if (!comma) {
        return lo > 1;
    }

    return hi < 0 || hi > 1;
}

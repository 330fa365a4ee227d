/* Unit tests: libjpulse/jp_sysinfo.c */

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "jp_sysinfo.h"


#define S(s)  s, sizeof(s) - 1


static void
test_stat_starttime(void **state)
{
    unsigned long long  ticks;

    assert_int_equal(jp_parse_proc_stat_starttime(S(
        "1234 (nginx) S 1 1234 1234 0 -1 4194624 100 0 0 0 1 2 0 0 20 0 "
        "1 0 98765 12345678 500\n"), &ticks), 0);
    assert_int_equal(ticks, 98765);
}


static void
test_stat_command_with_spaces_and_parens(void **state)
{
    unsigned long long  ticks;

    assert_int_equal(jp_parse_proc_stat_starttime(S(
        "7 (nginx: worker (x) ) S 1 1 1 0 -1 0 0 0 0 0 0 0 0 0 20 0 "
        "1 0 4242 0 0"), &ticks), 0);
    assert_int_equal(ticks, 4242);
}


static void
test_stat_malformed(void **state)
{
    unsigned long long  ticks;

    assert_int_equal(jp_parse_proc_stat_starttime(S("1234 nginx S 1"),
                                                  &ticks), -1);
    assert_int_equal(jp_parse_proc_stat_starttime(S("1 (x) S 1 2 3"),
                                                  &ticks), -1);
    assert_int_equal(jp_parse_proc_stat_starttime(S(""), &ticks), -1);
    assert_int_equal(jp_parse_proc_stat_starttime(S(
        "1 (x) S 1 1 1 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 "
        "99999999999999999999999"), &ticks), -1);
}


static void
test_statm(void **state)
{
    unsigned long long  pages;

    assert_int_equal(jp_parse_proc_statm_resident(S("4000 1234 56 7 0 8 0\n"),
                                                  &pages), 0);
    assert_int_equal(pages, 1234);
    assert_int_equal(jp_parse_proc_statm_resident(S("4000"), &pages), -1);
}


static void
test_live_process_facts(void **state)
{
    time_t           start;
    uint64_t         rss;
    jp_host_stats_t  host;

    assert_int_equal(jp_process_start_time(getpid(), &start), 0);
    /* this process started a moment ago */
    assert_true(start <= time(NULL));
    assert_true(start >= time(NULL) - 60);

    assert_int_equal(jp_process_rss(getpid(), &rss), 0);
    assert_true(rss > 0);

    assert_int_equal(jp_process_start_time(-5, &start), -1);

    assert_int_equal(jp_host_stats(&host), 0);
    assert_true(host.total_memory > 0);
    assert_true(host.cpus > 0);
}


int
main(void)
{
    const struct CMUnitTest  tests[] = {
        cmocka_unit_test(test_stat_starttime),
        cmocka_unit_test(test_stat_command_with_spaces_and_parens),
        cmocka_unit_test(test_stat_malformed),
        cmocka_unit_test(test_statm),
        cmocka_unit_test(test_live_process_facts),
    };

    return cmocka_run_group_tests_name("jp_sysinfo", tests, NULL, NULL);
}

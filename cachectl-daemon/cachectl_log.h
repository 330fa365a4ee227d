/*
 * cachectl's log: one line per event on stderr, with the time and a
 * level; under systemd (stderr is the journal: JOURNAL_STREAM) a "<N>"
 * priority prefix instead of the time. Control characters in a message
 * (a file name with a newline) are escaped: \n, \xNN.
 */

#ifndef CACHECTL_LOG_H
#define CACHECTL_LOG_H


#define CACHECTL_ERR    0
#define CACHECTL_WARN   1
#define CACHECTL_INFO   2
#define CACHECTL_DEBUG  3


extern int  cachectl_log_level;

void cachectl_log(int level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* s is UTF-8 as jansson takes it (a key of a JSON table, a json_string) */
int cachectl_utf8_valid(const char *s);


#endif /* CACHECTL_LOG_H */

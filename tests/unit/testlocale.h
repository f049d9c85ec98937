/* Test helper: switch LC_NUMERIC to a locale whose decimal point is a comma,
 * compiling one with localedef (Debian: libc-bin + `locales`) into a
 * temporary LOCPATH when none is installed. Never skips: code that parses or
 * prints numbers must be checked under such a locale. */
#ifndef MEDNER_TEST_LOCALE_H
#define MEDNER_TEST_LOCALE_H

#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* locdir: at least 32 bytes, receives the temporary directory ("" if none). */
static inline void use_decimal_comma_locale(char *locdir)
{
    static const char *const names[] = { "de_DE.UTF-8", "de_DE.utf8", "fr_FR.UTF-8" };
    const char *got = NULL;
    locdir[0] = '\0';
    for (size_t i = 0; i < sizeof names / sizeof *names && got == NULL; i++)
        got = setlocale(LC_NUMERIC, names[i]);
    if (got == NULL) {
        snprintf(locdir, 32, "/tmp/medner-locale-XXXXXX");
        if (mkdtemp(locdir) == NULL)
            fail_msg("mkdtemp failed");
        char cmd[256];
        snprintf(cmd, sizeof cmd, "localedef -i de_DE -f UTF-8 %s/de_DE.UTF-8 2>/dev/null", locdir);
        if (system(cmd) != 0)
            fail_msg("cannot build a de_DE locale with localedef (install Debian's `locales`)");
        setenv("LOCPATH", locdir, 1);
        got = setlocale(LC_NUMERIC, "de_DE.UTF-8");
    }
    assert_non_null(got);
    assert_string_equal(localeconv()->decimal_point, ",");
}

static inline void restore_c_locale(const char *locdir)
{
    setlocale(LC_NUMERIC, "C");
    if (locdir[0]) {
        char cmd[128];
        snprintf(cmd, sizeof cmd, "rm -rf %s", locdir);
        assert_int_equal(system(cmd), 0);
        unsetenv("LOCPATH");
    }
}

#endif

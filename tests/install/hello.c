/* Smallest program built against an installed medner via pkg-config. */
#include <stdio.h>
#include <string.h>

#include <medner.h>

int main(void)
{
    if (strcmp(medner_version(), MEDNER_VERSION_STRING) != 0) {
        fprintf(stderr, "version mismatch: %s vs %s\n", medner_version(), MEDNER_VERSION_STRING);
        return 1;
    }
    printf("hello from medner %s: %s\n", medner_version(), medner_status_str(MEDNER_E_PARSE));
    return 0;
}

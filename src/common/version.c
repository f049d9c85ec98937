#include "common.h"

const char *medner_version(void)
{
    return MEDNER_VERSION_STRING;
}

int medner_version_number(void)
{
    return MEDNER_VERSION_NUMBER;
}

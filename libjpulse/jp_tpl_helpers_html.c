/*
 * string.htmlToText and string.htmlToMd (see jp_tpl_helpers.c).
 */

#include <stdlib.h>
#include <string.h>

#include "jp_tpl_int.h"


const jp_tpl_helper_t  jp_tpl_helpers_html[] = {
    { NULL, NULL, 0, 0 }
};

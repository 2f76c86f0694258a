/*
 * platform_sinks_none.c — platform_sinks.h where the operating system has
 * no event sink of its own that we feed: events go to in-process sessions
 * only.
 */
#include "platform_sinks.h"

void tld_platform_sinks_init(void)
{
}

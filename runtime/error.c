/* error.c — status strings and message formatting. */
#include <stdio.h>
#include <string.h>

#include "internal.h"

const char *onyx_version(void) { return ONYX_VERSION; }

const char *onyx_status_string(onyx_status st)
{
    switch (st) {
    case ONYX_OK: return "ok";
    case ONYX_E_ARG: return "invalid argument";
    case ONYX_E_PARSE: return "parse error";
    case ONYX_E_UNSUPPORTED: return "unsupported";
    case ONYX_E_SHAPE: return "shape error";
    case ONYX_E_NOMEM: return "out of memory";
    case ONYX_E_IO: return "i/o error";
    case ONYX_E_LIMIT: return "limit exceeded";
    case ONYX_E_DEVICE: return "device error";
    case ONYX_E_INTERNAL: return "internal error";
    }
    return "unknown status";
}

onyx_status ox_verrf(char *buf, size_t cap, onyx_status st, const char *fmt, va_list ap)
{
    if (buf && cap) vsnprintf(buf, cap, fmt, ap);
    return st;
}

onyx_status (ox_errf)(char *buf, size_t cap, onyx_status st, const char *fmt, ...) /* (name): not the analyzer macro */
{
    va_list ap;
    va_start(ap, fmt);
    ox_verrf(buf, cap, st, fmt, ap);
    va_end(ap);
    return st;
}

void ox_error_set(onyx_error *e, onyx_status st, const char *msg)
{
    if (!e) return;
    e->status = st;
    snprintf(e->message, sizeof e->message, "%s", msg ? msg : "");
}

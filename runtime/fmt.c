/* fmt.c — ox_snprintf / ox_vsnprintf: a small printf-style formatter for the core library
 * (make core), which maps snprintf and vsnprintf onto these so it references no stdio. A C
 * library's snprintf can pull in malloc (newlib's float conversion allocates) and locale
 * machinery a firmware does not want.
 *
 * Covers what onyx's messages use: flags - 0 + space #, width and precision (numbers or *),
 * length modifiers hh h l ll z j t L, conversions d i u x X o c s p % e f g. Integers and
 * strings come out exactly as C's; floats are rounded in long double, so the last of many
 * digits can differ from a correctly rounded printf (messages only; the string Cast checks
 * that what it formats reads back, see ops/convert.c). Returns the length the full output
 * would have, as snprintf does. */
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

int ox_snprintf(char *buf, size_t cap, const char *fmt, ...);
int ox_vsnprintf(char *buf, size_t cap, const char *fmt, va_list ap);

typedef struct out {
    char *buf;
    size_t cap, n;
} out;

static void put_c(out *o, char c)
{
    if (o->n + 1 < o->cap) o->buf[o->n] = c;
    o->n++;
}

static void put_rep(out *o, char c, int n)
{
    for (int i = 0; i < n; i++) put_c(o, c);
}

typedef struct spec {
    bool left, zero, plus, space, alt;
    int width, prec; /* prec -1: none */
} spec;

/* Emits prefix (sign, 0x) + zeros + body with the width's padding. */
static void emit(out *o, const spec *sp, const char *prefix, int zeros, const char *body, int len)
{
    int plen = (int)strlen(prefix), total = plen + zeros + len;
    int pad = sp->width > total ? sp->width - total : 0;
    if (!sp->left && !sp->zero) put_rep(o, ' ', pad);
    for (int i = 0; i < plen; i++) put_c(o, prefix[i]);
    if (!sp->left && sp->zero) put_rep(o, '0', pad);
    put_rep(o, '0', zeros);
    for (int i = 0; i < len; i++) put_c(o, body[i]);
    if (sp->left) put_rep(o, ' ', pad);
}

static void fmt_int(out *o, spec sp, uintmax_t v, bool neg, unsigned base, bool upper)
{
    char tmp[72];
    int len = 0;
    const char *dig = upper ? "0123456789ABCDEF" : "0123456789abcdef";
    if (base < 2 || base > 16) base = 10; /* callers pass 8, 10 or 16 */
    while (v) {
        // cppcheck-suppress zerodivcond ; base is 2..16 (checked above), v is the dividend
        tmp[sizeof tmp - 1 - (size_t)len++] = dig[v % base];
        v /= base;
    }
    if (sp.prec >= 0) sp.zero = false;
    int zeros = sp.prec > len ? sp.prec - len : (sp.prec < 0 && len == 0 ? 1 : 0);
    char prefix[4] = "";
    if (neg) strcpy(prefix, "-");
    else if (sp.plus && base == 10) strcpy(prefix, "+");
    else if (sp.space && base == 10) strcpy(prefix, " ");
    if (sp.alt && base == 16 && len) strcpy(prefix, upper ? "0X" : "0x");
    if (sp.alt && base == 8 && zeros == 0) zeros = 1;
    emit(o, &sp, prefix, zeros, tmp + sizeof tmp - len, len);
}

/* Decimal digits of |v| (finite, nonzero): n significant digits into d, returns the decimal
 * exponent of the first. */
static int float_digits(long double v, int n, char *d)
{
    int e = (int)floorl(log10l(v));
    long double m = v / powl(10.0L, (long double)e);
    if (m >= 10.0L) m /= 10.0L, e++;
    if (m < 1.0L) m *= 10.0L, e--;
    long double scaled = nearbyintl(m * powl(10.0L, (long double)(n - 1)));
    if (scaled >= powl(10.0L, (long double)n)) scaled /= 10.0L, e++;
    for (int i = n - 1; i >= 0; i--) {
        long double q = floorl(scaled / 10.0L);
        d[i] = (char)('0' + (int)(scaled - q * 10.0L));
        scaled = q;
    }
    return e;
}

static void fmt_float(out *o, spec sp, long double v, char conv)
{
    char prefix[2] = "";
    bool upper = conv == 'E' || conv == 'G' || conv == 'F';
    if (signbit(v)) prefix[0] = '-', v = -v;
    else if (sp.plus) prefix[0] = '+';
    else if (sp.space) prefix[0] = ' ';
    if (isnan(v) || isinf(v)) {
        sp.zero = false;
        emit(o, &sp, prefix, 0, isnan(v) ? (upper ? "NAN" : "nan") : (upper ? "INF" : "inf"), 3);
        return;
    }
    int prec = sp.prec < 0 ? 6 : sp.prec;
    char body[400], d[40];
    int len = 0;
    char c = (char)(conv | 0x20);
    bool strip = false;
    if (c == 'g') {
        int p = prec ? prec : 1, e = 0;
        if (p > 36) p = 36;
        if (v != 0) e = float_digits(v, p, d);
        if (e < -4 || e >= p) {
            c = 'e';
            prec = p - 1;
        } else {
            c = 'f';
            prec = p - 1 - e;
        }
        strip = !sp.alt;
    }
    if (c == 'e') {
        int p = prec > 35 ? 35 : prec, e = 0;
        if (v != 0) e = float_digits(v, p + 1, d);
        else memset(d, '0', (size_t)p + 1);
        body[len++] = d[0];
        if (p || sp.alt) body[len++] = '.';
        for (int i = 1; i <= p; i++) body[len++] = d[i];
        if (strip) {
            while (len && body[len - 1] == '0') len--;
            if (len && body[len - 1] == '.') len--;
        }
        body[len++] = upper ? 'E' : 'e';
        body[len++] = e < 0 ? '-' : '+';
        int ae = e < 0 ? -e : e;
        if (ae >= 100) body[len++] = (char)('0' + ae / 100);
        body[len++] = (char)('0' + ae / 10 % 10);
        body[len++] = (char)('0' + ae % 10);
    } else { /* f: integer part digit by digit from the top, then the fraction */
        if (prec > 40) prec = 40;
        long double r = nearbyintl(v * powl(10.0L, (long double)prec));
        if (v >= 1e300L || !isfinite(r)) { /* too large to lay out positionally */
            spec s2 = sp;
            s2.prec = prec;
            fmt_float(o, s2, prefix[0] == '-' ? -v : v, upper ? 'E' : 'e');
            return;
        }
        char digs[360];
        int nd = 0;
        while (r >= 1.0L && nd < (int)sizeof digs) {
            long double q = floorl(r / 10.0L);
            digs[nd++] = (char)('0' + (int)(r - q * 10.0L));
            r = q;
        }
        while (nd <= prec) digs[nd++] = '0';
        for (int i = nd - 1; i >= prec && len < 330; i--) body[len++] = digs[i];
        if (prec || sp.alt) body[len++] = '.';
        for (int i = prec - 1; i >= 0; i--) body[len++] = digs[i];
        if (strip && prec) {
            while (body[len - 1] == '0') len--;
            if (body[len - 1] == '.') len--;
        }
    }
    emit(o, &sp, prefix, 0, body, len);
}

int ox_vsnprintf(char *buf, size_t cap, const char *fmt, va_list ap)
{
    out o = {buf, buf ? cap : 0, 0};
    for (const char *f = fmt; *f; f++) {
        if (*f != '%') {
            put_c(&o, *f);
            continue;
        }
        spec sp = {false, false, false, false, false, 0, -1};
        for (f++;; f++) {
            if (*f == '-') sp.left = true;
            else if (*f == '0') sp.zero = true;
            else if (*f == '+') sp.plus = true;
            else if (*f == ' ') sp.space = true;
            else if (*f == '#') sp.alt = true;
            else break;
        }
        if (*f == '*') {
            sp.width = va_arg(ap, int);
            if (sp.width < 0) sp.left = true, sp.width = -sp.width;
            f++;
        } else
            while (*f >= '0' && *f <= '9') sp.width = sp.width * 10 + (*f++ - '0');
        if (*f == '.') {
            f++;
            sp.prec = 0;
            if (*f == '*') {
                sp.prec = va_arg(ap, int);
                if (sp.prec < 0) sp.prec = -1;
                f++;
            } else
                while (*f >= '0' && *f <= '9') sp.prec = sp.prec * 10 + (*f++ - '0');
        }
        if (sp.left) sp.zero = false;
        int len = 0; /* 1 h, 2 hh, 3 l, 4 ll, 5 z, 6 j, 7 t, 8 L */
        if (*f == 'h') len = f[1] == 'h' ? (f++, 2) : 1, f++;
        else if (*f == 'l') len = f[1] == 'l' ? (f++, 4) : 3, f++;
        else if (*f == 'z') len = 5, f++;
        else if (*f == 'j') len = 6, f++;
        else if (*f == 't') len = 7, f++;
        else if (*f == 'L') len = 8, f++;
        char conv = *f;
        if (!conv) break;
        switch (conv) {
        case 'd':
        case 'i': {
            intmax_t v;
            switch (len) {
            case 3: v = va_arg(ap, long); break;
            case 4: v = va_arg(ap, long long); break;
            case 5: v = (intmax_t)va_arg(ap, size_t); break;
            case 6: v = va_arg(ap, intmax_t); break;
            case 7: v = va_arg(ap, ptrdiff_t); break;
            default: v = va_arg(ap, int); break;
            }
            if (len == 1) v = (short)v;
            if (len == 2) v = (int8_t)v; /* %hhd: the argument as signed char */
            fmt_int(&o, sp, v < 0 ? (uintmax_t)0 - (uintmax_t)v : (uintmax_t)v, v < 0, 10, false);
            break;
        }
        case 'u':
        case 'x':
        case 'X':
        case 'o': {
            uintmax_t v;
            switch (len) {
            case 3: v = va_arg(ap, unsigned long); break;
            case 4: v = va_arg(ap, unsigned long long); break;
            case 5: v = va_arg(ap, size_t); break;
            case 6: v = va_arg(ap, uintmax_t); break;
            case 7: v = (uintmax_t)va_arg(ap, ptrdiff_t); break;
            default: v = va_arg(ap, unsigned); break;
            }
            if (len == 1) v = (unsigned short)v;
            if (len == 2) v = (unsigned char)v;
            fmt_int(&o, sp, v, false, conv == 'u' ? 10 : conv == 'o' ? 8 : 16, conv == 'X');
            break;
        }
        case 'p': {
            sp.alt = true;
            fmt_int(&o, sp, (uintptr_t)va_arg(ap, void *), false, 16, false);
            break;
        }
        case 'c': {
            char ch = (char)va_arg(ap, int);
            sp.zero = false;
            emit(&o, &sp, "", 0, &ch, 1);
            break;
        }
        case 's': {
            const char *s = va_arg(ap, const char *);
            if (!s) s = "(null)";
            size_t n = 0;
            while (s[n] && (sp.prec < 0 || n < (size_t)sp.prec)) n++;
            sp.zero = false;
            emit(&o, &sp, "", 0, s, (int)n);
            break;
        }
        case 'e':
        case 'E':
        case 'f':
        case 'F':
        case 'g':
        case 'G': {
            long double v = len == 8 ? va_arg(ap, long double) : (long double)va_arg(ap, double);
            fmt_float(&o, sp, v, conv);
            break;
        }
        case '%': put_c(&o, '%'); break;
        default: /* unknown conversion: copied as written */
            put_c(&o, '%');
            put_c(&o, conv);
            break;
        }
    }
    if (o.cap) o.buf[o.n < o.cap ? o.n : o.cap - 1] = 0;
    return (int)o.n;
}

int ox_snprintf(char *buf, size_t cap, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = ox_vsnprintf(buf, cap, fmt, ap);
    va_end(ap);
    return n;
}

/*
 * Cut fixed-width flow records into trimmed field texts, in one pass, in C.
 *
 * Why this exists: cutting and trimming every field of every record was the largest
 * part of ingesting the regional flows (Arrow kernels make one pass and one buffer per
 * field and per operation; this makes one pass over the bytes for all fields). The
 * Python reference (bmb.sources.flows.cut, bmb.sources.flows.lines) stays and decides
 * every case this file does not handle; tests hold both to the same output.
 *
 * Scope, kept small on purpose:
 *   - a record is a line ended by '\n'; one '\r' before the '\n' is dropped;
 *   - "plain" lines (printable ASCII and tabs only) are cut here: byte positions are
 *     character positions, and trimming removes spaces and tabs;
 *   - every other line (non-ASCII bytes, control characters) is "exotic": it is only
 *     located here and handed back to Python, which decodes and cuts it the reference
 *     way (few lines: names with accents, records in the wrong encoding);
 *   - the typed value of each date, time, integer and scaled decimal is written too,
 *     so SQL casts only suspect records (the value is exactly what SQL's cast gives);
 *   - each plain record gets a "suspect" bit, set when any check that validation runs
 *     in SQL *might* fail (required, digits, calendar dates, times, code lists, record
 *     length). Only suspect records are then checked in SQL. The bit is conservative:
 *     a record it leaves clear passes every check for certain; a record it sets may
 *     still be good, and SQL decides.
 *
 * Interface: plain C, called through ctypes (which releases the GIL, so Python cuts the
 * halves of a file on two threads). Python allocates every output buffer from the
 * line count of bmb_count_lines(); nothing here allocates or keeps memory.
 */
#include <stdint.h>
#include <string.h>

enum kind {
    K_TEXT = 0,      /* no check */
    K_CODE = 1,      /* checked against a sorted code list when ncodes > 0 */
    K_INT = 2,       /* digits only, at most 18 */
    K_DEC_SCALED = 3, /* -?digits, at most 18 (implied decimals) */
    K_DEC = 4,       /* -?digits([.,]digits)?, at most 15 + 15 */
    K_DATE = 5,      /* fmt with %Y %m %d and literals; a calendar date in range */
    K_TIME = 6,      /* fmt with %H %M (%S) and literals; a time of day */
    K_ALWAYS = 7     /* a check this file cannot decide: suspect when not empty */
};

typedef struct {
    int32_t start;           /* 0-based byte offset in the record */
    int32_t length;          /* bytes */
    int32_t kind;            /* enum kind */
    int32_t required;        /* 1: an empty value is an error */
    const char *fmt;         /* K_DATE / K_TIME: strptime format, NUL-terminated */
    int32_t ncodes;          /* K_CODE: number of allowed codes, sorted bytewise */
    const uint8_t *codes;    /* the codes, concatenated */
    const int64_t *code_offsets; /* ncodes + 1 offsets into codes */
    int32_t scale;           /* K_DEC_SCALED: implied decimals */
    int32_t *offsets;        /* out: rows + 1 Arrow offsets */
    uint8_t *data;           /* out: the trimmed values */
    uint8_t *valid;          /* out: Arrow validity bitmap, zeroed by the caller */
    void *typed;             /* out, or NULL: the typed value of every record not suspect
                                (K_INT int64, K_DEC_SCALED double, K_DATE int32 days since
                                1970, K_TIME int64 microseconds); undefined when suspect */
} field_t;

static int is_plain(uint8_t c) { return (c >= 0x20 && c < 0x7f) || c == '\t'; }

#define ONES 0x0101010101010101ULL
#define HIGHS 0x8080808080808080ULL

/* 1 when every byte of p[0:n] is plain; eight bytes at a time, bytewise only for a
 * word holding a byte below 0x20 (a tab, or a control character), 0x7f or >= 0x80. */
static int line_is_plain(const uint8_t *p, int64_t n)
{
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t w;
        memcpy(&w, p + i, 8);
        uint64_t low = (w - 0x20 * ONES) & ~w & HIGHS;        /* a byte < 0x20 */
        uint64_t del = ((w ^ 0x7f * ONES) - ONES) & ~(w ^ 0x7f * ONES) & HIGHS;
        if ((w & HIGHS) | low | del) {
            for (int k = 0; k < 8; k++) if (!is_plain(p[i + k])) return 0;
        }
    }
    for (; i < n; i++) if (!is_plain(p[i])) return 0;
    return 1;
}

/* The number of lines of data[0:size] (a last line without '\n' counts). */
int64_t bmb_count_lines(const uint8_t *data, int64_t size)
{
    int64_t lines = 0, pos = 0;
    while (pos < size) {
        const uint8_t *nl = memchr(data + pos, '\n', (size_t)(size - pos));
        if (!nl) return lines + 1;
        lines++;
        pos = (int64_t)(nl - data) + 1;
    }
    return lines;
}

static int64_t days_from_civil(int64_t y, int64_t m, int64_t d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static int days_in_month(int y, int m)
{
    static const int dm[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0)) return 29;
    return dm[m - 1];
}

static int digits(const uint8_t *p, int n, int *value)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (p[i] < '0' || p[i] > '9') return 0;
        v = v * 10 + (p[i] - '0');
    }
    *value = v;
    return 1;
}

/*
 * 1 when v[0:n] certainly parses with fmt (exact widths: %Y 4 digits, others 2);
 * *out is then the days since 1970 (dates) or microseconds since midnight (times).
 */
static int parse_fmt(const char *fmt, const uint8_t *v, int n, int is_date,
                     int32_t min_day, int32_t max_day, int64_t *out)
{
    int y = -1, m = -1, d = -1, hh = -1, mm = -1, ss = 0, pos = 0;
    for (const char *f = fmt; *f; f++) {
        if (*f != '%') {
            if (pos >= n || v[pos] != (uint8_t)*f) return 0;
            pos++;
            continue;
        }
        f++;
        int width = *f == 'Y' ? 4 : 2, value;
        if (pos + width > n || !digits(v + pos, width, &value)) return 0;
        pos += width;
        switch (*f) {
        case 'Y': y = value; break;
        case 'm': m = value; break;
        case 'd': d = value; break;
        case 'H': hh = value; break;
        case 'M': mm = value; break;
        case 'S': ss = value; break;
        default: return 0;
        }
    }
    if (pos != n) return 0;
    if (is_date) {
        if (y < 0 || m < 1 || m > 12 || d < 1 || d > days_in_month(y, m)) return 0;
        int64_t day = days_from_civil(y, m, d);
        *out = day;
        return day >= min_day && day <= max_day;
    }
    *out = ((int64_t)hh * 3600 + mm * 60 + ss) * 1000000;
    return hh >= 0 && hh < 24 && mm >= 0 && mm < 60 && ss < 60;
}

static int in_codes(const field_t *f, const uint8_t *v, int n)
{
    int32_t lo = 0, hi = f->ncodes - 1;
    while (lo <= hi) {
        int32_t mid = lo + (hi - lo) / 2;
        const uint8_t *c = f->codes + f->code_offsets[mid];
        int cn = (int)(f->code_offsets[mid + 1] - f->code_offsets[mid]);
        int k = memcmp(v, c, (size_t)(n < cn ? n : cn));
        if (k == 0) k = (n > cn) - (n < cn);
        if (k == 0) return 1;
        if (k < 0) hi = mid - 1; else lo = mid + 1;
    }
    return 0;
}

static const double POW10[] = {1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9};

/*
 * 1 when a non-empty value certainly passes its field's checks; its typed value is
 * then stored in row `row` of f->typed (when the field has one).
 */
static int value_ok(const field_t *f, const uint8_t *v, int n, int32_t min_day,
                    int32_t max_day, int64_t row)
{
    int i = 0, count = 0, negative = 0;
    int64_t value = 0;
    switch (f->kind) {
    case K_TEXT:
        return 1;
    case K_CODE:
        return f->ncodes == 0 || in_codes(f, v, n);
    case K_INT:
        if (n > 18) return 0;
        for (i = 0; i < n; i++) {
            if (v[i] < '0' || v[i] > '9') return 0;
            value = value * 10 + (v[i] - '0');
        }
        if (f->typed) ((int64_t *)f->typed)[row] = value;
        return 1;
    case K_DEC_SCALED:
        if (v[0] == '-') negative = i = 1;
        if (n - i < 1 || n - i > 18 || f->scale < 0 || f->scale > 9) return 0;
        for (; i < n; i++) {
            if (v[i] < '0' || v[i] > '9') return 0;
            value = value * 10 + (v[i] - '0');
        }
        /* as SQL: CAST(text AS BIGINT) / 10^scale, a double division */
        if (f->typed)
            ((double *)f->typed)[row] = (double)(negative ? -value : value) / POW10[f->scale];
        return 1;
    case K_DEC:
        if (v[0] == '-') i = 1;
        for (count = 0; i < n && v[i] >= '0' && v[i] <= '9'; i++) count++;
        if (count < 1 || count > 15) return 0;
        if (i == n) return 1;
        if (v[i] != '.' && v[i] != ',') return 0;
        i++;
        for (count = 0; i < n && v[i] >= '0' && v[i] <= '9'; i++) count++;
        return i == n && count >= 1 && count <= 15;
    case K_DATE:
    case K_TIME:
        if (!parse_fmt(f->fmt, v, n, f->kind == K_DATE, min_day, max_day, &value)) return 0;
        if (f->typed) {
            if (f->kind == K_DATE) ((int32_t *)f->typed)[row] = (int32_t)value;
            else ((int64_t *)f->typed)[row] = value;
        }
        return 1;
    default:
        return 0;
    }
}

/*
 * Cut the plain lines of data[0:size] (which starts at a line start) into fields.
 * Returns the number of plain rows written; exotic lines are listed in `exotic` as
 * (line number, start byte, end byte) triples, their count in *n_exotic.
 */
int64_t bmb_cut(const uint8_t *data, int64_t size, int64_t first_line_number,
                int32_t nfields, field_t *fields, int32_t width, int32_t last_start,
                int32_t min_day, int32_t max_day,
                int64_t *line_numbers, int32_t *text_offsets, uint8_t *text_data,
                uint8_t *suspect, int64_t *exotic, int64_t *n_exotic)
{
    int64_t row = 0, pos = 0, line_no = first_line_number, nx = 0;
    int32_t text_len = 0;
    text_offsets[0] = 0;
    for (int32_t k = 0; k < nfields; k++) fields[k].offsets[0] = 0;
    while (pos < size) {
        const uint8_t *nl = memchr(data + pos, '\n', (size_t)(size - pos));
        int64_t end = nl ? (int64_t)(nl - data) : size;
        int64_t stop = end;
        if (stop > pos && data[stop - 1] == '\r') stop--;
        if (!line_is_plain(data + pos, stop - pos)) {
            exotic[3 * nx] = line_no;
            exotic[3 * nx + 1] = pos;
            exotic[3 * nx + 2] = stop;
            nx++;
        } else {
            const uint8_t *line = data + pos;
            int32_t len = (int32_t)(stop - pos);
            memcpy(text_data + text_len, line, (size_t)len);
            text_len += len;
            text_offsets[row + 1] = text_len;
            line_numbers[row] = line_no;
            int32_t rt = len;
            while (rt > 0 && line[rt - 1] == ' ') rt--;
            int bad = len == 0 || (rt < last_start && len < width) || rt > width;
            for (int32_t k = 0; k < nfields; k++) {
                field_t *f = &fields[k];
                int32_t a = f->start, b = f->start + f->length;
                if (b > len) b = len;
                if (a > b) a = b;
                while (a < b && (line[a] == ' ' || line[a] == '\t')) a++;
                while (b > a && (line[b - 1] == ' ' || line[b - 1] == '\t')) b--;
                int32_t n = b - a;
                int32_t off = f->offsets[row];
                if (n > 0) {
                    memcpy(f->data + off, line + a, (size_t)n);
                    f->valid[row >> 3] |= (uint8_t)(1u << (row & 7));
                    if (!bad && !value_ok(f, line + a, n, min_day, max_day, row)) bad = 1;
                } else if (f->required) {
                    bad = 1;
                }
                f->offsets[row + 1] = off + n;
            }
            if (bad) suspect[row >> 3] |= (uint8_t)(1u << (row & 7));
            row++;
        }
        line_no++;
        pos = end + 1;
    }
    *n_exotic = nx;
    return row;
}

#include "CStreamKitSupport.h"
#include <pthread.h>
#include <string.h>

static uint32_t table[8][256];
static pthread_once_t table_once = PTHREAD_ONCE_INIT;

static void build_tables(void) {
    for (uint32_t n = 0; n < 256; n++) {
        uint32_t crc = n;
        for (int k = 0; k < 8; k++) crc = (crc & 1) ? (crc >> 1) ^ 0x82F63B78u : crc >> 1;
        table[0][n] = crc;
    }
    for (uint32_t n = 0; n < 256; n++) {
        uint32_t crc = table[0][n];
        for (int k = 1; k < 8; k++) {
            crc = table[0][crc & 0xff] ^ (crc >> 8);
            table[k][n] = crc;
        }
    }
}

uint32_t sk_crc32c_portable(uint32_t crc, const void *data, size_t length) {
    pthread_once(&table_once, build_tables);
    const uint8_t *p = (const uint8_t *)data;
    crc = ~crc;
    while (length >= 8) {
        uint64_t word;
        memcpy(&word, p, 8);
        uint32_t lo = (uint32_t)word ^ crc;
        uint32_t hi = (uint32_t)(word >> 32);
        crc = table[7][lo & 0xff] ^ table[6][(lo >> 8) & 0xff] ^ table[5][(lo >> 16) & 0xff] ^
              table[4][lo >> 24] ^ table[3][hi & 0xff] ^ table[2][(hi >> 8) & 0xff] ^
              table[1][(hi >> 16) & 0xff] ^ table[0][hi >> 24];
        p += 8;
        length -= 8;
    }
    while (length--) crc = table[0][(crc ^ *p++) & 0xff] ^ (crc >> 8);
    return ~crc;
}

#if defined(__x86_64__)
/* Hardware CRC32C in three interleaved streams (the `crc32` instruction has a latency of three cycles and
   a throughput of one: one stream leaves two thirds of it idle), combined by shifting the earlier streams'
   CRCs over the later streams' bytes with precomputed "append zeros" tables (Mark Adler's method). */
#define SK_LONG 8192
#define SK_SHORT 256

static uint32_t zeros_long[4][256];
static uint32_t zeros_short[4][256];
static pthread_once_t zeros_once = PTHREAD_ONCE_INIT;

static uint32_t gf2_times(const uint32_t *mat, uint32_t vec) {
    uint32_t sum = 0;
    while (vec) {
        if (vec & 1) sum ^= *mat;
        vec >>= 1;
        mat++;
    }
    return sum;
}

static void gf2_square(uint32_t *square, const uint32_t *mat) {
    for (int n = 0; n < 32; n++) square[n] = gf2_times(mat, mat[n]);
}

/* The operator that appends `length` zero bytes (a power of two) to a CRC. */
static void zeros_operator(uint32_t *even, size_t length) {
    uint32_t odd[32];
    uint32_t row = 1;
    odd[0] = 0x82F63B78u;
    for (int n = 1; n < 32; n++) {
        odd[n] = row;
        row <<= 1;
    }
    gf2_square(even, odd); /* two zero bits */
    gf2_square(odd, even); /* four zero bits */
    do {
        gf2_square(even, odd);
        length >>= 1;
        if (length == 0) return;
        gf2_square(odd, even);
        length >>= 1;
    } while (length);
    for (int n = 0; n < 32; n++) even[n] = odd[n];
}

static void build_zeros(uint32_t zeros[][256], size_t length) {
    uint32_t op[32];
    zeros_operator(op, length);
    for (uint32_t n = 0; n < 256; n++) {
        zeros[0][n] = gf2_times(op, n);
        zeros[1][n] = gf2_times(op, n << 8);
        zeros[2][n] = gf2_times(op, n << 16);
        zeros[3][n] = gf2_times(op, n << 24);
    }
}

static void build_zero_tables(void) {
    build_zeros(zeros_long, SK_LONG);
    build_zeros(zeros_short, SK_SHORT);
}

static inline uint32_t shift_crc(uint32_t zeros[][256], uint32_t crc) {
    return zeros[0][crc & 0xff] ^ zeros[1][(crc >> 8) & 0xff] ^ zeros[2][(crc >> 16) & 0xff] ^ zeros[3][crc >> 24];
}

static inline uint64_t load64(const uint8_t *p) {
    uint64_t word;
    memcpy(&word, p, 8);
    return word;
}

/* Consumes whole groups of three `stride`-byte runs from `*p`: three CRCs side by side, then the first two
   shifted over the bytes after them and combined. */
__attribute__((target("sse4.2"), always_inline))
static inline uint64_t crc32c_3way(uint64_t c0, const uint8_t **p, size_t *length, size_t stride, uint32_t zeros[][256]) {
    const uint8_t *q = *p;
    while (*length >= 3 * stride) {
        uint64_t c1 = 0, c2 = 0;
        const uint8_t *end = q + stride;
        do {
            c0 = __builtin_ia32_crc32di(c0, load64(q));
            c1 = __builtin_ia32_crc32di(c1, load64(q + stride));
            c2 = __builtin_ia32_crc32di(c2, load64(q + 2 * stride));
            q += 8;
        } while (q < end);
        c0 = shift_crc(zeros, (uint32_t)c0) ^ (uint32_t)c1;
        c0 = shift_crc(zeros, (uint32_t)c0) ^ (uint32_t)c2;
        q += 2 * stride;
        *length -= 3 * stride;
    }
    *p = q;
    return c0;
}

__attribute__((target("sse4.2")))
static uint32_t crc32c_sse42(uint32_t crc, const void *data, size_t length) {
    const uint8_t *p = (const uint8_t *)data;
    uint64_t c0 = (uint32_t)~crc;
    if (length >= 3 * SK_SHORT) {
        pthread_once(&zeros_once, build_zero_tables);
        c0 = crc32c_3way(c0, &p, &length, SK_LONG, zeros_long);
        c0 = crc32c_3way(c0, &p, &length, SK_SHORT, zeros_short);
    }
    while (length >= 8) {
        c0 = __builtin_ia32_crc32di(c0, load64(p));
        p += 8;
        length -= 8;
    }
    uint32_t c32 = (uint32_t)c0;
    while (length--) c32 = __builtin_ia32_crc32qi(c32, *p++);
    return ~c32;
}

static int hardware = -1;

int sk_crc32c_is_hardware(void) {
    int h = __atomic_load_n(&hardware, __ATOMIC_RELAXED);
    if (h < 0) {
        __builtin_cpu_init();
        h = __builtin_cpu_supports("sse4.2") ? 1 : 0;
        __atomic_store_n(&hardware, h, __ATOMIC_RELAXED);
    }
    return h;
}

uint32_t sk_crc32c(uint32_t crc, const void *data, size_t length) {
    if (sk_crc32c_is_hardware()) return crc32c_sse42(crc, data, length);
    return sk_crc32c_portable(crc, data, length);
}
#else
int sk_crc32c_is_hardware(void) { return 0; }
uint32_t sk_crc32c(uint32_t crc, const void *data, size_t length) {
    return sk_crc32c_portable(crc, data, length);
}
#endif

/*
 * Generates TestData/StringCompareCases.txt: PCMPESTRI/PCMPESTRM/PCMPISTRI/PCMPISTRM results of the
 * host CPU (SSE4.2) for every imm8 from 00h to 7Fh, on strings drawn from small alphabets so that
 * matches, ranges and embedded zeros are common.
 *
 * Each line: op imm8 a(32 hex, byte 15 first) b(32 hex) eax edx -> ecx-or-mask flags(CF ZF SF OF as 0/1)
 * For the I forms eax and edx are printed as 0 and ignored; for the M forms the result is XMM0.
 * Build and run: gcc -O1 -msse4.2 generate_string_compare_cases.c -o gen && ./gen > ../TestData/StringCompareCases.txt
 */
#include <nmmintrin.h>
#include <stdio.h>
#include <stdint.h>
#include <string.h>

static uint64_t s_state = 0x9E3779B97F4A7C15ull;

static uint32_t next(void)
{
    s_state ^= s_state << 13;
    s_state ^= s_state >> 7;
    s_state ^= s_state << 17;
    return (uint32_t)(s_state >> 16);
}

static void fill(uint8_t *v)
{
    static const uint8_t alphabet[] = { 0x00, 0x41, 0x42, 0x43, 0x7F, 0x80, 0xFF, 0x61 };
    int mode = next() % 3;
    for (int i = 0; i < 16; i++)
    {
        if (mode == 0)
            v[i] = alphabet[next() % 8];
        else if (mode == 1)
            v[i] = (uint8_t)(0x40 + next() % 6);
        else
            v[i] = (uint8_t)next();
    }
    if (next() % 4 == 0)
        v[next() % 16] = 0;
}

static void hex(const uint8_t *v)
{
    for (int i = 15; i >= 0; i--)
        printf("%02X", v[i]);
}

static int length(void)
{
    int r = next() % 24;
    return (next() % 5 == 0) ? -r : r;
}

#define R4(f, b) f(b) f(b + 1) f(b + 2) f(b + 3)
#define R16(f, b) R4(f, b) R4(f, b + 4) R4(f, b + 8) R4(f, b + 12)
#define R128(f) R16(f, 0) R16(f, 16) R16(f, 32) R16(f, 48) R16(f, 64) R16(f, 80) R16(f, 96) R16(f, 112)

#define ESTRI(i) case i: r = _mm_cmpestri(a, la, b, lb, i); c = _mm_cmpestrc(a, la, b, lb, i); z = _mm_cmpestrz(a, la, b, lb, i); s = _mm_cmpestrs(a, la, b, lb, i); o = _mm_cmpestro(a, la, b, lb, i); break;
#define ESTRM(i) case i: m = _mm_cmpestrm(a, la, b, lb, i); c = _mm_cmpestrc(a, la, b, lb, i); z = _mm_cmpestrz(a, la, b, lb, i); s = _mm_cmpestrs(a, la, b, lb, i); o = _mm_cmpestro(a, la, b, lb, i); break;
#define ISTRI(i) case i: r = _mm_cmpistri(a, b, i); c = _mm_cmpistrc(a, b, i); z = _mm_cmpistrz(a, b, i); s = _mm_cmpistrs(a, b, i); o = _mm_cmpistro(a, b, i); break;
#define ISTRM(i) case i: m = _mm_cmpistrm(a, b, i); c = _mm_cmpistrc(a, b, i); z = _mm_cmpistrz(a, b, i); s = _mm_cmpistrs(a, b, i); o = _mm_cmpistro(a, b, i); break;

int main(void)
{
    static const char *names[] = { "PCMPESTRI", "PCMPESTRM", "PCMPISTRI", "PCMPISTRM" };
    for (int op = 0; op < 4; op++)
    {
        for (int imm = 0; imm < 128; imm++)
        {
            for (int t = 0; t < 4; t++)
            {
                uint8_t av[16], bv[16], mv[16];
                fill(av);
                fill(bv);
                if (next() % 3 == 0)
                    memcpy(bv + next() % 8, av, 4);
                int la = op < 2 ? length() : 0;
                int lb = op < 2 ? length() : 0;
                __m128i a = _mm_loadu_si128((const __m128i *)av);
                __m128i b = _mm_loadu_si128((const __m128i *)bv);
                __m128i m = _mm_setzero_si128();
                int r = 0, c = 0, z = 0, s = 0, o = 0;
                switch (op)
                {
                case 0: switch (imm) { R128(ESTRI) } break;
                case 1: switch (imm) { R128(ESTRM) } break;
                case 2: switch (imm) { R128(ISTRI) } break;
                default: switch (imm) { R128(ISTRM) } break;
                }
                printf("%s %02X ", names[op], imm);
                hex(av);
                printf(" ");
                hex(bv);
                printf(" %d %d -> ", la, lb);
                if (op == 1 || op == 3)
                {
                    _mm_storeu_si128((__m128i *)mv, m);
                    hex(mv);
                }
                else
                    printf("%d", r);
                printf(" %d%d%d%d\n", c, z, s, o);
            }
        }
    }
    return 0;
}

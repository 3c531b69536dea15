namespace Virt.Cpu.Tests.Simd;

/// <summary>
/// Turns FsCheck's full-range integers into floating-point operands that reach every class and edge: random patterns,
/// denormals, the specials (zeros, infinities, quiet and signalling NaNs, the largest and smallest normals), values near 1,
/// near the underflow and overflow thresholds, and a second operand close to the first (cancellation, ties).
/// </summary>
internal static class FloatSamples
{
    private static readonly uint[] s_special32 =
        [0, 0x8000_0000, 0x7F80_0000, 0xFF80_0000, 0x7FC0_0000, 0xFFC0_0001, 0x7F80_0001, 0xFFA0_0000, 0x7F7F_FFFF, 0x0080_0000, 0x0000_0001, 0x807F_FFFF, 0x3F80_0000, 0xBF80_0000];

    private static readonly ulong[] s_special64 =
    [
        0, 0x8000_0000_0000_0000, 0x7FF0_0000_0000_0000, 0xFFF0_0000_0000_0000, 0x7FF8_0000_0000_0000, 0xFFF8_0000_0000_0001,
        0x7FF0_0000_0000_0001, 0xFFF4_0000_0000_0000, 0x7FEF_FFFF_FFFF_FFFF, 0x0010_0000_0000_0000, 1, 0x800F_FFFF_FFFF_FFFF,
        0x3FF0_0000_0000_0000, 0xBFF0_0000_0000_0000,
    ];

    public static uint Single(ulong random, byte kind)
    {
        uint r = (uint)random;
        uint sign = r & 0x8000_0000;
        uint fraction = r & 0x7F_FFFF;
        int exponent = (int)(random >> 32) & 0xFF;
        return (kind % 8) switch
        {
            0 or 1 => r,
            2 => sign | fraction,
            3 => s_special32[(int)((random >> 40) % (ulong)s_special32.Length)],
            4 => sign | ((uint)(124 + (exponent % 7)) << 23) | fraction,
            5 => sign | ((uint)(1 + (exponent % 4)) << 23) | fraction,
            6 => sign | ((uint)(250 + (exponent % 5)) << 23) | fraction,
            _ => sign | ((uint)(40 + (exponent % 170)) << 23) | fraction,
        };
    }

    public static ulong Double(ulong random, byte kind)
    {
        ulong sign = random & 0x8000_0000_0000_0000;
        ulong fraction = random & 0x000F_FFFF_FFFF_FFFF;
        int exponent = (int)(random >> 52) & 0x7FF;
        return (kind % 8) switch
        {
            0 or 1 => random,
            2 => sign | fraction,
            3 => s_special64[(int)((random >> 40) % (ulong)s_special64.Length)],
            4 => sign | ((ulong)(1020 + (exponent % 7)) << 52) | fraction,
            5 => sign | ((ulong)(1 + (exponent % 4)) << 52) | fraction,
            6 => sign | ((ulong)(2042 + (exponent % 5)) << 52) | fraction,
            _ => sign | ((ulong)(300 + (exponent % 1400)) << 52) | fraction,
        };
    }

    /// <summary>A second operand: independent, or the first one nudged by a few ulps with either sign (cancellation, exact halves).</summary>
    public static uint SecondSingle(uint first, ulong random, byte kind) =>
        (kind & 0x30) == 0x30 ? (uint)(first + (int)((random % 7) - 3)) ^ ((kind & 0x40) != 0 ? 0x8000_0000u : 0) : Single(random, (byte)(kind >> 3));

    public static ulong SecondDouble(ulong first, ulong random, byte kind) =>
        (kind & 0x30) == 0x30 ? (ulong)((long)first + (long)(random % 7) - 3) ^ ((kind & 0x40) != 0 ? 0x8000_0000_0000_0000 : 0) : Double(random, (byte)(kind >> 3));

    public static bool IsFinite32(uint x) => (x & 0x7F80_0000) != 0x7F80_0000;

    public static bool IsFinite64(ulong x) => (x & 0x7FF0_0000_0000_0000) != 0x7FF0_0000_0000_0000;
}

using Virt.Cpu.X87;

namespace Virt.Cpu.Tests.X87;

/// <summary>Maps raw random integers onto the operands that stress rounding: denormals, the extremes of the exponent range, close exponents (cancellation) and significands with long runs of ones or zeros.</summary>
internal static class X87Operands
{
    public static ulong Significand(ulong raw, byte pattern)
    {
        ulong s = (pattern % 6) switch
        {
            0 => raw,
            1 => ulong.MaxValue << (int)(raw % 64),
            2 => ulong.MaxValue >> (int)(raw % 64),
            3 => (1UL << 63) | (1UL << (int)(raw % 63)),
            4 => raw | 0xFFFF_FF00_0000_0000 | (raw >> 60),
            _ => raw & 0xFFFF_FFFF_FFFF_F800,
        };
        return s;
    }

    /// <summary>A finite non-zero operand (normal, or denormal/pseudo-denormal when the exponent is 0).</summary>
    public static Float80 Finite(ulong raw, ushort exponentRaw, byte pattern, bool negative, int nearExponent = -1)
    {
        int biased = (exponentRaw % 10) switch
        {
            0 => 0,
            1 => 1 + (exponentRaw / 10 % 80),
            2 => 0x7FFE - (exponentRaw / 10 % 80),
            3 or 4 or 5 when nearExponent > 0 => Math.Clamp(nearExponent + (exponentRaw / 10 % 140) - 70, 0, 0x7FFE),
            6 => 0x3FFF + (exponentRaw / 10 % 64) - 32,
            _ => 1 + (exponentRaw / 10 % 0x7FFE),
        };
        ulong s = Significand(raw, pattern);
        if (biased == 0)
        {
            // Mostly denormals; pattern 3 keeps the integer bit to make pseudo-denormals.
            if (pattern % 6 != 3)
            {
                s &= ~(1UL << 63);
            }
        }
        else
        {
            s |= 1UL << 63;
        }

        if (s == 0)
        {
            s = 1;
        }

        return new Float80(negative, biased, s);
    }
}

using System.Buffers.Binary;
using System.Globalization;

namespace Virt.Cpu.X87;

/// <summary>
/// An 80-bit x87 extended-precision value exactly as it sits in a data register or in memory: a sign,
/// a 15-bit biased exponent and a 64-bit significand with an explicit integer bit (Intel SDM Vol. 1,
/// 4.2.2 and 8.2.2). Any bit pattern is representable, including the encodings the 80387 and later
/// reject as operands (see <see cref="Float80Class.Unsupported"/>).
/// </summary>
internal readonly struct Float80 : IEquatable<Float80>
{
    /// <summary>Exponent bias of the extended format.</summary>
    public const int Bias = 16383;

    /// <summary>Biased exponent of infinities and NaNs.</summary>
    public const int MaxBiasedExponent = 0x7FFF;

    /// <summary>Size of the memory encoding.</summary>
    public const int SizeInBytes = 10;

    internal const ulong IntegerBit = 0x8000_0000_0000_0000;
    internal const ulong QuietBit = 0x4000_0000_0000_0000;

    /// <summary>Sign (bit 15) and biased exponent (bits 0-14), the upper 16 bits of the encoding.</summary>
    public readonly ushort SignExponent;

    /// <summary>The 64-bit significand, integer bit in bit 63.</summary>
    public readonly ulong Significand;

    public Float80(ushort signExponent, ulong significand)
    {
        SignExponent = signExponent;
        Significand = significand;
    }

    public Float80(bool negative, int biasedExponent, ulong significand)
    {
        SignExponent = (ushort)((negative ? 0x8000 : 0) | (biasedExponent & 0x7FFF));
        Significand = significand;
    }

    public static Float80 PositiveZero => new(0, 0);
    public static Float80 NegativeZero => new(0x8000, 0);
    public static Float80 One => new(0x3FFF, IntegerBit);
    public static Float80 PositiveInfinity => new(0x7FFF, IntegerBit);
    public static Float80 NegativeInfinity => new(0xFFFF, IntegerBit);

    /// <summary>The "real indefinite" QNaN FFFF C000000000000000 (Intel SDM Vol. 1, 4.8.3.7, Table 4-3).</summary>
    public static Float80 Indefinite => new(0xFFFF, 0xC000_0000_0000_0000);

    public bool IsNegative => (SignExponent & 0x8000) != 0;

    public int BiasedExponent => SignExponent & 0x7FFF;

    public bool IsZero => (SignExponent & 0x7FFF) == 0 && Significand == 0;

    public bool IsNaN => Class is Float80Class.QuietNaN or Float80Class.SignalingNaN;

    public bool IsInfinity => (SignExponent & 0x7FFF) == 0x7FFF && Significand == IntegerBit;

    public Float80Class Class
    {
        get
        {
            int exponent = SignExponent & 0x7FFF;
            if (exponent == 0)
            {
                return Significand == 0 ? Float80Class.Zero
                    : (Significand & IntegerBit) != 0 ? Float80Class.PseudoDenormal : Float80Class.Denormal;
            }

            if ((Significand & IntegerBit) == 0)
            {
                return Float80Class.Unsupported;
            }

            if (exponent != MaxBiasedExponent)
            {
                return Float80Class.Normal;
            }

            return (Significand << 1) == 0 ? Float80Class.Infinity
                : (Significand & QuietBit) != 0 ? Float80Class.QuietNaN : Float80Class.SignalingNaN;
        }
    }

    public Float80 Negate() => new((ushort)(SignExponent ^ 0x8000), Significand);

    public Float80 Abs() => new((ushort)(SignExponent & 0x7FFF), Significand);

    public Float80 WithSign(bool negative) => new((ushort)((SignExponent & 0x7FFF) | (negative ? 0x8000 : 0)), Significand);

    /// <summary>A NaN made quiet: bit 62 set, payload and sign kept.</summary>
    public Float80 Quieted() => new(SignExponent, Significand | QuietBit);

    /// <summary>Reads the little-endian 10-byte memory encoding.</summary>
    public static Float80 ReadFrom(ReadOnlySpan<byte> source) =>
        new(BinaryPrimitives.ReadUInt16LittleEndian(source[8..]), BinaryPrimitives.ReadUInt64LittleEndian(source));

    /// <summary>Writes the little-endian 10-byte memory encoding.</summary>
    public void WriteTo(Span<byte> destination)
    {
        BinaryPrimitives.WriteUInt16LittleEndian(destination[8..], SignExponent);
        BinaryPrimitives.WriteUInt64LittleEndian(destination, Significand);
    }

    public bool Equals(Float80 other) => SignExponent == other.SignExponent && Significand == other.Significand;

    public override bool Equals(object? obj) => obj is Float80 other && Equals(other);

    public override int GetHashCode() => HashCode.Combine(SignExponent, Significand);

    public static bool operator ==(Float80 left, Float80 right) => left.Equals(right);

    public static bool operator !=(Float80 left, Float80 right) => !left.Equals(right);

    /// <summary>The encoding as "SEEE MMMMMMMMMMMMMMMM" hex, as the SDM writes them.</summary>
    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"{SignExponent:X4} {Significand:X16}");

    /// <summary>Parses the <see cref="ToString"/> form ("SEEE MMMMMMMMMMMMMMMM", the space optional).</summary>
    public static Float80 Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        string digits = text.Replace(" ", string.Empty, StringComparison.Ordinal).Replace(":", string.Empty, StringComparison.Ordinal);
        if (digits.Length != 20)
        {
            throw new FormatException($"'{text}' is not a 20-digit extended-precision encoding.");
        }

        return new(
            ushort.Parse(digits.AsSpan(0, 4), NumberStyles.HexNumber, CultureInfo.InvariantCulture),
            ulong.Parse(digits.AsSpan(4), NumberStyles.HexNumber, CultureInfo.InvariantCulture));
    }
}

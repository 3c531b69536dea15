using System.Buffers.Binary;
using System.Numerics;

namespace Virt.Cpu.Simd;

/// <summary>
/// The SSE4.2 string compares PCMPESTRI, PCMPESTRM, PCMPISTRI and PCMPISTRM, every imm8 mode
/// (Intel SDM Vol. 2B, 4.1 "Imm8 control byte operation for PCMPESTRI / PCMPESTRM / PCMPISTRI / PCMPISTRM").
/// </summary>
/// <remarks>
/// The first operand (the register, "a") is the set, the ranges or the substring; the second
/// (register or memory, "b") is the string scanned. Element j of the intermediate result IntRes1
/// describes b[j].
/// </remarks>
internal static class PackedStringCompare
{
    /// <summary>imm8[0]: elements are words, not bytes.</summary>
    public const int WordElements = 0x01;

    /// <summary>imm8[1]: elements are signed.</summary>
    public const int SignedElements = 0x02;

    /// <summary>imm8[3:2]: the aggregation operation.</summary>
    public const int AggregationMask = 0x0C;

    /// <summary>Aggregation "equal any": b[j] is one of a's elements.</summary>
    public const int EqualAny = 0x00;

    /// <summary>Aggregation "ranges": b[j] lies in one of a's inclusive [low, high] pairs.</summary>
    public const int Ranges = 0x04;

    /// <summary>Aggregation "equal each": b[j] == a[j].</summary>
    public const int EqualEach = 0x08;

    /// <summary>Aggregation "equal ordered": a occurs in b starting at j.</summary>
    public const int EqualOrdered = 0x0C;

    /// <summary>imm8[5:4]: the polarity.</summary>
    public const int PolarityMask = 0x30;

    /// <summary>Polarity: IntRes1 inverted.</summary>
    public const int NegativePolarity = 0x10;

    /// <summary>Polarity: IntRes1 inverted only where b's element is valid.</summary>
    public const int MaskedNegativePolarity = 0x30;

    /// <summary>imm8[6]: the index of the most significant set bit (xSTRI), or the byte/word mask (xSTRM).</summary>
    public const int MostSignificantOrExpanded = 0x40;

    /// <summary>The number of elements of a 16-byte operand in the mode <paramref name="imm"/> selects.</summary>
    public static int ElementCount(byte imm) => (imm & WordElements) != 0 ? 8 : 16;

    /// <summary>The implicit length (PCMPISTRx): the index of the first zero element, or the element count.</summary>
    public static int ImplicitLength(ReadOnlySpan<byte> v, byte imm)
    {
        int n = ElementCount(imm);
        for (int i = 0; i < n; i++)
        {
            if (Element(v, i, imm) == 0)
            {
                return i;
            }
        }

        return n;
    }

    /// <summary>
    /// The explicit length (PCMPESTRx) from EAX/EDX (RAX/RDX with REX.W): its absolute value, saturated
    /// to the element count (SDM Vol. 2B, 4.1.1).
    /// </summary>
    public static int ExplicitLength(long register, byte imm)
    {
        int n = ElementCount(imm);
        if (register == long.MinValue)
        {
            return n;
        }

        return (int)Math.Min(Math.Abs(register), n);
    }

    /// <summary>
    /// IntRes2, the result of the comparison and the polarity, as a 16- or 8-bit mask; the flags are
    /// CF = IntRes2 != 0, ZF = lengthB &lt; n, SF = lengthA &lt; n, OF = IntRes2[0], AF = PF = 0.
    /// </summary>
    public static int Compare(ReadOnlySpan<byte> a, int lengthA, ReadOnlySpan<byte> b, int lengthB, byte imm)
    {
        int n = ElementCount(imm);
        int all = (1 << n) - 1;
        int result = 0;
        switch (imm & AggregationMask)
        {
            case EqualAny:
                for (int j = 0; j < lengthB; j++)
                {
                    int bj = Element(b, j, imm);
                    for (int i = 0; i < lengthA; i++)
                    {
                        if (Element(a, i, imm) == bj)
                        {
                            result |= 1 << j;
                            break;
                        }
                    }
                }

                break;

            case Ranges:
                for (int j = 0; j < lengthB; j++)
                {
                    int bj = Element(b, j, imm);
                    for (int i = 0; i + 1 < lengthA; i += 2)
                    {
                        if (Element(a, i, imm) <= bj && bj <= Element(a, i + 1, imm))
                        {
                            result |= 1 << j;
                            break;
                        }
                    }
                }

                break;

            case EqualEach:
                for (int j = 0; j < n; j++)
                {
                    bool validA = j < lengthA;
                    bool validB = j < lengthB;

                    // Both invalid compare true, one invalid false (SDM Vol. 2B, Table 4-7).
                    bool match = validA && validB ? Element(a, j, imm) == Element(b, j, imm) : validA == validB;
                    if (match)
                    {
                        result |= 1 << j;
                    }
                }

                break;

            default:
                for (int j = 0; j < n; j++)
                {
                    bool match = true;
                    for (int i = 0, k = j; k < n && i < lengthA; i++, k++)
                    {
                        // An element of a past its end matches anything; one of b past its end matches nothing.
                        if (k >= lengthB || Element(a, i, imm) != Element(b, k, imm))
                        {
                            match = false;
                            break;
                        }
                    }

                    if (match)
                    {
                        result |= 1 << j;
                    }
                }

                break;
        }

        return (imm & PolarityMask) switch
        {
            NegativePolarity => ~result & all,
            MaskedNegativePolarity => result ^ ((1 << lengthB) - 1),
            _ => result,
        };
    }

    /// <summary>The PCMPxSTRI index: the lowest (or, with imm8[6], highest) set bit of IntRes2, or the element count when none is.</summary>
    public static int Index(int intRes2, byte imm)
    {
        if (intRes2 == 0)
        {
            return ElementCount(imm);
        }

        return (imm & MostSignificantOrExpanded) != 0 ? 31 - BitOperations.LeadingZeroCount((uint)intRes2) : BitOperations.TrailingZeroCount(intRes2);
    }

    /// <summary>The PCMPxSTRM mask for XMM0: IntRes2 zero-extended, or with imm8[6] expanded to a byte/word mask.</summary>
    public static void Mask(Span<byte> xmm0, int intRes2, byte imm)
    {
        xmm0.Clear();
        if ((imm & MostSignificantOrExpanded) == 0)
        {
            BinaryPrimitives.WriteUInt16LittleEndian(xmm0, (ushort)intRes2);
            return;
        }

        int width = (imm & WordElements) != 0 ? 2 : 1;
        int n = ElementCount(imm);
        for (int i = 0; i < n; i++)
        {
            if (((intRes2 >> i) & 1) != 0)
            {
                xmm0.Slice(i * width, width).Fill(0xFF);
            }
        }
    }

    private static int Element(ReadOnlySpan<byte> v, int i, byte imm) => (imm & (WordElements | SignedElements)) switch
    {
        0 => v[i],
        WordElements => BinaryPrimitives.ReadUInt16LittleEndian(v[(2 * i)..]),
        SignedElements => (sbyte)v[i],
        _ => BinaryPrimitives.ReadInt16LittleEndian(v[(2 * i)..]),
    };
}

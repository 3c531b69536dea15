namespace Virt.Cpu.Simd;

/// <summary>Comparisons: the CMPPS predicates and the COMISS/UCOMISS ordering.</summary>
internal static partial class SseFloat<T>
    where T : struct, ISseFormat
{
    /// <summary>COMISS's "unordered" result of <see cref="CompareOrdered"/>.</summary>
    public const int Unordered = 2;

    /// <summary>
    /// CMPPS's predicate <paramref name="predicate"/> (imm8[2:0]: EQ, LT, LE, UNORD, NEQ, NLT, NLE, ORD; Intel SDM Vol. 2A,
    /// CMPPS, Table 3-1). LT, LE, NLT and NLE signal IE for any NaN; the others only for an SNaN.
    /// </summary>
    public static bool Compare(ulong a, ulong b, int predicate, uint mxcsr, ref uint flags)
    {
        predicate &= 7;
        bool signaling = predicate is 1 or 2 or 5 or 6;
        if (IsNaN(a) || IsNaN(b))
        {
            if (signaling || IsSignalingNaN(a) || IsSignalingNaN(b))
            {
                flags |= MxcsrBits.Ie;
            }

            return predicate is 3 or 4 or 5 or 6;
        }

        a = DenormalsAreZeros(a, mxcsr);
        b = DenormalsAreZeros(b, mxcsr);
        flags |= DenormalFlag(a, b);
        long keyA = OrderKey(a);
        long keyB = OrderKey(b);
        return predicate switch
        {
            0 => keyA == keyB,
            1 => keyA < keyB,
            2 => keyA <= keyB,
            3 => false,
            4 => keyA != keyB,
            5 => keyA >= keyB,
            6 => keyA > keyB,
            _ => true,
        };
    }

    /// <summary>
    /// COMISS (<paramref name="signalQuiet"/>: IE for any NaN) and UCOMISS (IE for an SNaN only): -1 less, 0 equal, 1
    /// greater, <see cref="Unordered"/>.
    /// </summary>
    public static int CompareOrdered(ulong a, ulong b, bool signalQuiet, uint mxcsr, ref uint flags)
    {
        if (IsNaN(a) || IsNaN(b))
        {
            if (signalQuiet || IsSignalingNaN(a) || IsSignalingNaN(b))
            {
                flags |= MxcsrBits.Ie;
            }

            return Unordered;
        }

        a = DenormalsAreZeros(a, mxcsr);
        b = DenormalsAreZeros(b, mxcsr);
        flags |= DenormalFlag(a, b);
        return OrderKey(a).CompareTo(OrderKey(b));
    }
}

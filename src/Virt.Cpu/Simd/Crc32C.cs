namespace Virt.Cpu.Simd;

/// <summary>
/// CRC32 (SSE4.2): the CRC-32C (Castagnoli) polynomial, bit-reflected, without the initial or final
/// inversion, folded over the source one byte at a time, least significant byte first (Intel SDM Vol. 2A, CRC32).
/// </summary>
internal static class Crc32C
{
    /// <summary>The reflected Castagnoli polynomial 11EDC6F41h.</summary>
    private const uint ReflectedPolynomial = 0x82F63B78;

    private static readonly uint[] s_table = BuildTable();

    /// <summary>The CRC of <paramref name="crc"/> extended by the low <paramref name="sizeInBytes"/> bytes of <paramref name="data"/>.</summary>
    public static uint Accumulate(uint crc, ulong data, int sizeInBytes)
    {
        for (int i = 0; i < sizeInBytes; i++)
        {
            crc = s_table[(byte)(crc ^ (byte)data)] ^ (crc >> 8);
            data >>= 8;
        }

        return crc;
    }

    private static uint[] BuildTable()
    {
        var table = new uint[256];
        for (uint i = 0; i < 256; i++)
        {
            uint c = i;
            for (int k = 0; k < 8; k++)
            {
                c = (c & 1) != 0 ? (c >> 1) ^ ReflectedPolynomial : c >> 1;
            }

            table[i] = c;
        }

        return table;
    }
}

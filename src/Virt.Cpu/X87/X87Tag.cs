namespace Virt.Cpu.X87;

/// <summary>The 2-bit register tags of the full tag word (Intel SDM Vol. 1, 8.1.7).</summary>
internal enum X87Tag : byte
{
    Valid = 0,
    Zero = 1,

    /// <summary>NaN, infinity, denormal or unsupported encoding.</summary>
    Special = 2,
    Empty = 3,
}

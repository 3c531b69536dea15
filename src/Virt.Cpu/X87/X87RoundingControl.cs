namespace Virt.Cpu.X87;

/// <summary>The RC field of the control word (bits 10-11), Intel SDM Vol. 1, 4.8.4, Table 4-8.</summary>
internal enum X87RoundingControl : byte
{
    /// <summary>Round to nearest, ties to even (the FINIT default).</summary>
    Nearest = 0,

    /// <summary>Round down, toward negative infinity.</summary>
    Down = 1,

    /// <summary>Round up, toward positive infinity.</summary>
    Up = 2,

    /// <summary>Round toward zero (truncate).</summary>
    Zero = 3,
}

namespace Virt.Cpu.X87;

/// <summary>The PC field of the control word (bits 8-9), Intel SDM Vol. 1, 8.1.5.2.</summary>
internal enum X87PrecisionControl : byte
{
    /// <summary>24-bit significand.</summary>
    Single = 0,

    /// <summary>Reserved encoding; hardware treats it as 64-bit, so do we.</summary>
    Reserved = 1,

    /// <summary>53-bit significand.</summary>
    Double = 2,

    /// <summary>64-bit significand (the FINIT default).</summary>
    Extended = 3,
}

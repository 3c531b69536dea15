namespace Virt.Fuzz;

/// <summary>Encodes segment descriptors and gates (Intel SDM Vol. 3A, 3.4.5 Figure 3-8 and 6.11 Figure 6-2).</summary>
public static class Descriptor
{
    /// <summary>The G flag (limit in 4 KiB units), in the flags nibble.</summary>
    public const byte Granularity4K = 0x8;

    /// <summary>The D/B flag (32-bit code or stack), in the flags nibble.</summary>
    public const byte Big = 0x4;

    /// <summary>A segment or system descriptor.</summary>
    /// <param name="baseAddress">The base.</param>
    /// <param name="limit">The 20-bit limit.</param>
    /// <param name="access">The access byte (P, DPL, S, type).</param>
    /// <param name="flags">The flags nibble (G, D/B, L, AVL).</param>
    /// <returns>The descriptor.</returns>
    public static ulong Segment(uint baseAddress, uint limit, byte access, byte flags) =>
        (limit & 0xFFFFUL)
        | ((ulong)(baseAddress & 0xFFFFFF) << 16)
        | ((ulong)access << 40)
        | ((ulong)((limit >> 16) & 0xF) << 48)
        | ((ulong)(flags & 0xF) << 52)
        | ((ulong)(baseAddress >> 24) << 56);

    /// <summary>A gate (interrupt, trap, call or task gate).</summary>
    /// <param name="selector">The target code segment (or TSS for a task gate).</param>
    /// <param name="offset">The target offset.</param>
    /// <param name="access">The access byte (P, DPL, type).</param>
    /// <param name="parameterCount">Dwords a call gate copies between stacks.</param>
    /// <returns>The gate.</returns>
    public static ulong Gate(ushort selector, uint offset, byte access, int parameterCount) =>
        (offset & 0xFFFFUL)
        | ((ulong)selector << 16)
        | ((ulong)(parameterCount & 0x1F) << 32)
        | ((ulong)access << 40)
        | ((ulong)(offset >> 16) << 48);
}

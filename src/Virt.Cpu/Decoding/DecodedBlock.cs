namespace Virt.Cpu.Decoding;

/// <summary>A straight-line run of decoded instructions, up to a control transfer or a page end.</summary>
internal sealed class DecodedBlock
{
    public DecodedBlock(int capacity) => Instructions = new DecodedInstruction[capacity];

    /// <summary>The cache key: A20-applied physical address of the first byte plus the decoding mode bits.</summary>
    public ulong Key;

    /// <summary>The physical address of the first byte.</summary>
    public ulong PhysicalStart;

    /// <summary>The physical address one past the last byte, when the block lies in one page.</summary>
    public ulong PhysicalEnd;

    /// <summary>Whether the bytes span more than one physical page (then any write to either page drops it).</summary>
    public bool SpansPages;

    /// <summary>Physical page numbers holding the block's bytes.</summary>
    public ulong Page0;

    public ulong Page1;

    public bool Valid;

    /// <summary>
    /// Successor cache (two entries, for a branch's two outcomes): the block that followed this one last time for a given
    /// CS base + EIP, so the common path skips the hash lookup. Checked against <see cref="Valid"/> on use.
    /// </summary>
    public DecodedBlock? Successor0;

    public ulong Successor0Linear;

    public DecodedBlock? Successor1;

    public ulong Successor1Linear;

    /// <summary>The translation epoch the successor links were made in (see Cpu.FlushTlb).</summary>
    public uint LinkEpoch;

    public int Count;

    /// <summary>The number of instruction bytes from the first to the last (for the CS limit check when the block is entered).</summary>
    public uint ByteLength;

    public DecodedInstruction[] Instructions;
}

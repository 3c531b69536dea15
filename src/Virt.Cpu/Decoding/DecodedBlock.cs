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

    /// <summary>
    /// Whether the bytes cross a linear page boundary, continuing on <see cref="Page1"/> (then any write to either page drops
    /// the block, and under paging the mapping of the linear page after the first is re-checked when the block is looked up).
    /// A block never holds bytes that wrap around the code segment's offset space, so the continuation is always the linear
    /// page after the block's first byte, whatever CS:IP reaches it (see Cpu.DecodeInto).
    /// </summary>
    public bool SpansPages;

    /// <summary>The physical page of the first byte.</summary>
    public ulong Page0;

    /// <summary>The physical page the bytes continue on when <see cref="SpansPages"/> (it may equal <see cref="Page0"/> when two linear pages map to one frame).</summary>
    public ulong Page1;

    /// <summary>False once the block was invalidated (code write, remapping, eviction): it is never run or linked again.</summary>
    public bool Valid;

    /// <summary>
    /// Successor cache (two entries, for a branch's two outcomes): the block that followed this one last time for a given
    /// CS base + EIP, so the common path skips the hash lookup. Checked against <see cref="Valid"/> on use.
    /// </summary>
    public DecodedBlock? Successor0;

    public ulong Successor0Linear;

    public DecodedBlock? Successor1;

    public ulong Successor1Linear;

    /// <summary>The translation epoch the successor links were made in (see Mmu.Flush).</summary>
    public uint LinkEpoch;

    public int Count;

    /// <summary>The number of instruction bytes from the first to the last (for the CS limit check when the block is entered).</summary>
    public uint ByteLength;

    public DecodedInstruction[] Instructions;

    /// <summary>
    /// How many times the run loop entered this block (wrapping is harmless: a tier compares it with a threshold once). A
    /// compiling tier reads it to find hot blocks; the interpreter never does.
    /// </summary>
    public int HitCount;

    /// <summary>
    /// How many instructions the compiled tier's run loop interpreted in this block before compiling it (saturating). The
    /// compile cost grows with the block's length and the gain with the instructions that run, so a block that is entered
    /// often but left early (a fault in its first instruction) is not worth compiling yet (see Execution/Compiled/BlockCompiler.Policy.cs).
    /// </summary>
    public int InterpretedInstructions;

    /// <summary>
    /// The most instructions one interpreted entry of this block ran before the compiled tier compiled it: instructions
    /// beyond it never ran, so the tier compiles only up to it (see Execution/Compiled/BlockEmitter.SideExit.cs).
    /// </summary>
    public int MaxInterpretedRun;

    /// <summary>
    /// The entry slot for a compiled form of this block: null while the interpreter runs it. A compiling tier sets it to an
    /// engine bound to the compiled code (same contract, see <see cref="IExecutionEngine"/>) and adds the run loop's
    /// dispatch on it (Cpu.Run notes why the interpreter-only loop does not test it yet). Cleared with the block on
    /// invalidation, so compiled code never outlives its bytes.
    /// </summary>
    public IExecutionEngine? CompiledEntry;
}

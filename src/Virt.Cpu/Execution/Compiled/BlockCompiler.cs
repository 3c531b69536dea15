using System.Diagnostics;
using System.Reflection.Emit;
using Virt.Cpu.Decoding;
using M = Virt.Cpu.Cpu.CompiledTierMembers;

namespace Virt.Cpu;

/// <summary>
/// The compiled tier's compiler: turns a <see cref="DecodedBlock"/> into a <see cref="DynamicMethod"/> (IL, made native by
/// the runtime's JIT) with the interpreter's exact results, and keeps the compiled blocks within their budget.
/// </summary>
/// <remarks>
/// <para>
/// The generated method takes (cpu, block, count). Asked for fewer instructions than the block holds (a budget's end,
/// single-stepping) it hands the block to the interpreter's loop, so the compiled body never tests the count. Otherwise it
/// runs every instruction in order:
/// </para>
/// <list type="bullet">
/// <item>A set of simple instructions is generated inline (MOV, ADD/SUB/CMP/AND/OR/XOR/TEST, INC/DEC and LEA on 32- and
/// 64-bit registers, NOP, Jcc and JMP rel): they cannot fault or touch memory, so between two calls the guest registers they
/// use live in IL locals, the lazy-flag record (Cpu.LazyFlags.cs) lives in locals with its kind and size known at compile
/// time, and EIP and the instruction start are not stored at all. A Jcc reads the flags straight from those locals when
/// the interpreter's Condition would read them straight from the record (never where it would materialise EFLAGS, so the
/// state stays byte-identical).</item>
/// <item>Every other instruction is a call of the interpreter's dispatch for that one instruction, after the registers,
/// the flag record, EIP and the instruction start were written back: whatever it does (memory, faults, string
/// instructions, system instructions) is the interpreter's doing, and the block-exit flag is tested after it.</item>
/// </list>
/// <para>
/// Everything written back at each exit is what the interpreter would have left there, so the tiers mix block by block and
/// deterministic runs stay byte-identical. The compiled code is reached from <see cref="DecodedBlock.CompiledEntry"/>, which
/// the decode cache clears when it drops the block (code writes, remapping, eviction).
/// </para>
/// </remarks>
internal sealed partial class BlockCompiler
{
    /// <summary>The estimate of native code bytes per IL byte (x64 code for this IL runs at 2-4 bytes per IL byte).</summary>
    private const long NativeBytesPerIlByte = 4;

    /// <summary>The estimate of the fixed cost of one compiled block: DynamicMethod, its resolver, delegate, CompiledBlock.</summary>
    private const long PerMethodOverheadBytes = 1024;

    /// <summary>At least one instruction in this many of the compiled part is generated inline, or the block stays interpreted (an interpreter call compiled gains nothing).</summary>
    private const int MinGeneratedShare = 3;

    private readonly Cpu _cpu;
    private readonly long _budget;
    private readonly List<DecodedBlock> _compiled = [];
    private long _blocksCompiled;
    private long _compileTicks;
    private long _ilBytes;
    private long _codeSize;
    private long _evictions;
    private long _blocksEvicted;
    private long _instructionsCompiled;

    /// <summary>Creates the compiler of one CPU.</summary>
    /// <param name="cpu">The CPU whose blocks it compiles.</param>
    /// <param name="budgetInBytes">The bound of the compiled code's estimated size (see <see cref="CpuOptions.CompiledCodeBudgetInBytes"/>).</param>
    /// <param name="threshold">The interpreted entries before a block is compiled (see <see cref="CpuOptions.CompileThreshold"/>).</param>
    /// <param name="rateLimit">The instructions retired per instruction compiled (see <see cref="CpuOptions.CompileRateLimit"/>; 0: none).</param>
    /// <param name="background">Whether to compile on the background thread (see <see cref="CpuOptions.BackgroundCompilation"/>).</param>
    /// <param name="backoff">Whether pages whose compiled code keeps being invalidated back off (false only for the test suite switch).</param>
    public BlockCompiler(Cpu cpu, long budgetInBytes, int threshold, int rateLimit, bool background, bool backoff = true)
    {
        _cpu = cpu;
        _budget = budgetInBytes;
        _threshold = threshold;
        _rateLimit = rateLimit;
        _background = background;
        _backoff = backoff;
        _compileAllowance = CompileAllowanceInstructions;
    }

    /// <summary>How many times the run loop entered a compiled block (counted by Cpu.CompiledTier.cs).</summary>
    public long CompiledEntries;

    /// <summary>For tests: told the physical start of every block attached.</summary>
    internal Action<ulong>? BlockAttached { get; set; }

    /// <summary>The statistics so far.</summary>
    public CompiledTierStatistics Statistics => new(
        _blocksCompiled, Stopwatch.GetElapsedTime(0, _compileTicks), _ilBytes, _codeSize, _compiled.Count, _evictions, CompiledEntries,
        _blocksInvalidated, _compilesDeferred, _blocksEvicted, _instructionsCompiled, _cpu.SideExits);

    /// <summary>
    /// Offered a block that passed the hit threshold: compiles it and attaches it to its entry slot when the policy says it
    /// is worth it now (BlockCompiler.Policy.cs), or hands it to the background thread (BlockCompiler.Background.cs). True
    /// when the block has its compiled form now. A block whose shape the compiler does not take gets its hit count set far
    /// back, so it is not offered again soon.
    /// </summary>
    public bool TryAttach(DecodedBlock block)
    {
        if (!ShouldCompile(block))
        {
            return false;
        }

        if (_background)
        {
            Enqueue(block);
            return false;
        }

        CompiledBlock? compiled = CompileNow(block, out int ilBytes, out long ticks);
        _compileTicks += ticks;
        if (compiled is null)
        {
            block.HitCount = int.MinValue;
            return false;
        }

        Attach(block, compiled, ilBytes);
        return true;
    }

    /// <summary>
    /// Compiles <paramref name="block"/> to native code (on whichever thread calls it; it reads only what the decoder wrote
    /// into the block before caching it, which never changes). <paramref name="ticks"/> is the host time it took.
    /// </summary>
    private CompiledBlock? CompileNow(DecodedBlock block, out int ilBytes, out long ticks)
    {
        long start = Stopwatch.GetTimestamp();
        CompiledBlock? compiled = Compile(block, out ilBytes);

        // The runtime turns a DynamicMethod into native code at its first call, not in CreateDelegate. A call asking for no
        // instructions (fewer than the block holds, so the generated code hands it to the interpreter's loop, which runs
        // none and reads nothing but the block's array) makes that happen here: the JIT's time is counted as compile time,
        // and under background compilation it is spent on the background thread, not on the run thread's first entry.
        compiled?.Code(block, 0);
        ticks = Stopwatch.GetTimestamp() - start;
        return compiled;
    }

    /// <summary>
    /// Attaches <paramref name="compiled"/> to <paramref name="block"/>'s entry slot (run thread only), first making room
    /// within the budget: the blocks the decode cache dropped since are forgotten, and when the live ones still fill the
    /// budget the coldest are evicted (<see cref="EvictColdest"/>).
    /// </summary>
    private void Attach(DecodedBlock block, CompiledBlock compiled, int ilBytes)
    {
        if (_codeSize + compiled.SizeInBytes > _budget)
        {
            _compiled.RemoveAll(static b => b.CompiledEntry is null);
            _codeSize = 0;
            foreach (DecodedBlock b in _compiled)
            {
                _codeSize += ((CompiledBlock)b.CompiledEntry!).SizeInBytes;
            }

            if (_codeSize + compiled.SizeInBytes > _budget)
            {
                EvictColdest(_budget / 2 - compiled.SizeInBytes);
            }
        }

        block.CompiledEntry = compiled;

        // From here on the hit count (still incremented by the run loop at every entry) counts the compiled entries that
        // EvictColdest ranks blocks by.
        block.HitCount = 0;
        _compiled.Add(block);
        _codeSize += compiled.SizeInBytes;
        _blocksCompiled++;
        _instructionsCompiled += block.Count;
        _ilBytes += ilBytes;
        BlockAttached?.Invoke(block.PhysicalStart);
    }

    /// <summary>
    /// Drops the compiled blocks entered least since the previous eviction (or since they were compiled) until the rest
    /// hold at most <paramref name="targetBytes"/>; the survivors count their entries afresh. Evicting down to half the
    /// budget makes the sort's cost O(log n) per compiled block, amortized, and keeps the hot code compiled where dropping
    /// everything made every hot block pay its interpreted entries and its compile again.
    /// </summary>
    private void EvictColdest(long targetBytes)
    {
        _compiled.Sort(static (a, b) => a.HitCount.CompareTo(b.HitCount));
        int dropped = 0;
        while (dropped < _compiled.Count && _codeSize > Math.Max(targetBytes, 0))
        {
            DecodedBlock b = _compiled[dropped++];
            _codeSize -= ((CompiledBlock)b.CompiledEntry!).SizeInBytes;
            b.CompiledEntry = null;
            b.HitCount = 0;
            b.InterpretedInstructions = 0;
        }

        _compiled.RemoveRange(0, dropped);
        foreach (DecodedBlock b in _compiled)
        {
            b.HitCount = 0;
        }

        _blocksEvicted += dropped;
        _evictions++;
    }

    /// <summary>Generates the method of one block, or null when the block's shape is not one the compiler takes.</summary>
    private CompiledBlock? Compile(DecodedBlock block, out int ilBytes)
    {
        ilBytes = 0;
        int n = block.Count;
        DecodedInstruction[] instructions = block.Instructions;
        if (n == 0 || n > instructions.Length)
        {
            return null;
        }

        // Only the last instruction may end the block: the generated code follows EIP from the block's start by the
        // instruction lengths, which holds only while no instruction before the last transfers control.
        for (int i = 0; i < n - 1; i++)
        {
            if (instructions[i].EndsBlock && instructions[i].Op != Op.Jcc)
            {
                return null;
            }
        }

        // The compiled part: what the interpreted entries reached, less what would run as interpreter calls anyway
        // (BlockEmitter.SideExit.cs). A part with nothing generated inline would gain nothing.
        int limit = block.MaxInterpretedRun > 0 ? block.MaxInterpretedRun : n;
        var method = new DynamicMethod("Block" + block.PhysicalStart.ToString("X", System.Globalization.CultureInfo.InvariantCulture), typeof(int), [typeof(Cpu), typeof(DecodedBlock), typeof(int)], typeof(Cpu), skipVisibility: true);
        ILGenerator il = method.GetILGenerator(256 + (n * 64));
        var emitter = new BlockEmitter(il, block, limit);
        if (emitter.GeneratedCount == 0 || emitter.GeneratedCount * MinGeneratedShare < emitter.CompiledCount)
        {
            return null;
        }

        emitter.Emit();
        ilBytes = il.ILOffset;
        // Closed over the CPU (the method's first argument): such a delegate is called as an instance method is, without
        // the argument-shuffling stub an open static delegate goes through on every chained entry.
        var code = (Func<DecodedBlock, int, int>)method.CreateDelegate(typeof(Func<DecodedBlock, int, int>), _cpu);
        return new CompiledBlock(_cpu, code, PerMethodOverheadBytes + (ilBytes * (1 + NativeBytesPerIlByte)) + ((long)n * 8));
    }
}

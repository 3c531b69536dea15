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
internal sealed class BlockCompiler
{
    /// <summary>The estimate of native code bytes per IL byte (x64 code for this IL runs at 2-4 bytes per IL byte).</summary>
    private const long NativeBytesPerIlByte = 4;

    /// <summary>The estimate of the fixed cost of one compiled block: DynamicMethod, its resolver, delegate, CompiledBlock.</summary>
    private const long PerMethodOverheadBytes = 1024;

    private readonly Cpu _cpu;
    private readonly long _budget;
    private readonly List<DecodedBlock> _compiled = [];
    private long _blocksCompiled;
    private long _compileTicks;
    private long _ilBytes;
    private long _codeSize;
    private long _evictions;

    /// <summary>Creates the compiler of one CPU.</summary>
    /// <param name="cpu">The CPU whose blocks it compiles.</param>
    /// <param name="budgetInBytes">The bound of the compiled code's estimated size (see <see cref="CpuOptions.CompiledCodeBudgetInBytes"/>).</param>
    public BlockCompiler(Cpu cpu, long budgetInBytes)
    {
        _cpu = cpu;
        _budget = budgetInBytes;
    }

    /// <summary>How many times the run loop entered a compiled block (counted by Cpu.CompiledTier.cs).</summary>
    public long CompiledEntries;

    /// <summary>The statistics so far.</summary>
    public CompiledTierStatistics Statistics => new(
        _blocksCompiled, Stopwatch.GetElapsedTime(0, _compileTicks), _ilBytes, _codeSize, _compiled.Count, _evictions, CompiledEntries);

    /// <summary>
    /// Compiles <paramref name="block"/> and attaches it to its entry slot, first dropping every compiled block when the
    /// budget would be exceeded. False when the block is not compiled (its shape is one the compiler does not take); then
    /// its hit count is set far back so it is not tried again soon.
    /// </summary>
    public bool TryAttach(DecodedBlock block)
    {
        long start = Stopwatch.GetTimestamp();
        CompiledBlock? compiled = Compile(block, out int ilBytes);
        _compileTicks += Stopwatch.GetTimestamp() - start;
        if (compiled is null)
        {
            block.HitCount = int.MinValue;
            return false;
        }

        if (_codeSize + compiled.SizeInBytes > _budget)
        {
            // First forget the blocks the decode cache dropped since (their entry slots were cleared with them); only
            // when the live ones still fill the budget is everything evicted.
            _compiled.RemoveAll(static b => b.CompiledEntry is null);
            _codeSize = 0;
            foreach (DecodedBlock b in _compiled)
            {
                _codeSize += ((CompiledBlock)b.CompiledEntry!).SizeInBytes;
            }

            if (_codeSize + compiled.SizeInBytes > _budget)
            {
                EvictAll();
            }
        }

        block.CompiledEntry = compiled;
        _compiled.Add(block);
        _codeSize += compiled.SizeInBytes;
        _blocksCompiled++;
        _ilBytes += ilBytes;
        return true;
    }

    /// <summary>Drops every compiled block (they run interpreted and count their hits afresh).</summary>
    private void EvictAll()
    {
        foreach (DecodedBlock b in _compiled)
        {
            b.CompiledEntry = null;
            b.HitCount = 0;
        }

        _compiled.Clear();
        _codeSize = 0;
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

        var method = new DynamicMethod("Block" + block.PhysicalStart.ToString("X", System.Globalization.CultureInfo.InvariantCulture), typeof(int), [typeof(Cpu), typeof(DecodedBlock), typeof(int)], typeof(Cpu), skipVisibility: true);
        ILGenerator il = method.GetILGenerator(256 + (n * 64));
        var emitter = new BlockEmitter(il, block);
        emitter.Emit();
        ilBytes = il.ILOffset;
        var code = (Func<Cpu, DecodedBlock, int, int>)method.CreateDelegate(typeof(Func<Cpu, DecodedBlock, int, int>));
        return new CompiledBlock(_cpu, code, PerMethodOverheadBytes + (ilBytes * (1 + NativeBytesPerIlByte)) + ((long)n * 8));
    }
}

namespace Virt.Cpu;

/// <summary>What the compiled tier has done so far (see <see cref="Cpu.CompiledTierStatistics"/>); all zero under the interpreter tier.</summary>
/// <param name="BlocksCompiled">Blocks compiled since construction (a block compiled again after an eviction counts again).</param>
/// <param name="CompileTime">Host time spent compiling them to IL and through the runtime's JIT.</param>
/// <param name="IlBytes">The IL bytes generated since construction.</param>
/// <param name="CodeSizeInBytes">
/// The estimated host memory the compiled blocks hold now: for each, its IL, an estimate of its native code (a multiple of
/// the IL) and the method's fixed overhead. An estimate, used against <see cref="CpuOptions.CompiledCodeBudgetInBytes"/>.
/// </param>
/// <param name="CompiledBlocksLive">Blocks whose compiled form is attached now.</param>
/// <param name="Evictions">
/// How many times the budget was reached and the compiled blocks entered least since the previous time were dropped, down
/// to half the budget (they run interpreted and count their entries afresh).
/// </param>
/// <param name="CompiledBlockEntries">How many times the run loop entered a block through its compiled form.</param>
/// <param name="BlocksInvalidated">
/// Compiled blocks dropped because their bytes were written or remapped (self-modifying code), including those compiled
/// on the background thread whose bytes changed before they were attached. Each one makes the tier wait twice as long
/// before compiling code of that physical page again.
/// </param>
/// <param name="CompilesDeferred">Times a hot block stayed interpreted because <see cref="CpuOptions.CompileRateLimit"/> was spent.</param>
/// <param name="BlocksEvicted">Compiled blocks dropped by evictions (see <paramref name="Evictions"/>).</param>
/// <param name="InstructionsCompiled">The guest instructions in the blocks compiled since construction (what <see cref="CpuOptions.CompileRateLimit"/> counts).</param>
/// <param name="SideExits">
/// How many times compiled code handed the rest of its block to the interpreter: a memory access its inline probe did not
/// take, or the end of the part of the block that was compiled.
/// </param>
public readonly record struct CompiledTierStatistics(
    long BlocksCompiled,
    TimeSpan CompileTime,
    long IlBytes,
    long CodeSizeInBytes,
    int CompiledBlocksLive,
    long Evictions,
    long CompiledBlockEntries,
    long BlocksInvalidated = 0,
    long CompilesDeferred = 0,
    long BlocksEvicted = 0,
    long InstructionsCompiled = 0,
    long SideExits = 0);

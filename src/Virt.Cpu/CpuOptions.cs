namespace Virt.Cpu;

/// <summary>Construction options of a <see cref="Cpu"/>.</summary>
public sealed record CpuOptions
{
    /// <summary>What CPUID reports (vendor, signature, brand, features); validated when the CPU is constructed.</summary>
    public CpuidModel Cpuid { get; init; } = CpuidModel.Default;

    /// <summary>The 12-character vendor string CPUID leaf 0 reports: shorthand for <see cref="CpuidModel.Vendor"/> of <see cref="Cpuid"/>.</summary>
    public string VendorString
    {
        get => Cpuid.Vendor;
        init => Cpuid = Cpuid with { Vendor = value };
    }

    /// <summary>
    /// Decode every instruction afresh instead of caching decoded blocks. Only for measuring the cache's benefit and
    /// for debugging the cache; guests behave identically but run several times slower.
    /// </summary>
    public bool DisableDecodeCache { get; init; }

    /// <summary>The MSRs implemented outside the CPU (a board's local APIC), asked for every MSR the CPU does not implement; null for none.</summary>
    public IMsrHandler? MsrHandler { get; init; }

    /// <summary>The default of <see cref="DecodeCacheBudgetInBytes"/>: 64 MiB.</summary>
    public const long DefaultDecodeCacheBudgetInBytes = 64L * 1024 * 1024;

    /// <summary>
    /// The smallest accepted <see cref="DecodeCacheBudgetInBytes"/>: 256 KiB, room for about a hundred of the largest blocks
    /// (64 instructions each), so that a budget this small still lets loops run from the cache.
    /// </summary>
    public const long MinimumDecodeCacheBudgetInBytes = 256L * 1024;

    /// <summary>
    /// The most host memory, in bytes, the CPU's decode cache may hold (by its own estimate, see
    /// <see cref="Cpu.DecodeCacheSizeInBytes"/>). When a newly decoded block would take the cache over the budget, every
    /// cached block is evicted and decoding starts afresh (see <see cref="Cpu.DecodeCacheEvictions"/>), so a guest cannot
    /// grow host memory by running ever more distinct code. Default <see cref="DefaultDecodeCacheBudgetInBytes"/>.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">When set below <see cref="MinimumDecodeCacheBudgetInBytes"/>.</exception>
    public long DecodeCacheBudgetInBytes
    {
        get => _decodeCacheBudgetInBytes;
        init
        {
            if (value < MinimumDecodeCacheBudgetInBytes)
            {
                throw new ArgumentOutOfRangeException(
                    nameof(DecodeCacheBudgetInBytes),
                    value,
                    $"CpuOptions.DecodeCacheBudgetInBytes must be at least {MinimumDecodeCacheBudgetInBytes} bytes (256 KiB); it was {value}.");
            }

            _decodeCacheBudgetInBytes = value;
        }
    }

    private readonly long _decodeCacheBudgetInBytes = DefaultDecodeCacheBudgetInBytes;

    /// <summary>
    /// Which engines run guest code (default <see cref="Virt.Cpu.ExecutionTier.Interpreter"/>). With
    /// <see cref="Virt.Cpu.ExecutionTier.Compiled"/>, hot blocks are compiled to .NET methods (see docs/performance.md,
    /// "Compiled tier"); results are identical, only the speed differs. Blocks that single-step, meet breakpoints or run
    /// with the decode cache disabled always run in the interpreter.
    /// </summary>
    public ExecutionTier ExecutionTier
    {
        get => _executionTier;
        init
        {
            _executionTier = value;
            ExecutionTierChosen = true;
        }
    }

    private readonly ExecutionTier _executionTier = ExecutionTier.Interpreter;

    /// <summary>Whether <see cref="ExecutionTier"/> was set rather than left at its default (the CPU tests' tier switch only changes the default).</summary>
    internal bool ExecutionTierChosen { get; private init; }

    /// <summary>
    /// The default of <see cref="CompileThreshold"/>: a block is compiled once it has done the work of 3000 runs through the
    /// part that would be compiled. The runtime's JIT takes milliseconds per block, which a block repays only after
    /// thousands of entries; on the Linux boots 50 compiled ten times as many blocks and ran slower than 1000 and 10000
    /// (docs/performance.md, "Compile cost on the Linux boot").
    /// </summary>
    public const int DefaultCompileThreshold = 3000;

    /// <summary>
    /// Under <see cref="Virt.Cpu.ExecutionTier.Compiled"/>, how many times a block runs in the interpreter before it is
    /// compiled (0: compile every cacheable block on its first entry, as tests do). Default <see cref="DefaultCompileThreshold"/>.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">When set below 0.</exception>
    public int CompileThreshold
    {
        get => _compileThreshold;
        init
        {
            if (value < 0)
            {
                throw new ArgumentOutOfRangeException(nameof(CompileThreshold), value, $"CpuOptions.CompileThreshold must be 0 or more; it was {value}.");
            }

            _compileThreshold = value;
        }
    }

    private readonly int _compileThreshold = DefaultCompileThreshold;

    /// <summary>The default of <see cref="CompiledCodeBudgetInBytes"/>: 32 MiB.</summary>
    public const long DefaultCompiledCodeBudgetInBytes = 32L * 1024 * 1024;

    /// <summary>The smallest accepted <see cref="CompiledCodeBudgetInBytes"/>: 64 KiB.</summary>
    public const long MinimumCompiledCodeBudgetInBytes = 64L * 1024;

    /// <summary>
    /// Under <see cref="Virt.Cpu.ExecutionTier.Compiled"/>, the most host memory the compiled blocks may hold by the tier's
    /// own estimate (see <see cref="CompiledTierStatistics.CodeSizeInBytes"/>). When a new block would exceed it, the
    /// compiled blocks entered least since the previous eviction are dropped down to half the budget (they run interpreted
    /// until hot again), so a guest that generates code without end cannot grow the host without end while its hot code
    /// stays compiled. Default <see cref="DefaultCompiledCodeBudgetInBytes"/>.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">When set below <see cref="MinimumCompiledCodeBudgetInBytes"/>.</exception>
    public long CompiledCodeBudgetInBytes
    {
        get => _compiledCodeBudgetInBytes;
        init
        {
            if (value < MinimumCompiledCodeBudgetInBytes)
            {
                throw new ArgumentOutOfRangeException(
                    nameof(CompiledCodeBudgetInBytes),
                    value,
                    $"CpuOptions.CompiledCodeBudgetInBytes must be at least {MinimumCompiledCodeBudgetInBytes} bytes (64 KiB); it was {value}.");
            }

            _compiledCodeBudgetInBytes = value;
        }
    }

    private readonly long _compiledCodeBudgetInBytes = DefaultCompiledCodeBudgetInBytes;

    /// <summary>The default of <see cref="CompileRateLimit"/>: one instruction compiled per 1000 retired.</summary>
    public const int DefaultCompileRateLimit = 1000;

    /// <summary>
    /// Under <see cref="Virt.Cpu.ExecutionTier.Compiled"/>, how many guest instructions must retire for each instruction the
    /// tier compiles, beyond a first allowance of 4096 compiled instructions (0: no limit). Compiling costs the runtime's JIT
    /// tens of microseconds per instruction, about what the interpreter needs for a thousand, so the default keeps the host
    /// time spent compiling near the time spent running whatever the guest does (a guest that runs each of many blocks only
    /// a little, or rewrites its code). Counted in instructions, not host time, so which blocks are compiled is the same in
    /// every run. Hot blocks that find the allowance spent stay interpreted for a while
    /// (<see cref="CompiledTierStatistics.CompilesDeferred"/>). Default <see cref="DefaultCompileRateLimit"/>.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">When set below 0.</exception>
    public int CompileRateLimit
    {
        get => _compileRateLimit;
        init
        {
            if (value < 0)
            {
                throw new ArgumentOutOfRangeException(nameof(CompileRateLimit), value, $"CpuOptions.CompileRateLimit must be 0 or more; it was {value}.");
            }

            _compileRateLimit = value;
        }
    }

    private readonly int _compileRateLimit = DefaultCompileRateLimit;

    /// <summary>
    /// Under <see cref="Virt.Cpu.ExecutionTier.Compiled"/>, compile hot blocks on a background thread (shared by every CPU of
    /// the process, ended when idle) instead of on the thread that runs the guest, which interprets a block until its compiled
    /// form is ready. Guest state is the same either way; which block entries run compiled, and so the host time and
    /// <see cref="CompiledTierStatistics"/>, vary from run to run. Default false (see docs/performance.md for the measurement).
    /// </summary>
    public bool BackgroundCompilation { get; init; }
}

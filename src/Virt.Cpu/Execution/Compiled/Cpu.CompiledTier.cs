using System.Reflection;
using System.Runtime.CompilerServices;
using Virt.Cpu.Decoding;

namespace Virt.Cpu;

/// <summary>
/// The compiled tier's side of the CPU: how the run loop reaches a block's compiled form, when a block is compiled, and the
/// members the generated code uses (see <see cref="BlockCompiler"/> and docs/performance.md, "Compiled tier").
/// </summary>
public sealed partial class Cpu
{
    /// <summary>The compiler under <see cref="ExecutionTier.Compiled"/>; null under the interpreter tier.</summary>
    private BlockCompiler? _blockCompiler;

    /// <summary>
    /// A test switch: when set, every CPU constructed afterwards whose options leave the tier at its default runs the compiled tier with this
    /// threshold instead, so that a whole test suite runs on the compiled tier (the CPU tests set it from the environment
    /// variable VIRT_TEST_CPU_TIER, see tests/Virt.Cpu.Tests/CompiledTierSuiteSwitch.cs). Null in normal use.
    /// </summary>
    internal static int? CompiledTierOverrideThreshold { get; set; }

    /// <summary>How many interpreted entries precede a block's compilation (see <see cref="CpuOptions.CompileThreshold"/>).</summary>
    private int _compileThreshold;

    /// <summary>What the compiled tier has done so far (all zero under <see cref="ExecutionTier.Interpreter"/>).</summary>
    public CompiledTierStatistics CompiledTierStatistics => _blockCompiler?.Statistics ?? default;

    /// <summary>The compiled tier's compiler, for tests (null under the interpreter tier).</summary>
    internal BlockCompiler? BlockCompiler => _blockCompiler;

    /// <summary>The tier this CPU runs with.</summary>
    public ExecutionTier ExecutionTier => _blockCompiler is null ? ExecutionTier.Interpreter : ExecutionTier.Compiled;

    /// <summary>
    /// How the run loop runs a block: the run loop is one generic method instantiated once per runner, so the interpreter
    /// tier's loop keeps the interpreter inlined with no test of the entry slot (a test there cost 9-14% on the ALU loop,
    /// see Cpu.Run), and only the compiled tier's instantiation looks at <see cref="DecodedBlock.CompiledEntry"/>.
    /// </summary>
    private interface IBlockRunner
    {
        /// <summary>Runs up to <paramref name="count"/> instructions of <paramref name="block"/> (the <see cref="IExecutionEngine"/> contract).</summary>
        static abstract int Run(Cpu cpu, DecodedBlock block, int count);

        /// <summary>
        /// What blocks chained after the one the run loop entered retired (already counted as retired, not yet taken from
        /// the run loop's budget; see Cpu.CompiledChaining.cs), cleared: always 0 for the interpreter.
        /// </summary>
        static abstract long TakeChainedRetired(Cpu cpu);
    }

    /// <summary>The interpreter tier: the interpreter's loop, inlined into the run loop.</summary>
    private readonly struct InterpreterRunner : IBlockRunner
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static int Run(Cpu cpu, DecodedBlock block, int count) => cpu.InterpretBlock(block, count);

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static long TakeChainedRetired(Cpu cpu) => 0;
    }

    /// <summary>The compiled tier: the block's compiled form when it has one, else the interpreter (compiling the block once hot).</summary>
    private readonly struct TieredRunner : IBlockRunner
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static int Run(Cpu cpu, DecodedBlock block, int count)
        {
            if (block.CompiledEntry is CompiledBlock compiled)
            {
                return cpu.RunCompiledChain(compiled, block, count);
            }

            return cpu.RunUncompiled(block, count);
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static long TakeChainedRetired(Cpu cpu) => cpu.TakeChainedRetired();
    }

    /// <summary>The compiler the options ask for (null for the interpreter tier), and the threshold it compiles at.</summary>
    private BlockCompiler? CreateBlockCompiler()
    {
        ExecutionTier tier = _options.ExecutionTier;
        _compileThreshold = _options.CompileThreshold;
        int rateLimit = _options.CompileRateLimit;
        bool backoff = true;
        if (!_options.ExecutionTierChosen && CompiledTierOverrideThreshold is int threshold)
        {
            // The suite switch asks for every block compiled, whatever the suite's guests run: no rate limit, and no
            // back-off for pages whose code changes (a conformance suite writes each test's code over the previous one's).
            tier = ExecutionTier.Compiled;
            _compileThreshold = threshold;
            rateLimit = 0;
            backoff = false;
        }

        BlockCompiler? compiler = tier switch
        {
            ExecutionTier.Interpreter => null,
            ExecutionTier.Compiled => new BlockCompiler(this, _options.CompiledCodeBudgetInBytes, _compileThreshold, rateLimit, _options.BackgroundCompilation, backoff),
            _ => throw new ArgumentOutOfRangeException(
                nameof(CpuOptions.ExecutionTier), tier, $"CpuOptions.ExecutionTier must be Interpreter or Compiled; it was {tier}."),
        };
        if (compiler is not null)
        {
            _decodeCache.CompiledBlockInvalidated = compiler.OnCompiledBlockInvalidated;
        }

        return compiler;
    }

    /// <summary>A block without a compiled form: compiled first when it is cached and hot, else interpreted.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private int RunUncompiled(DecodedBlock block, int count)
    {
        BlockCompiler compiler = _blockCompiler!;
        if (compiler.HasFinishedCompiles)
        {
            // The background thread finished blocks (Execution/Compiled/BlockCompiler.Background.cs): attach them, this one
            // perhaps among them.
            compiler.AttachFinished();
            if (block.CompiledEntry is CompiledBlock finished)
            {
                return RunCompiledChain(finished, block, count);
            }
        }

        // Only cached blocks are compiled: the scratch, fetch-fault and CS-limit blocks are reused or one-off (Valid false).
        if (block.Valid && block.HitCount > _compileThreshold && compiler.TryAttach(block))
        {
            return RunCompiledChain((CompiledBlock)block.CompiledEntry!, block, count);
        }

        int executed = InterpretBlock(block, count);

        // The work done in the block, which the compile policy weighs against the block's length (saturating, so that a
        // block the policy keeps interpreted for good cannot wrap the count).
        if (block.InterpretedInstructions <= int.MaxValue - executed)
        {
            block.InterpretedInstructions += executed;
        }

        if (executed > block.MaxInterpretedRun)
        {
            block.MaxInterpretedRun = executed;
        }

        return executed;
    }

    /// <summary>
    /// The interpreter for one instruction, out of line: what compiled code calls for every instruction it does not
    /// generate itself, so the semantics stay the interpreter's.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private void ExecuteForCompiledTier(ref DecodedInstruction d) => Execute(ref d);

    /// <summary>The interpreter's loop, out of line: compiled code runs a block through it when asked for fewer instructions than the block holds.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private int InterpretForCompiledTier(DecodedBlock block, int count) => InterpretBlock(block, count);

    /// <summary>The members of <see cref="Cpu"/> and of the state the generated code reaches (by reflection, once).</summary>
    internal static class CompiledTierMembers
    {
        private const BindingFlags Instance = BindingFlags.Instance | BindingFlags.NonPublic | BindingFlags.Public;

        /// <summary>Cpu._ctx, the architectural state.</summary>
        public static readonly FieldInfo Context = Field(typeof(Cpu), nameof(_ctx));

        /// <summary>Cpu._exitBlock, the block-exit flag.</summary>
        public static readonly FieldInfo ExitBlock = Field(typeof(Cpu), nameof(_exitBlock));

        /// <summary>CpuContext.Gpr.</summary>
        public static readonly FieldInfo Gpr = Field(typeof(CpuContext), nameof(CpuContext.Gpr));

        /// <summary>CpuContext.Rip.</summary>
        public static readonly FieldInfo Rip = Field(typeof(CpuContext), nameof(CpuContext.Rip));

        /// <summary>CpuContext.InstructionStart.</summary>
        public static readonly FieldInfo InstructionStart = Field(typeof(CpuContext), nameof(CpuContext.InstructionStart));

        /// <summary>CpuContext.IpMask.</summary>
        public static readonly FieldInfo IpMask = Field(typeof(CpuContext), nameof(CpuContext.IpMask));

        /// <summary>CpuContext.Eflags.</summary>
        public static readonly FieldInfo Eflags = Field(typeof(CpuContext), nameof(CpuContext.Eflags));

        /// <summary>CpuContext.LazyOp.</summary>
        public static readonly FieldInfo LazyOperation = Field(typeof(CpuContext), nameof(CpuContext.LazyOp));

        /// <summary>CpuContext.LazyDst.</summary>
        public static readonly FieldInfo LazyDst = Field(typeof(CpuContext), nameof(CpuContext.LazyDst));

        /// <summary>CpuContext.LazySrc.</summary>
        public static readonly FieldInfo LazySrc = Field(typeof(CpuContext), nameof(CpuContext.LazySrc));

        /// <summary>CpuContext.LazyRes.</summary>
        public static readonly FieldInfo LazyRes = Field(typeof(CpuContext), nameof(CpuContext.LazyRes));

        /// <summary>CpuContext.LazySize.</summary>
        public static readonly FieldInfo LazySize = Field(typeof(CpuContext), nameof(CpuContext.LazySize));

        /// <summary>DecodedBlock.Instructions.</summary>
        public static readonly FieldInfo Instructions = Field(typeof(DecodedBlock), nameof(DecodedBlock.Instructions));

        /// <summary>Cpu.ExecuteForCompiledTier(ref DecodedInstruction).</summary>
        public static readonly MethodInfo ExecuteOne = Method(nameof(ExecuteForCompiledTier));

        /// <summary>Cpu.InterpretForCompiledTier(DecodedBlock, int).</summary>
        public static readonly MethodInfo Interpret = Method(nameof(InterpretForCompiledTier));

        /// <summary>Cpu.Condition(int).</summary>
        public static readonly MethodInfo Condition = Method(nameof(Cpu.Condition));

        /// <summary>Cpu.GetCarry().</summary>
        public static readonly MethodInfo GetCarry = Method(nameof(Cpu.GetCarry));

        /// <summary>Cpu.JumpNear(ulong, int).</summary>
        public static readonly MethodInfo JumpNear = Method(nameof(Cpu.JumpNear));

        private static FieldInfo Field(Type type, string name) =>
            type.GetField(name, Instance) ?? throw new InvalidOperationException($"The compiled tier needs the field {type.Name}.{name}.");

        private static MethodInfo Method(string name) =>
            typeof(Cpu).GetMethod(name, Instance) ?? throw new InvalidOperationException($"The compiled tier needs the method Cpu.{name}.");
    }
}

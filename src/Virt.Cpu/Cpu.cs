using System.Runtime.CompilerServices;
using Virt.Cpu.Decoding;
using Virt.Memory;

namespace Virt.Cpu;

/// <summary>
/// An x86 CPU core (a P6-class 32-bit processor): the facade over its parts. This file holds the public entry points and
/// the run loop; the parts each own one thing (see docs/architecture.md, "The CPU core"):
/// <list type="bullet">
/// <item>State/: the architectural state in one <see cref="CpuContext"/>, lazy flags, register access, reset and snapshots.</item>
/// <item>Bus/: the interfaces the CPU consumes, given at construction in a <see cref="CpuBus"/>.</item>
/// <item>MemoryAccess/: the <see cref="Mmu"/> (TLB and page walks) and segmented access with its inlined fast path.</item>
/// <item>Decoding/: the <see cref="BlockDecoder"/>, the <see cref="InstructionTranslator"/> and the <see cref="DecodeCache"/>.</item>
/// <item>Execution/: the <see cref="IExecutionEngine"/> contract and the <see cref="Interpreter"/>, whose instruction
/// semantics are grouped by family in Execution/Interpreter/.</item>
/// <item>System/: interrupt and exception delivery, segmentation, far transfers, task switching, virtual-8086 mode, debug
/// registers, MSRs, CPUID.</item>
/// <item>Debugging/ and Hooks/: host breakpoints, memory watches and the host's hooks.</item>
/// </list>
/// </summary>
/// <remarks>
/// <para>
/// Execution model: instructions are decoded once with Iced into blocks of <see cref="DecodedInstruction"/> (the
/// executor's compact form) cached by A20-applied physical address and decoding mode; the run loop enters a block through
/// its entry slot (a compiled tier's engine, else the interpreter). Flags are computed lazily from the last arithmetic
/// operation. Memory is reached through one linear-address translation point and a software TLB of host page pointers.
/// Guest faults are CPU state, never .NET exceptions.
/// </para>
/// <para>Not thread-safe: a CPU belongs to one machine, which runs on one thread. <see cref="RequestStop"/> and <see cref="RequestStopAfterInstruction"/> may be called from any thread.</para>
/// </remarks>
public sealed partial class Cpu : IPhysicalMemoryObserver
{
    // What the CPU is connected to (Bus/).
    private readonly PhysicalMemoryMap _memory;
    private readonly IPortAccessClock? _portAccessClock;
    private readonly IFpuErrorOutput? _fpuError;
    private readonly CpuOptions _options;
    private IoPortSpace _ports;

    // The parts. The state is a struct inside this object (see CpuContext for why); the others hold this CPU.
    private readonly Mmu _mmu;
    private readonly DecodeCache _decodeCache;
    private readonly BlockDecoder _decoder;
    private readonly Interpreter _interpreter;
    private CpuContext _ctx = new();

    // The run loop's own state: budget, retired count, pending events and the per-instruction exit and fault flags.
    private long _retired;
    private long _extraRetired;
    private long _budgetLeft;
    private bool _halted;
    private bool _shutdown;
    private bool _nmiPending;
    private bool _nmiBlocked;
    private bool _inhibitInterrupts;
    private bool _inhibitDebugTrap;

    /// <summary>Set when the instruction just run was INT n, INT3 or INTO entering its handler (no single-step trap follows).</summary>
    private bool _softwareInterruptTaken;
    private bool _exitBlock;
    private bool _faulted;
    private int _faultVector;

    /// <summary>Creates a CPU attached to a memory map and a port space, in the architectural reset state.</summary>
    /// <param name="memory">The guest physical address space.</param>
    /// <param name="ports">The I/O port space.</param>
    /// <param name="interruptController">The source of maskable interrupts, or null for none.</param>
    /// <param name="timeSource">The time-stamp counter source for RDTSC, or null to count retired instructions.</param>
    /// <param name="options">Options, or null for the defaults.</param>
    public Cpu(PhysicalMemoryMap memory, IoPortSpace ports, IInterruptController? interruptController = null, ITimeSource? timeSource = null, CpuOptions? options = null)
        : this(new CpuBus { Memory = memory, Ports = ports, InterruptController = interruptController, TimeSource = timeSource }, options)
    {
    }

    /// <summary>Creates a CPU connected to everything in <paramref name="bus"/>, in the architectural reset state.</summary>
    /// <param name="bus">What the CPU is connected to.</param>
    /// <param name="options">Options, or null for the defaults.</param>
    public Cpu(CpuBus bus, CpuOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(bus);
        ArgumentNullException.ThrowIfNull(bus.Memory, nameof(bus));
        ArgumentNullException.ThrowIfNull(bus.Ports, nameof(bus));
        _memory = bus.Memory;
        _ports = bus.Ports;
        _portAccessClock = bus.PortAccessClock;
        _fpuError = bus.FpuError;
        _options = options ?? new CpuOptions();
        ArgumentNullException.ThrowIfNull(_options.Cpuid, nameof(options));
        _options.Cpuid.Validate();
        InterruptController = bus.InterruptController;
        TimeSource = bus.TimeSource;

        _mmu = new Mmu(this, _memory, _options.Cpuid);
        _tlbReadTag = _mmu.ReadTag;
        _tlbReadHost = _mmu.ReadHost;
        _tlbWriteTag = _mmu.WriteTag;
        _tlbWriteHost = _mmu.WriteHost;
        _decodeCache = new DecodeCache(_memory, _options.DecodeCacheBudgetInBytes);
        _decoder = new BlockDecoder(this, _mmu, _memory, _options.Cpuid);
        _interpreter = new Interpreter(this);
        _blockCompiler = CreateBlockCompiler();
        _scratchBlock = new DecodedBlock(1);
        _fetchFaultBlock.ByteLength = 1; // its instruction's first byte must lie within CS.limit, or #GP(0) comes first
        _memory.AddObserver(this);
        Reset();
    }

    /// <summary>
    /// The interrupt controller asked for maskable interrupts (null: none). Given at construction; a host may interpose a
    /// controller that forwards to it (interrupt hooks).
    /// </summary>
    public IInterruptController? InterruptController { get; set; }

    /// <summary>The RDTSC source (null: the retired-instruction count).</summary>
    public ITimeSource? TimeSource { get; set; }

    /// <summary>The architectural state, by reference (for the MMU, the decoder and the engines).</summary>
    internal ref CpuContext Context => ref _ctx;

    /// <summary>The interpreter as an <see cref="IExecutionEngine"/>, for a compiling tier that hands a block back to it.</summary>
    internal IExecutionEngine InterpreterEngine => _interpreter;

    /// <summary>Instructions retired since construction or the last <see cref="Reset"/> (each iteration of a REP string instruction counts as one).</summary>
    public long RetiredInstructions => _retired + _retiredInFlight;

    /// <summary>The vector of the last exception (fault or trap raised by the CPU itself) delivered, or -1; for tests and diagnostics.</summary>
    internal int LastExceptionVector { get; set; } = -1;

    /// <summary>Whether the CPU is halted (HLT) waiting for an interrupt.</summary>
    public bool IsHalted => _halted;

    /// <summary>Whether the CPU is shut down after a triple fault.</summary>
    public bool IsShutdown => _shutdown;

    /// <summary>Asks <see cref="Run"/> to return <see cref="StopReason.StopRequested"/> at the next instruction boundary. Safe from callbacks and other threads.</summary>
    public void RequestStop() => _runLoopExits.StopRequested = true;

    /// <summary>Signals a non-maskable interrupt; it is taken at the next instruction boundary (vector 2), then NMIs are blocked until IRET.</summary>
    public void RaiseNmi() => _nmiPending = true;

    /// <summary>Executes one instruction (or delivers one pending interrupt and executes the first handler instruction).</summary>
    /// <returns>Why execution stopped.</returns>
    public StopReason Step() => Run(1);

    /// <summary>
    /// Runs until <paramref name="maxInstructions"/> instructions retired, the CPU halts, shuts down or the host asks it to stop.
    /// Cheap to call repeatedly: a machine calls it with the number of instructions until its next timer deadline.
    /// </summary>
    /// <param name="maxInstructions">The instruction budget (at least 1).</param>
    /// <returns>Why execution stopped.</returns>
    public StopReason Run(long maxInstructions)
    {
        // The loop's instantiation is chosen here, for the tier and for whether a block or count hook is set (see
        // Hooks/Cpu.HookedRunLoop.cs); the loop returns RunLoopChange when a hook set or removed during the run needs the
        // other one, and the run continues there with the budget left.
        StopReason stop = RunLoopForHooksAndTier(maxInstructions);
        while (stop == RunLoopChange)
        {
            stop = RunLoopForHooksAndTier(_remainingAtRunLoopChange);
        }

        return stop;
    }

    /// <summary>The run loop of <see cref="Run"/>, once per tier (see <see cref="IBlockRunner"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private StopReason RunLoop<TRunner>(long maxInstructions)
        where TRunner : struct, IBlockRunner
    {
        ref CpuContext ctx = ref _ctx;
        long remaining = maxInstructions;
        while (true)
        {
            if (_shutdown)
            {
                return StopReason.Shutdown;
            }

            if (_runLoopExits.Any != 0)
            {
                // One test for a stop request and a change of the block or count hooks (Hooks/Cpu.HookedRunLoop.cs).
                if (_runLoopExits.StopRequested)
                {
                    _runLoopExits.StopRequested = false;
                    return StopReason.StopRequested;
                }

                if (HostHooksChangedRunner<TRunner>())
                {
                    // Nothing of this iteration has run yet: the other instantiation starts exactly here.
                    _remainingAtRunLoopChange = remaining;
                    return RunLoopChange;
                }
            }

            if (remaining <= 0)
            {
                return StopReason.BudgetExhausted;
            }

            bool singleStep = false;
            if (_inhibitInterrupts)
            {
                // Intel SDM Vol. 3A, 6.8.3: after STI, MOV SS or POP SS interrupts wait one instruction (and a debug trap
                // held back by MOV SS that was not taken at that instruction's end expires here).
                _inhibitInterrupts = false;
                _inhibitDebugTrap = false;
                singleStep = true;
            }
            else if ((_nmiPending || _halted || ((ctx.Eflags & EflagsBits.If) != 0 && InterruptController is not null)) && !CheckInterrupts())
            {
                return _shutdown ? StopReason.Shutdown : StopReason.Halted;
            }

            if (_shutdown)
            {
                return StopReason.Shutdown;
            }

            bool trap = false;
            bool hostWatch = false;
            if (((ctx.Eflags & (EflagsBits.Tf | EflagsBits.Rf)) != 0) | _debugSlowPath)
            {
                // Single-step, RF, instruction breakpoints or a pending breakpoint trap: one instruction at a time (see
                // Cpu.Debug.cs).
                if (_hostBreakpointsArmed && CheckHostBreakpoint())
                {
                    // A debugger's breakpoint (Cpu.HostBreakpoints.cs): stop before the instruction, guest state untouched.
                    return StopReason.Breakpoint;
                }

                if (!BeginDebugInstruction())
                {
                    // A #DB was delivered instead; it uses one unit of budget so a guest whose #DB handler itself hits a
                    // breakpoint cannot keep the host in this loop.
                    remaining--;
                    continue;
                }

                trap = (ctx.Eflags & EflagsBits.Tf) != 0;
                _softwareInterruptTaken = false;
                hostWatch = _hostWatchesArmed;
                singleStep = true;
            }

            DecodedBlock block = FetchBlock();
            int count = singleStep ? 1 : block.Count;
            // 64-bit mode has no code-segment limit (Intel SDM Vol. 3A, 5.3.1).
            if (ctx.Rip + block.ByteLength > Math.Min((ulong)ctx.SegLimit[Cs] + 1, ctx.Code32 ? ulong.MaxValue : 0x10000UL) && !ctx.Code64)
            {
                // The block runs past CS.limit or past offset FFFFh of 16-bit code: run only the instructions that lie within
                // both, or the #GP(0) pseudo-instruction, or a fresh decode of an instruction that wraps (see Cpu.CodeLimit.cs).
                (block, count) = FitBlockToCodeSegment(block, count);
            }

            if (count > remaining)
            {
                count = (int)remaining;
            }

            int executed;
            if (typeof(TRunner) == typeof(HookedRunner))
            {
                // A block or instruction-count hook is set (Hooks/Cpu.HostHooks.cs): the block runs out of line, in the
                // interpreter whatever the tier (hooks fall back to the interpreter). A constant per instantiation: the
                // loops of a CPU without hooks contain no test for them (Hooks/Cpu.HookedRunLoop.cs).
                executed = RunBlockWithHostHooks(block, count, remaining);
                if (executed < 0)
                {
                    continue; // a hook moved RIP or asked to stop before the block ran
                }
            }
            else
            {
                // A REP string instruction always sits alone at the start of its block (see DecodeInto), so the budget it
                // may spend on iterations is exactly what remains.
                _budgetLeft = remaining;
                _extraRetired = 0;
                _exitBlock = false;
                // The interpreter tier inlines the interpreter's loop here (InterpretBlock is also what
                // Interpreter.Execute runs); the compiled tier's instantiation enters the block's compiled form, or counts
                // the block towards compiling it (see Cpu.CompiledTier.cs).
                block.HitCount++;
                executed = TRunner.Run(this, block, count);

                // Blocks the compiled tier chained after this one counted themselves as retired (Cpu.CompiledChaining.cs).
                remaining -= TRunner.TakeChainedRetired(this);
            }

            if (_exitBlock)
            {
                _exitBlock = false;
                if (_faulted)
                {
                    _faulted = false;
                    RememberFaultingInstruction(block);
                    ctx.Rip = ctx.InstructionStart;
                    PrepareFaultDelivery();
                    DeliverInterrupt(_faultVector, isException: true);
                    trap = false;
                }
            }

            long retiredNow = executed + _extraRetired;
            _retired += retiredNow;
            remaining -= retiredNow;
            if (trap | hostWatch | (_debugTrapBits != 0))
            {
                // INT n, INT3 and INTO clear TF on the way into their handler and no single-step trap follows them: the
                // handler starts with TF clear (Intel SDM Vol. 3B, 17.3.1.4).
                trap &= !_softwareInterruptTaken;
                if (trap | (_debugTrapBits != 0))
                {
                    // Intel SDM Vol. 3B, 17.3.1.4 and 17.3.1.2: single-step and data/I-O breakpoint traps after the
                    // instruction, return address = next instruction.
                    DeliverDebugTrap(trap);
                }

                // Host watches (Cpu.HostWatches.cs) report after the instruction and after the guest's own trap was
                // delivered, so stopping here leaves nothing guest-visible pending.
                if (hostWatch && ReportHostWatchHits())
                {
                    return StopReason.Watchpoint;
                }
            }
        }
    }

    /// <summary>Drops every cached decoded block and TLB entry (for example after the host rewrote guest code behind the map's back).</summary>
    public void FlushDecodeCache()
    {
        InvalidateAllBlocks();
        _mmu.Flush();
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void RaiseFault(int vector)
    {
        if (!_faulted)
        {
            _faulted = true;
            _faultVector = vector;
            _faultErrorCode = 0;
        }

        _exitBlock = true;
    }

}

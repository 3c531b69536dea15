using System.Runtime.CompilerServices;
using Virt.Cpu.Decoding;
using Virt.Memory;

namespace Virt.Cpu;

/// <summary>
/// An x86 CPU core (real mode today; protected mode, paging and long mode slot into the same state and access paths).
/// </summary>
/// <remarks>
/// <para>
/// Execution model: instructions are decoded once with Iced into blocks of <see cref="DecodedInstruction"/> (the
/// executor's compact form) cached by A20-applied physical address and decoding mode; a switch dispatches each one.
/// Flags are computed lazily from the last arithmetic operation. Memory is reached through one linear-address
/// translation point and a software TLB of host page pointers. Guest faults are CPU state, never .NET exceptions.
/// </para>
/// <para>Not thread-safe: a CPU belongs to one machine, which runs on one thread. <see cref="RequestStop"/> may be called from any thread.</para>
/// </remarks>
public sealed partial class Cpu : IPhysicalMemoryObserver
{
    private const uint ResetEip = 0xFFF0;
    private const int VectorDivideError = 0;
    private const int VectorDebug = 1;
    private const int VectorNmi = 2;
    private const int VectorBreakpoint = 3;
    private const int VectorOverflow = 4;
    private const int VectorBound = 5;
    private const int VectorInvalidOpcode = 6;
    private const int VectorDeviceNotAvailable = 7;
    private const int VectorDoubleFault = 8;
    private const int VectorStackFault = 12;
    private const int VectorGeneralProtection = 13;

    private const int Es = 0;
    private const int Cs = 1;
    private const int Ss = 2;
    private const int Ds = 3;

    private const int RegAx = 0;
    private const int RegCx = 1;
    private const int RegDx = 2;
    private const int RegBx = 3;
    private const int RegSp = 4;
    private const int RegBp = 5;
    private const int RegSi = 6;
    private const int RegDi = 7;

    private readonly PhysicalMemoryMap _memory;
    private readonly IPortAccessClock? _portAccessClock;
    private readonly IFpuErrorOutput? _fpuError;
    private IoPortSpace _ports;
    private readonly CpuOptions _options;
    private CpuContext _ctx = new();
    private readonly Mmu _mmu;
    private readonly DecodeCache _decodeCache;
    private readonly BlockDecoder _decoder;
    private readonly Interpreter _interpreter;

    private long _retired;
    private long _extraRetired;
    private long _budgetLeft;
    private bool _halted;
    private bool _shutdown;
    private volatile bool _stopRequested;
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
        _mmu = new Mmu(this, _memory);
        _decodeCache = new DecodeCache(_memory, _options.DecodeCacheBudgetInBytes);
        _tlbReadTag = _mmu.ReadTag;
        _tlbReadHost = _mmu.ReadHost;
        _tlbWriteTag = _mmu.WriteTag;
        _tlbWriteHost = _mmu.WriteHost;
        _options.Cpuid.Validate();

        InterruptController = bus.InterruptController;
        TimeSource = bus.TimeSource;
        _decoder = new BlockDecoder(this, _mmu, _memory);
        _interpreter = new Interpreter(this);
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
    public long RetiredInstructions => _retired;

    /// <summary>The vector of the last exception (fault or trap raised by the CPU itself) delivered, or -1; for tests and diagnostics.</summary>
    internal int LastExceptionVector { get; set; } = -1;

    /// <summary>Whether the CPU is halted (HLT) waiting for an interrupt.</summary>
    public bool IsHalted => _halted;

    /// <summary>Whether the CPU is shut down after a triple fault.</summary>
    public bool IsShutdown => _shutdown;

    /// <summary>The instruction pointer (EIP; IP is its low 16 bits).</summary>
    public uint Eip
    {
        get => _ctx.Eip;
        set => _ctx.Eip = value;
    }

    /// <summary>
    /// EFLAGS (reading derives the lazily computed status flags; bit 1 always reads as set). In protected mode, setting or
    /// clearing VM moves the CPU into or out of virtual-8086 mode: CPL becomes 3, or CS.RPL again.
    /// </summary>
    public uint Flags
    {
        get => GetFlags();
        set
        {
            SetFlagsRaw(value);
            if (IsProtectedMode)
            {
                _ctx.Cpl = (value & EflagsBits.Vm) != 0 ? 3 : _ctx.SegSelector[Cs] & 3;
            }
        }
    }

    /// <summary>CR0.</summary>
    public ulong Cr0
    {
        get => _ctx.Cr0;
        set
        {
            _ctx.Cr0 = value;
            _mmu.ReloadPdptesForHost();
            RefreshAllAccessBounds();
            _mmu.Flush();
        }
    }

    /// <summary>CR2 (page-fault linear address).</summary>
    public ulong Cr2
    {
        get => _ctx.Cr2;
        set => _ctx.Cr2 = value;
    }

    /// <summary>CR3 (page-directory base).</summary>
    public ulong Cr3
    {
        get => _ctx.Cr3;
        set
        {
            _ctx.Cr3 = value;
            _mmu.ReloadPdptesForHost();
            _mmu.Flush();
        }
    }

    /// <summary>CR4.</summary>
    public ulong Cr4
    {
        get => _ctx.Cr4;
        set
        {
            _ctx.Cr4 = value;
            _mmu.ReloadPdptesForHost();
            RecomputeBreakpoints();
        }
    }

    /// <summary>The current privilege level (always 0 in real mode).</summary>
    public int Cpl => _ctx.Cpl;

    /// <summary>Whether CR0.PE is set (protected mode).</summary>
    public bool IsProtectedMode => (_ctx.Cr0 & Cr0Bits.Pe) != 0;

    /// <summary>Reads a general-purpose register, all 64 bits.</summary>
    /// <param name="register">The register.</param>
    /// <returns>Its value.</returns>
    public ulong GetRegister(GeneralRegister register) => _ctx.Gpr[(int)register];

    /// <summary>Writes a general-purpose register, all 64 bits.</summary>
    /// <param name="register">The register.</param>
    /// <param name="value">The value.</param>
    public void SetRegister(GeneralRegister register, ulong value) => _ctx.Gpr[(int)register] = value;

    /// <summary>Reads a segment register with its hidden descriptor cache.</summary>
    /// <param name="segment">The segment register.</param>
    /// <returns>Its state.</returns>
    public SegmentState GetSegment(SegmentRegister segment)
    {
        int s = (int)segment;
        return new SegmentState(_ctx.SegSelector[s], _ctx.SegBase[s], _ctx.SegLimit[s], _ctx.SegAttributes[s]);
    }

    /// <summary>Writes a segment register including its hidden descriptor cache.</summary>
    /// <param name="segment">The segment register.</param>
    /// <param name="state">The new state.</param>
    public void SetSegment(SegmentRegister segment, SegmentState state)
    {
        int s = (int)segment;
        _ctx.SegSelector[s] = state.Selector;
        _ctx.SegBase[s] = state.Base;
        _ctx.SegLimit[s] = state.Limit;
        _ctx.SegAttributes[s] = state.Attributes;
        RefreshAccessBounds(s);
        if (segment == SegmentRegister.Cs)
        {
            _ctx.Cpl = IsProtectedMode ? ((_ctx.Eflags & EflagsBits.Vm) != 0 ? 3 : state.Selector & 3) : 0;
        }

        UpdateModeBits();
    }

    /// <summary>Loads a segment register as a real-mode MOV would: selector and base = selector * 16; limit and attributes kept.</summary>
    /// <param name="segment">The segment register.</param>
    /// <param name="selector">The selector.</param>
    public void LoadSegmentRealMode(SegmentRegister segment, ushort selector) => LoadSegmentReal((int)segment, selector);

    /// <summary>Puts the CPU into the architectural power-on/reset state (Intel SDM Vol. 3A, 10.1.1, Table 10-1).</summary>
    public void Reset()
    {
        Array.Clear(_ctx.Gpr);
        _ctx.Gpr[RegDx] = CpuidSignature;
        for (int s = 0; s < 6; s++)
        {
            _ctx.SegSelector[s] = 0;
            _ctx.SegBase[s] = 0;
            _ctx.SegLimit[s] = 0xFFFF;
            _ctx.SegAttributes[s] = 0x93;
        }

        _ctx.SegSelector[Cs] = 0xF000;
        _ctx.SegBase[Cs] = 0xFFFF0000;
        _ctx.SegAttributes[Cs] = 0x9B;
        _ctx.Eip = ResetEip;
        _ctx.InstructionStart = ResetEip;
        _ctx.LazyOp = LazyOp.None;
        _ctx.Eflags = EflagsBits.Reserved1;
        _ctx.Cr0 = Cr0Bits.ResetValue;
        _ctx.Cr2 = 0;
        _ctx.Cr3 = 0;
        _ctx.Cr4 = 0;
        _ctx.GdtBase = 0;
        _ctx.GdtLimit = 0xFFFF;
        _ctx.IdtBase = 0;
        _ctx.IdtLimit = 0xFFFF;
        _ctx.LdtSelector = 0;
        _ctx.LdtBase = 0;
        _ctx.LdtLimit = 0xFFFF;
        _ctx.TrSelector = 0;
        _ctx.TrBase = 0;
        _ctx.TrLimit = 0xFFFF;
        _ctx.TrAttributes = 0x8B;
        _ctx.Cpl = 0;
        _tscOffset = 0;
        _sysenterCs = 0;
        _sysenterEsp = 0;
        _sysenterEip = 0;
        _ctx.Efer = 0;
        Array.Clear(_ctx.Pdpte);
        X87Reset();
        ResetDebugRegisters();
        RefreshAllAccessBounds();
        _retired = 0;
        _retiredEpoch++;
        LastExceptionVector = -1;
        _halted = false;
        _shutdown = false;
        _nmiPending = false;
        _nmiBlocked = false;
        _inhibitInterrupts = false;
        _inhibitDebugTrap = false;
        _faulted = false;
        _exitBlock = false;
        ClearExceptionChain();
        UpdateModeBits();
        _mmu.Flush();
    }

    /// <summary>Captures the architectural state (for snapshots and determinism checks).</summary>
    /// <returns>The state record.</returns>
    public CpuState SaveState()
    {
        var segments = new SegmentState[6];
        for (int s = 0; s < 6; s++)
        {
            segments[s] = GetSegment((SegmentRegister)s);
        }

        return new CpuState(
            CpuState.CurrentVersion, [.. _ctx.Gpr], segments, _ctx.Eip, GetFlags(), _ctx.Cr0, _ctx.Cr2, _ctx.Cr3, _ctx.Cr4, _ctx.GdtBase, _ctx.GdtLimit,
            _ctx.IdtBase, _ctx.IdtLimit, _halted, _shutdown, _nmiPending, _nmiBlocked, _inhibitInterrupts, _inhibitDebugTrap, _retired)
        {
            X87Image = X87SaveImage(),
            Ldtr = Ldtr,
            TaskRegister = TaskRegister,
            Cpl = _ctx.Cpl,
            TscOffset = _tscOffset,
            Efer = _ctx.Efer,
            Pdptes = [.. _ctx.Pdpte],
            SysenterCs = _sysenterCs,
            SysenterEsp = _sysenterEsp,
            SysenterEip = _sysenterEip,
            DebugAddresses = [.. _debugAddress],
            Dr6 = _dr6,
            Dr7 = _dr7,
            PendingDebugTraps = _debugTrapBits,
        };
    }

    /// <summary>Restores a state captured by <see cref="SaveState"/>, flushing the decode cache and TLB.</summary>
    /// <param name="state">The state.</param>
    /// <exception cref="ArgumentException">
    /// When the version is unknown, a list is missing or has the wrong length, or a field cannot come from a real CPU; the
    /// whole record is checked before anything is changed, so the CPU is then exactly as before.
    /// </exception>
    public void RestoreState(CpuState state)
    {
        ValidateState(state);
        for (int r = 0; r < _ctx.Gpr.Length; r++)
        {
            _ctx.Gpr[r] = state.GeneralRegisters[r];
        }

        for (int s = 0; s < 6; s++)
        {
            SegmentState segment = state.Segments[s];
            _ctx.SegSelector[s] = segment.Selector;
            _ctx.SegBase[s] = segment.Base;
            _ctx.SegLimit[s] = segment.Limit;
            _ctx.SegAttributes[s] = segment.Attributes;
        }

        RefreshAllAccessBounds();

        _ctx.Eip = state.Eip;
        SetFlagsRaw(state.Eflags);
        _ctx.Cr0 = state.Cr0;
        _ctx.Cr2 = state.Cr2;
        _ctx.Cr3 = state.Cr3;
        _ctx.Cr4 = state.Cr4;
        if (state.Pdptes is { } pdptes)
        {
            for (int i = 0; i < 4; i++)
            {
                _ctx.Pdpte[i] = pdptes[i];
            }
        }
        else
        {
            _mmu.ReloadPdptesForHost();
        }

        _ctx.GdtBase = state.GdtBase;
        _ctx.GdtLimit = state.GdtLimit;
        _ctx.IdtBase = state.IdtBase;
        _ctx.IdtLimit = state.IdtLimit;
        _ctx.Cpl = state.Cpl;
        RestoreSystemState(state);
        _halted = state.Halted;
        _shutdown = state.Shutdown;
        _nmiPending = state.NmiPending;
        _nmiBlocked = state.NmiBlocked;
        _inhibitInterrupts = state.InterruptShadow;
        _inhibitDebugTrap = state.DebugTrapShadow;
        _retired = state.RetiredInstructions;
        _retiredEpoch++;
        X87RestoreImage(state.X87Image);
        _faulted = false;
        ClearExceptionChain();
        UpdateModeBits();
        FlushDecodeCache();
    }

    /// <summary>Asks <see cref="Run"/> to return <see cref="StopReason.StopRequested"/> at the next instruction boundary. Safe from callbacks and other threads.</summary>
    public void RequestStop() => _stopRequested = true;

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
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public StopReason Run(long maxInstructions)
    {
        ref CpuContext ctx = ref _ctx;
        long remaining = maxInstructions;
        while (true)
        {
            if (_shutdown)
            {
                return StopReason.Shutdown;
            }

            if (_stopRequested)
            {
                _stopRequested = false;
                return StopReason.StopRequested;
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
            if ((ulong)ctx.Eip + block.ByteLength > Math.Min((ulong)ctx.SegLimit[Cs] + 1, ctx.Code32 ? ulong.MaxValue : 0x10000UL))
            {
                // The block runs past CS.limit or past offset FFFFh of 16-bit code: run only the instructions that lie within
                // both, or the #GP(0) pseudo-instruction, or a fresh decode of an instruction that wraps (see Cpu.CodeLimit.cs).
                (block, count) = FitBlockToCodeSegment(block, count);
            }

            if (count > remaining)
            {
                count = (int)remaining;
            }

            // A REP string instruction always sits alone at the start of its block (see DecodeInto), so the budget it may
            // spend on iterations is exactly what remains.
            _budgetLeft = remaining;
            _extraRetired = 0;
            _exitBlock = false;
            // The block's entry slot: a compiled tier's engine when it took the block over, else the interpreter, whose loop
            // is inlined here (InterpretBlock is what Interpreter.Execute runs; a call per block would cost about 10% of
            // the ALU loop's speed).
            block.HitCount++;
            IExecutionEngine? compiled = block.CompiledEntry;
            int executed = compiled is null ? InterpretBlock(block, count) : compiled.Execute(block, count);
            if (_exitBlock)
            {
                _exitBlock = false;
                if (_faulted)
                {
                    _faulted = false;
                    ctx.Eip = ctx.InstructionStart;
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

    /// <summary>Takes a pending NMI or maskable interrupt if allowed.</summary>
    /// <returns>False when the CPU stays halted.</returns>
    private bool CheckInterrupts()
    {
        if (_nmiPending && !_nmiBlocked)
        {
            _nmiPending = false;
            _nmiBlocked = true;
            _halted = false;
            DeliverInterrupt(VectorNmi, isException: false);
            return true;
        }

        IInterruptController? pic = InterruptController;
        if ((_ctx.Eflags & EflagsBits.If) != 0 && pic is not null && pic.IsInterruptPending)
        {
            byte vector = pic.Acknowledge();
            if (HardwareInterruptHook is { } hook && !hook(vector))
            {
                // Dropped by the host: a halted CPU stays halted, a running one goes on.
                return !_halted;
            }

            _halted = false;
            DeliverInterrupt(vector, isException: false);
            return true;
        }

        return !_halted;
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

    private void UpdateModeBits()
    {
        _ctx.Code32 = (_ctx.SegAttributes[Cs] & SegmentState.DefaultBigBit) != 0;
        _ctx.Stack32 = (_ctx.SegAttributes[Ss] & SegmentState.DefaultBigBit) != 0;
    }

    private void LoadSegmentReal(int segment, ushort selector)
    {
        _ctx.SegSelector[segment] = selector;
        _ctx.SegBase[segment] = (ulong)selector << 4;
    }
}

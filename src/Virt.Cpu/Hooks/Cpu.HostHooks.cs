using System.Runtime.CompilerServices;
using Virt.Cpu.Decoding;

namespace Virt.Cpu;

/// <summary>
/// The run loop's host hooks: a hook at the entry of every block (coverage), a hook after a given number of retired
/// instructions, and a hook on exceptions and software interrupts before their delivery.
/// </summary>
/// <remarks>
/// <para>
/// Cost when none is set: nothing per block. <see cref="Run"/> enters a run loop without hook code unless a block or count
/// hook is set, and setting or removing one during a run is seen by the block-entry test the loop already makes for
/// <see cref="RequestStop"/> (see Cpu.HookedRunLoop.cs and docs/machine.md, "Costs"); <see cref="DeliverEvent"/> tests <see cref="ExceptionHook"/> for null per delivered event. While a block or count
/// hook is set, each block runs through <see cref="RunBlockWithHostHooks"/>, which calls the block hook once and executes
/// the block in pieces that end at the count hook's deadline.
/// </para>
/// <para>
/// Determinism: a count deadline that falls inside a block does not end the block: the hook runs between two
/// instructions and the block continues (without looking for interrupts) unless the hook changed RIP, CS, the retired
/// count's epoch (<see cref="RestoreState"/>), wrote the block's code or asked to stop. So hooks that change nothing
/// leave the instruction boundaries at which interrupts are taken, and so the whole run, as they were.
/// </para>
/// <para>
/// Set these properties on the thread that runs the CPU (between runs, or from a hook or device callback during one);
/// a change takes effect at the next block entry. A host on another thread asks that thread to stop first
/// (<see cref="RequestStopAfterInstruction"/>), as Virt.Machine's <c>MachineHooks</c> does.
/// </para>
/// </remarks>
public sealed partial class Cpu
{
    private BlockHook? _blockHook;
    private InstructionCountHook? _instructionCountHook;
    private long _instructionCountDeadline = long.MaxValue;

    /// <summary>Whether the run loop goes through <see cref="RunBlockWithHostHooks"/>: a block or count hook is set.</summary>
    private bool _hostHooksArmed;

    /// <summary>Instructions a count hook's call sees as retired that the run loop has not added to <see cref="_retired"/> yet.</summary>
    private long _retiredInFlight;

    // The faulting instruction's end and RF before the fault, for an exception hook's Skip and suppression (set only on
    // the run loop's fault path, which then delivers the fault at once).
    private bool _faultFromRunLoop;
    private ulong _faultNextRip;
    private uint _faultRfBefore;

    /// <summary>
    /// Called at the entry of every block the run loop executes, before its first instruction (null: none). While the CPU
    /// runs one instruction at a time (single-step, breakpoints, memory watches) every instruction is a block entry, and
    /// an instruction budget that ends inside a block makes what follows a new entry. The hook may change state: when it
    /// changes RIP or CS, or asks to stop, the block is not executed and the run loop starts again from the new state.
    /// </summary>
    public BlockHook? BlockHook
    {
        get => _blockHook;
        set
        {
            _blockHook = value;
            UpdateHostHooksArmed();
        }
    }

    /// <summary>
    /// Called when <see cref="RetiredInstructions"/> reaches <see cref="InstructionCountDeadline"/> (null: none), exactly:
    /// after that many instructions retired and before the next one (each REP iteration counts as one). When the
    /// deadline falls on a block boundary, an interrupt or fault due there is delivered first. The hook sets the next
    /// deadline; when it leaves it at or below the retired count, the deadline becomes <see cref="long.MaxValue"/>.
    /// </summary>
    public InstructionCountHook? InstructionCountHook
    {
        get => _instructionCountHook;
        set
        {
            _instructionCountHook = value;
            UpdateHostHooksArmed();
        }
    }

    /// <summary>The <see cref="RetiredInstructions"/> value at which <see cref="InstructionCountHook"/> is called (<see cref="long.MaxValue"/>: never).</summary>
    public long InstructionCountDeadline
    {
        get => _instructionCountDeadline;
        set => _instructionCountDeadline = value;
    }

    /// <summary>
    /// Called before an exception the CPU raised (fault, trap or abort: #DE, #DB, #UD, #GP, #PF, #DF, ...) or a software
    /// interrupt (INT n, INT3, INTO) is delivered (null: none); it may redirect or suppress it (see
    /// <see cref="CpuExceptionEvent"/>). Not called for hardware interrupts, NMI, nor for the faults raised while an event
    /// is being delivered (those become the second event or #DF as the architecture says).
    /// </summary>
    public CpuExceptionHook? ExceptionHook { get; set; }

    /// <summary>
    /// Asks <see cref="Run"/> to return <see cref="StopReason.StopRequested"/> after the instruction executing now rather
    /// than at the end of its block. Safe from any thread; an instruction that is interrupted between REP iterations
    /// resumes from where it stopped.
    /// </summary>
    public void RequestStopAfterInstruction()
    {
        _runLoopExits.StopRequested = true;

        // A benign race: the run loop may clear this at a block entry, and then sees _runLoopExits.StopRequested there.
        _exitBlock = true;
    }

    /// <summary>
    /// The run loop's fault path: remembers where the faulting instruction ends (for <see cref="CpuExceptionEvent.Skip"/>)
    /// and RF before <see cref="PrepareFaultDelivery"/> sets it, for an exception hook that suppresses the fault.
    /// </summary>
    private void RememberFaultingInstruction(DecodedBlock block)
    {
        _faultFromRunLoop = true;
        _faultNextRip = ReferenceEquals(block, _fetchFaultBlock) ? _ctx.InstructionStart : _ctx.Rip;
        _faultRfBefore = _ctx.Eflags & EflagsBits.Rf;
    }

    /// <summary>
    /// Runs <see cref="ExceptionHook"/> for an event about to be delivered by <see cref="DeliverEvent"/>.
    /// </summary>
    /// <returns>False when the hook suppressed the event (the CPU then continues at the RIP it chose).</returns>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private bool RunExceptionHook(CpuExceptionHook hook, ref int vector, ref bool isException, ref bool software)
    {
        bool fromRunLoop = _faultFromRunLoop;
        _faultFromRunLoop = false;
        var exception = new CpuExceptionEvent
        {
            Vector = vector,
            ErrorCode = isException && HasErrorCode(vector) && IsProtectedMode ? _faultErrorCode : -1,
            Source = software ? CpuEventSource.Software : CpuEventSource.Exception,
            Cr2 = _ctx.Cr2,
            Rip = _ctx.Rip,
            NextRip = fromRunLoop ? _faultNextRip : _ctx.Rip,
            ResumeRip = _ctx.Rip,
        };
        hook(ref exception);
        if (exception.Suppressed)
        {
            _ctx.Rip = exception.ResumeRip & _ctx.IpMask;
            if (fromRunLoop)
            {
                _ctx.Eflags = (_ctx.Eflags & ~EflagsBits.Rf) | _faultRfBefore;
            }

            _faulted = false;
            _faultErrorCode = 0;
            _softwareInterruptTaken = false;
            _exitBlock = true;
            return false;
        }

        if (exception.Vector != vector || (isException && exception.ErrorCode != (HasErrorCode(vector) && IsProtectedMode ? _faultErrorCode : -1)))
        {
            if ((uint)exception.Vector > byte.MaxValue)
            {
                throw new InvalidOperationException($"An exception hook redirected vector {vector} to {exception.Vector}; vectors are 0-255.");
            }

            vector = exception.Vector;
            isException = true;
            software = false;
            _faultErrorCode = exception.ErrorCode < 0 ? 0 : exception.ErrorCode;
        }

        return true;
    }

    /// <summary>
    /// The run loop's block execution while a block or count hook is set: calls the block hook, then executes the block
    /// (<paramref name="count"/> instructions at most, <paramref name="remaining"/> the run's budget) in pieces that end at
    /// the count hook's deadline, calling that hook between them.
    /// </summary>
    /// <returns>The instructions executed (as <see cref="InterpretBlock"/> returns them); -1 when a hook changed where
    /// execution goes or asked to stop before the block ran (the run loop then starts its iteration again).</returns>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private int RunBlockWithHostHooks(DecodedBlock block, int count, long remaining)
    {
        _budgetLeft = remaining;
        _extraRetired = 0;
        _exitBlock = false;
        ulong rip = _ctx.Rip;
        ushort cs = _ctx.SegSelector[Cs];
        long epoch = _retiredEpoch;
        if (_blockHook is { } blockHook)
        {
            blockHook(CodeLinear, (int)block.ByteLength, block.Count);
            if (_ctx.Rip != rip || _ctx.SegSelector[Cs] != cs || _retiredEpoch != epoch || _runLoopExits.StopRequested || !_hostHooksArmed)
            {
                _exitBlock = false;
                return -1;
            }
        }

        if (_instructionCountHook is not null && _retired >= _instructionCountDeadline)
        {
            // The previous block ended exactly at the deadline (or a fault or interrupt was delivered there): call it now.
            CallInstructionCountHook(inFlight: 0);
            if (_ctx.Rip != rip || _ctx.SegSelector[Cs] != cs || _retiredEpoch != epoch || _runLoopExits.StopRequested || !block.Valid || !_hostHooksArmed)
            {
                _exitBlock = false;
                return -1;
            }
        }

        block.HitCount++;
        int executed = 0;
        while (true)
        {
            int piece = count - executed;
            long untilDeadline = _instructionCountHook is null ? long.MaxValue : _instructionCountDeadline - (_retired + executed + _extraRetired);
            if (untilDeadline < piece)
            {
                piece = (int)untilDeadline;
            }

            _budgetLeft = Math.Min(remaining - executed - _extraRetired, untilDeadline);
            executed += InterpretBlockFrom(block, executed, piece);
            if (_exitBlock || executed >= count)
            {
                return executed;
            }

            // The deadline fell inside the block: the hook runs between two of its instructions.
            rip = _ctx.Rip;
            CallInstructionCountHook(inFlight: executed + _extraRetired);
            if (_retiredEpoch != epoch)
            {
                // The hook restored a CPU state: what ran before belongs to the old timeline.
                _extraRetired = 0;
                _exitBlock = true;
                return 0;
            }

            if (_ctx.Rip != rip || _ctx.SegSelector[Cs] != cs || _runLoopExits.StopRequested || !block.Valid || !_hostHooksArmed)
            {
                _exitBlock = true;
                return executed;
            }
        }
    }

    /// <summary>Calls the count hook with <paramref name="inFlight"/> instructions of the current block counted as retired.</summary>
    private void CallInstructionCountHook(long inFlight)
    {
        InstructionCountHook? hook = _instructionCountHook;
        if (hook is null)
        {
            return;
        }

        _retiredInFlight = inFlight;
        try
        {
            hook();
        }
        finally
        {
            _retiredInFlight = 0;
        }

        if (_instructionCountDeadline <= _retired + inFlight)
        {
            _instructionCountDeadline = long.MaxValue;
        }
    }

    /// <summary>
    /// <see cref="InterpretBlock"/> from instruction <paramref name="start"/> of the block, for at most
    /// <paramref name="count"/> instructions (the same loop; kept apart so the run loop's inlined copy stays as it is).
    /// </summary>
    private int InterpretBlockFrom(DecodedBlock block, int start, int count)
    {
        ref CpuContext ctx = ref _ctx;
        DecodedInstruction[] instructions = block.Instructions;
        ulong ipMask = ctx.IpMask;
        int executed = 0;
        while (executed < count)
        {
            ref DecodedInstruction d = ref instructions[start + executed];
            ctx.InstructionStart = ctx.Rip;
            ctx.Rip = (ctx.Rip + d.Length) & ipMask;
            Execute(ref d);
            executed++;
            if (_exitBlock)
            {
                break;
            }
        }

        return executed;
    }
}

using Virt.Cpu;
using X86Cpu = Virt.Cpu.Cpu;

namespace Virt.Machine;

/// <summary>Hooks on the run loop itself: block entries (coverage), instruction counts, exceptions and triple faults.</summary>
public sealed partial class MachineHooks
{
    private BlockHookEntry[] _blockHooks = [];
    private BlockHookContext? _blockContext;
    private CountHookEntry[] _countHooks = [];
    private InstructionCountHookContext? _countContext;
    private CpuExceptionHook[] _exceptionHooks = [];
    private TripleFaultHook[] _tripleFaultHooks = [];

    /// <summary>
    /// Adds a hook called at the entry of every block the CPU executes (see <see cref="AddBlockHook(ulong, ulong, Action{BlockHookContext})"/>).
    /// </summary>
    /// <param name="hook">The hook.</param>
    /// <returns>The registration: dispose it to remove the hook.</returns>
    public IDisposable AddBlockHook(Action<BlockHookContext> hook) => AddBlockHook(0, ulong.MaxValue, hook);

    /// <summary>
    /// Adds a hook called at the entry of every block the CPU executes whose first instruction's linear address lies in
    /// <paramref name="firstLinear"/>..<paramref name="lastLinear"/>, before that instruction, with the block's address and
    /// its decoded length in bytes and instructions: the coverage hook of a fuzzer. A block is what the CPU decodes and
    /// enters at once: a straight run of instructions up to a branch, an instruction that ends blocks (a mode or paging
    /// change, a port access) or 64 instructions. While the CPU runs one instruction at a time (single-step, debug
    /// registers, code hooks, memory watches) each instruction is a block, and an instruction budget (a time slice of the
    /// machine's run loop) that ends inside a block makes the rest a new one. No allocation per call.
    /// </summary>
    /// <param name="firstLinear">The first linear address of the range.</param>
    /// <param name="lastLinear">The last linear address of the range (inclusive).</param>
    /// <param name="hook">The hook; it may change registers and memory (changing RIP or CS skips the block: execution
    /// continues where it points) or end the run before the block (<see cref="BlockHookContext.Stop"/>).</param>
    /// <returns>The registration: dispose it to remove the hook.</returns>
    public IDisposable AddBlockHook(ulong firstLinear, ulong lastLinear, Action<BlockHookContext> hook)
    {
        ArgumentNullException.ThrowIfNull(hook);
        if (lastLinear < firstLinear)
        {
            throw new ArgumentOutOfRangeException(nameof(lastLinear), lastLinear, $"lastLinear must not be below firstLinear ({firstLinear:X}h).");
        }

        var entry = new BlockHookEntry(firstLinear, lastLinear, hook);
        Apply(() =>
        {
            _blockHooks = [.. _blockHooks, entry];
            UpdateRunLoopHooks();
        });
        return new Registration(this, () =>
        {
            _blockHooks = Without(_blockHooks, entry);
            UpdateRunLoopHooks();
        });
    }

    /// <summary>
    /// Adds a hook called after <paramref name="instructions"/> more instructions retired (counted by
    /// <see cref="Virt.Cpu.Cpu.RetiredInstructions"/> from when the addition took effect; each REP iteration counts as one),
    /// between that instruction and the next, exactly, in every clock mode: once, or every <paramref name="instructions"/>
    /// instructions when <paramref name="periodic"/>. Hooks due at the same count run in the order added.
    /// </summary>
    /// <param name="instructions">How many instructions (at least 1).</param>
    /// <param name="hook">The hook; it may change registers and memory, end the run before the next instruction
    /// (<see cref="InstructionCountHookContext.Stop"/>), or cancel itself.</param>
    /// <param name="periodic">True to call it again every <paramref name="instructions"/> instructions.</param>
    /// <returns>The registration: dispose it to remove the hook.</returns>
    /// <remarks>
    /// The count is the CPU's: a guest reset or a restored CPU state sets it anew, and a deadline then counts on that new
    /// value. When the count falls on a block boundary at which an interrupt or fault is due, the hook runs after its
    /// delivery (on the handler's first instruction); inside a block it runs between two of its instructions and the
    /// block continues, so hooks that change nothing change nothing in the run.
    /// </remarks>
    public IDisposable AddInstructionCountHook(long instructions, Action<InstructionCountHookContext> hook, bool periodic = false)
    {
        ArgumentNullException.ThrowIfNull(hook);
        ArgumentOutOfRangeException.ThrowIfLessThan(instructions, 1);
        var entry = new CountHookEntry(instructions, periodic, hook);
        Apply(() =>
        {
            long retired = _machine.Cpu.RetiredInstructions;
            entry.Deadline = instructions > long.MaxValue - retired ? long.MaxValue : retired + instructions;
            _countHooks = [.. _countHooks, entry];
            UpdateRunLoopHooks();
        });
        return new Registration(this, () =>
        {
            _countHooks = Without(_countHooks, entry);
            UpdateRunLoopHooks();
        });
    }

    /// <summary>
    /// Adds a hook called before the CPU delivers an exception it raised (a fault, trap or abort) or a software interrupt
    /// (INT n, INT3, INTO), with the vector, error code, CR2 and RIP, on the architectural state at the event (see
    /// <see cref="CpuExceptionEvent"/>): it may observe, redirect to another vector, or suppress (continue at a RIP of
    /// the host's choice, by default re-executing a faulting instruction; <see cref="CpuExceptionEvent.Skip"/> continues
    /// after it). Hardware interrupts have <see cref="AddHardwareInterruptHook"/>; NMI and the faults raised while an
    /// event is being delivered (which become the second event or #DF) are not hooked.
    /// </summary>
    /// <param name="hook">The hook; hooks run in the order added, each seeing the event as the previous one left it,
    /// until one suppresses it.</param>
    /// <returns>The registration: dispose it to remove the hook.</returns>
    public IDisposable AddExceptionHook(CpuExceptionHook hook)
    {
        ArgumentNullException.ThrowIfNull(hook);
        Apply(() =>
        {
            _exceptionHooks = [.. _exceptionHooks, hook];
            UpdateRunLoopHooks();
        });
        return new Registration(this, () =>
        {
            _exceptionHooks = Without(_exceptionHooks, hook);
            UpdateRunLoopHooks();
        });
    }

    /// <summary>
    /// Adds a hook called when the CPU shut down after a triple fault, with the chain of exceptions, before the machine
    /// resets or stops; it decides which (<see cref="TripleFaultAction"/>), starting from what
    /// <see cref="Machine.ResetBehavior"/> says.
    /// </summary>
    /// <param name="hook">The hook; hooks run in the order added, each seeing the previous one's decision.</param>
    /// <returns>The registration: dispose it to remove the hook.</returns>
    public IDisposable AddTripleFaultHook(TripleFaultHook hook)
    {
        ArgumentNullException.ThrowIfNull(hook);
        Apply(() => _tripleFaultHooks = [.. _tripleFaultHooks, hook]);
        return new Registration(this, () => _tripleFaultHooks = Without(_tripleFaultHooks, hook));
    }

    /// <summary>Runs the triple-fault hooks on the thread running the machine.</summary>
    /// <returns>What the machine does.</returns>
    internal TripleFaultAction RunTripleFaultHooks(CpuShutdownReport report, TripleFaultAction proposed)
    {
        foreach (TripleFaultHook hook in _tripleFaultHooks)
        {
            proposed = hook(report, proposed);
            if (!Enum.IsDefined(proposed))
            {
                throw new InvalidOperationException($"A triple-fault hook returned {proposed}, which is no TripleFaultAction.");
            }
        }

        return proposed;
    }

    private void UpdateRunLoopHooks()
    {
        X86Cpu cpu = _machine.Cpu;
        cpu.BlockHook = _blockHooks.Length == 0 ? null : RunBlockHooks;
        cpu.ExceptionHook = _exceptionHooks.Length == 0 ? null : RunExceptionHooks;
        if (_countHooks.Length == 0)
        {
            cpu.InstructionCountHook = null;
            cpu.InstructionCountDeadline = long.MaxValue;
            return;
        }

        cpu.InstructionCountHook = RunCountHooks;
        cpu.InstructionCountDeadline = NextCountDeadline();
    }

    private long NextCountDeadline()
    {
        long next = long.MaxValue;
        foreach (CountHookEntry entry in _countHooks)
        {
            next = Math.Min(next, entry.Deadline);
        }

        return next;
    }

    private void RunBlockHooks(ulong linearAddress, int lengthInBytes, int instructionCount)
    {
        BlockHookContext context = _blockContext ??= new BlockHookContext(_machine);
        context.LinearAddress = linearAddress;
        context.LengthInBytes = lengthInBytes;
        context.InstructionCount = instructionCount;
        context.StopRequested = false;
        foreach (BlockHookEntry entry in _blockHooks)
        {
            if (linearAddress >= entry.FirstLinear && linearAddress <= entry.LastLinear)
            {
                entry.Hook(context);
            }
        }

        if (context.StopRequested)
        {
            _machine.StopFromHook($"a block hook at linear {linearAddress:X} asked to stop");
        }
    }

    private void RunCountHooks()
    {
        X86Cpu cpu = _machine.Cpu;
        InstructionCountHookContext context = _countContext ??= new InstructionCountHookContext(_machine);
        long retired = cpu.RetiredInstructions;
        bool stop = false;
        foreach (CountHookEntry entry in _countHooks)
        {
            // An entry removed by an earlier hook of this round is no longer in _countHooks but still in this array.
            if (entry.Deadline > retired || Array.IndexOf(_countHooks, entry) < 0)
            {
                continue;
            }

            context.RetiredInstructions = retired;
            context.StopRequested = false;
            context.CancelRequested = false;
            entry.Hook(context);
            stop |= context.StopRequested;
            if (entry.Periodic && !context.CancelRequested)
            {
                entry.Deadline = entry.Period > long.MaxValue - retired ? long.MaxValue : retired + entry.Period;
            }
            else
            {
                _countHooks = Without(_countHooks, entry);
            }
        }

        UpdateRunLoopHooks();
        if (stop)
        {
            _machine.StopFromHook($"an instruction-count hook at {retired} retired instructions asked to stop");
        }
    }

    private void RunExceptionHooks(ref CpuExceptionEvent exception)
    {
        foreach (CpuExceptionHook hook in _exceptionHooks)
        {
            hook(ref exception);
            if (exception.Suppressed)
            {
                return;
            }
        }
    }

    /// <summary>A block hook and its linear range (a class: removal is by identity).</summary>
    private sealed class BlockHookEntry(ulong firstLinear, ulong lastLinear, Action<BlockHookContext> hook)
    {
        public ulong FirstLinear { get; } = firstLinear;

        public ulong LastLinear { get; } = lastLinear;

        public Action<BlockHookContext> Hook { get; } = hook;
    }

    /// <summary>An instruction-count hook and its next deadline on the CPU's retired count.</summary>
    private sealed class CountHookEntry(long period, bool periodic, Action<InstructionCountHookContext> hook)
    {
        public long Period { get; } = period;

        public bool Periodic { get; } = periodic;

        public Action<InstructionCountHookContext> Hook { get; } = hook;

        public long Deadline { get; set; } = long.MaxValue;
    }
}

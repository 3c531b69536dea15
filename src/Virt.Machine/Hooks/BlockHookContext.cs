using Virt.Memory;
using X86Cpu = Virt.Cpu.Cpu;

namespace Virt.Machine;

/// <summary>
/// What a block hook (<see cref="MachineHooks.AddBlockHook(Action{BlockHookContext})"/>) gets: the block about to run,
/// the CPU (before its first instruction; registers writable), the guest memory, and a way to end the run. One object
/// per machine, reused for every call (no allocation): valid only during the call.
/// </summary>
public sealed class BlockHookContext
{
    private readonly Machine _machine;

    internal BlockHookContext(Machine machine)
    {
        _machine = machine;
    }

    /// <summary>The machine.</summary>
    public Machine Machine => _machine;

    /// <summary>The CPU, before the block's first instruction.</summary>
    public X86Cpu Cpu => _machine.Cpu;

    /// <summary>The guest physical memory map.</summary>
    public PhysicalMemoryMap Memory => _machine.Memory;

    /// <summary>The linear address of the block's first instruction (CS.base + RIP; RIP in 64-bit mode).</summary>
    public ulong LinearAddress { get; internal set; }

    /// <summary>RIP of the block's first instruction (the offset in the code segment).</summary>
    public ulong Rip => _machine.Cpu.Rip;

    /// <summary>The decoded block's length in bytes.</summary>
    public int LengthInBytes { get; internal set; }

    /// <summary>The decoded block's instruction count (fewer run when a fault, an exit or the budget ends it early).</summary>
    public int InstructionCount { get; internal set; }

    /// <summary>Whether a hook asked to stop (<see cref="Stop"/>).</summary>
    public bool StopRequested { get; internal set; }

    /// <summary>
    /// Ends the run before the block executes: <see cref="Machine.Run"/> returns <see cref="MachineStopKind.Paused"/>, and
    /// the next run enters the block again (calling the block hooks again).
    /// </summary>
    public void Stop() => StopRequested = true;
}

using Virt.Memory;
using X86Cpu = Virt.Cpu.Cpu;

namespace Virt.Machine;

/// <summary>
/// What a memory watch (<see cref="MachineHooks.AddMemoryWatch"/>) gets: the access, the CPU (after the instruction that made
/// it; registers writable), the guest memory, and a way to end the run. Valid only during the call.
/// </summary>
public sealed class MemoryWatchContext
{
    private readonly Machine _machine;

    internal MemoryWatchContext(Machine machine)
    {
        _machine = machine;
    }

    /// <summary>The machine.</summary>
    public Machine Machine => _machine;

    /// <summary>The CPU, stopped after the instruction that made the access (EIP is the next instruction's).</summary>
    public X86Cpu Cpu => _machine.Cpu;

    /// <summary>The guest physical memory map.</summary>
    public PhysicalMemoryMap Memory => _machine.Memory;

    /// <summary>The linear address of the access's first byte (it may start before the watched range).</summary>
    public ulong LinearAddress { get; internal set; }

    /// <summary>The access's width in bytes (1, 2, 4 or 8).</summary>
    public int Size { get; internal set; }

    /// <summary>True for a write, false for a read.</summary>
    public bool IsWrite { get; internal set; }

    /// <summary>The value written or read, <see cref="Size"/> bytes, little-endian.</summary>
    public ulong Value { get; internal set; }

    /// <summary>Whether a hook asked to stop (<see cref="Stop"/>).</summary>
    public bool StopRequested { get; internal set; }

    /// <summary>
    /// Ends the run after this instruction's watches ran: <see cref="Machine.Run"/> returns <see cref="MachineStopKind.Paused"/>.
    /// The instruction has completed; the next run continues with the one after it.
    /// </summary>
    public void Stop() => StopRequested = true;
}

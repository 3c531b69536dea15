using Virt.Memory;
using X86Cpu = Virt.Cpu.Cpu;

namespace Virt.Machine;

/// <summary>
/// What an instruction-count hook (<see cref="MachineHooks.AddInstructionCountHook"/>) gets: the CPU between two
/// instructions (registers writable), the guest memory, and ways to end the run or the hook. Valid only during the call.
/// </summary>
public sealed class InstructionCountHookContext
{
    private readonly Machine _machine;

    internal InstructionCountHookContext(Machine machine)
    {
        _machine = machine;
    }

    /// <summary>The machine.</summary>
    public Machine Machine => _machine;

    /// <summary>The CPU: the instructions counted have retired, the next one has not started.</summary>
    public X86Cpu Cpu => _machine.Cpu;

    /// <summary>The guest physical memory map.</summary>
    public PhysicalMemoryMap Memory => _machine.Memory;

    /// <summary><see cref="Virt.Cpu.Cpu.RetiredInstructions"/> now: the hook's deadline.</summary>
    public long RetiredInstructions { get; internal set; }

    /// <summary>Whether a hook asked to stop (<see cref="Stop"/>).</summary>
    public bool StopRequested { get; internal set; }

    /// <summary>Whether this hook asked not to be called again (<see cref="Cancel"/>).</summary>
    public bool CancelRequested { get; internal set; }

    /// <summary>Ends the run before the next instruction: <see cref="Machine.Run"/> returns <see cref="MachineStopKind.Paused"/>.</summary>
    public void Stop() => StopRequested = true;

    /// <summary>Removes this hook (a periodic one is not called again; its registration's Dispose then does nothing more).</summary>
    public void Cancel() => CancelRequested = true;
}
